//! What this crate reads of a link, as a plain value, so that the decisions
//! taken on a dump are pure functions that tests can feed.

use netplumb_netns::{LinkInfo, MacAddr, Netlink};

/// One link of a namespace, as far as building and releasing bonds needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkView {
    pub index: u32,
    pub name: String,
    /// `IFLA_INFO_KIND`: `"bond"` for a bond; `None` for hardware NICs.
    pub kind: Option<String>,
    pub controller: Option<u32>,
    pub mac: Option<MacAddr>,
    pub permanent_mac: Option<MacAddr>,
    pub mtu: u32,
    pub up: bool,
}

impl From<LinkInfo> for LinkView {
    fn from(link: LinkInfo) -> LinkView {
        LinkView {
            up: link.is_up(),
            index: link.index,
            name: link.name,
            kind: link.kind,
            controller: link.controller,
            mac: link.mac,
            permanent_mac: link.permanent_mac,
            mtu: link.mtu,
        }
    }
}

/// Every link of the namespace `netlink` is bound to, in one dump.
pub(crate) fn links(netlink: &Netlink) -> Result<Vec<LinkView>, netplumb_netns::Error> {
    Ok(netlink.links()?.into_iter().map(LinkView::from).collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A down Ethernet link `name` at `index` with MAC `02:00:00:00:00:<mac>`,
    /// MTU 1500, no controller and no permanent MAC.
    pub(crate) fn link(index: u32, name: &str, mac: u8) -> LinkView {
        LinkView {
            index,
            name: name.into(),
            kind: None,
            controller: None,
            mac: Some(MacAddr([2, 0, 0, 0, 0, mac])),
            permanent_mac: None,
            mtu: 1500,
            up: false,
        }
    }
}
