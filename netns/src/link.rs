//! Links: read, dump, change, create, delete, move between namespaces.

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo as NlLinkInfo,
    LinkMessage, Prop,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::attr::{attributes, string_of, u32_of, u8_of};
use crate::netlink::{GetThenChange, Op, RawMessage};
use crate::types::{validate_altname, validate_new_ifname, MAX_IFNAME_LEN};
use crate::vfinfo::parse_vf_list;
use crate::{Error, LinkRef, MacAddr, NetNs, Netlink, VfInfo};

const RTM_NEWLINK: u16 = 16;
const IFINFOMSG_LEN: usize = 16;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_IFALIAS: u16 = 20;
const IFLA_NUM_VF: u16 = 21;
const IFLA_VFINFO_LIST: u16 = 22;
const IFLA_PROP_LIST: u16 = 52;
const IFLA_ALT_IFNAME: u16 = 53;
const IFLA_PERM_ADDRESS: u16 = 54;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_SLAVE_KIND: u16 = 4;

/// Longest alias the kernel keeps (`IFALIASZ - 1`). The alias is sent
/// without a terminating NUL, as `ip link set ... alias` sends it: the
/// kernel counts a NUL against this limit.
pub const MAX_ALIAS_LEN: usize = 255;

/// A link as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// Alternative names (`ip link property add ... altname`).
    pub alt_names: Vec<String>,
    /// The link kind (`IFLA_INFO_KIND`: `"veth"`, `"bond"`, ...); `None` for
    /// plain hardware NICs.
    pub kind: Option<String>,
    /// The controller-side kind of a port (`IFLA_INFO_SLAVE_KIND`, e.g.
    /// `"bond"` for a bond port).
    pub port_kind: Option<String>,
    /// The link-layer address, when it is a 6-byte MAC.
    pub mac: Option<MacAddr>,
    /// The permanent hardware address, when the driver reports one.
    pub permanent_mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Interface flags (`IFF_*`).
    pub flags: u32,
    /// Operational state (RFC 2863).
    pub oper_state: OperState,
    /// Index of the controller (bond, bridge) this link is a port of.
    pub controller: Option<u32>,
    /// The alias (`ip link set ... alias`).
    pub alias: Option<String>,
    /// Number of VFs, for an SR-IOV PF.
    pub num_vfs: Option<u32>,
    /// The VF table, for an SR-IOV PF, ordered by VF index.
    pub vfs: Vec<VfInfo>,
}

impl LinkInfo {
    /// True when the link is administratively up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }

    /// True when the link has carrier (`IFF_LOWER_UP`).
    pub fn is_lower_up(&self) -> bool {
        self.flags & libc::IFF_LOWER_UP as u32 != 0
    }
}

/// Operational state (`IF_OPER_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OperState {
    /// Unknown (0).
    #[default]
    Unknown,
    /// Not present (1).
    NotPresent,
    /// Down (2).
    Down,
    /// A lower layer is down (3).
    LowerLayerDown,
    /// Testing (4).
    Testing,
    /// Dormant (5).
    Dormant,
    /// Up (6).
    Up,
    /// Any other value.
    Other(u8),
}

impl From<u8> for OperState {
    fn from(v: u8) -> OperState {
        match v {
            0 => OperState::Unknown,
            1 => OperState::NotPresent,
            2 => OperState::Down,
            3 => OperState::LowerLayerDown,
            4 => OperState::Testing,
            5 => OperState::Dormant,
            6 => OperState::Up,
            v => OperState::Other(v),
        }
    }
}

/// Decodes an `RTM_NEWLINK` message.
pub(crate) fn parse_link(msg: &RawMessage<'_>) -> Result<LinkInfo, String> {
    if msg.kind != RTM_NEWLINK {
        return Err(format!(
            "expected RTM_NEWLINK, got message type {}",
            msg.kind
        ));
    }
    let payload = msg.payload();
    let header = payload
        .get(..IFINFOMSG_LEN)
        .ok_or_else(|| format!("link message of {} bytes has no ifinfomsg", payload.len()))?;
    let index = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let flags = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
    let mut link = LinkInfo {
        index,
        name: String::new(),
        alt_names: Vec::new(),
        kind: None,
        port_kind: None,
        mac: None,
        permanent_mac: None,
        mtu: 0,
        flags,
        oper_state: OperState::Unknown,
        controller: None,
        alias: None,
        num_vfs: None,
        vfs: Vec::new(),
    };
    for attr in attributes(&payload[IFINFOMSG_LEN..]) {
        let (kind, value) = attr?;
        match kind {
            IFLA_IFNAME => link.name = string_of(value, "IFLA_IFNAME")?,
            IFLA_ADDRESS => link.mac = MacAddr::from_slice(value),
            IFLA_PERM_ADDRESS => link.permanent_mac = MacAddr::from_slice(value),
            IFLA_MTU => link.mtu = u32_of(value, "IFLA_MTU")?,
            IFLA_MASTER => {
                link.controller = Some(u32_of(value, "IFLA_MASTER")?).filter(|&i| i != 0)
            }
            IFLA_OPERSTATE => link.oper_state = u8_of(value, "IFLA_OPERSTATE")?.into(),
            IFLA_IFALIAS => link.alias = Some(string_of(value, "IFLA_IFALIAS")?),
            IFLA_NUM_VF => link.num_vfs = Some(u32_of(value, "IFLA_NUM_VF")?),
            IFLA_VFINFO_LIST => link.vfs = parse_vf_list(value),
            IFLA_LINKINFO => {
                for info in attributes(value) {
                    let (info_kind, info_value) = info?;
                    match info_kind {
                        IFLA_INFO_KIND => {
                            link.kind = Some(string_of(info_value, "IFLA_INFO_KIND")?)
                        }
                        IFLA_INFO_SLAVE_KIND => {
                            link.port_kind = Some(string_of(info_value, "IFLA_INFO_SLAVE_KIND")?)
                        }
                        _ => {}
                    }
                }
            }
            IFLA_PROP_LIST => {
                for prop in attributes(value) {
                    let (prop_kind, prop_value) = prop?;
                    if prop_kind == IFLA_ALT_IFNAME {
                        link.alt_names
                            .push(string_of(prop_value, "IFLA_ALT_IFNAME")?);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(link)
}

/// One change `RTM_SETLINK` can make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LinkChange {
    Up,
    Down,
    Mtu(u32),
    Mac(MacAddr),
    Name(String),
    Alias(String),
    Controller(u32),
    NoController,
}

/// Puts the link's identity in a request: the index in the header, or the
/// name as an attribute (`IFLA_IFNAME` when it fits, else
/// `IFLA_ALT_IFNAME`, which kernels since 5.5 resolve too).
pub(crate) fn link_message(link: &LinkRef) -> Result<LinkMessage, Error> {
    let mut msg = LinkMessage::default();
    match link {
        LinkRef::Index(index) => msg.header.index = *index,
        LinkRef::Name(name) => {
            validate_altname(name, "link name")?;
            if name.len() <= MAX_IFNAME_LEN {
                msg.attributes.push(LinkAttribute::IfName(name.clone()));
            } else {
                msg.attributes.push(alt_ifname_attr(name));
            }
        }
    }
    Ok(msg)
}

fn alt_ifname_attr(name: &str) -> LinkAttribute {
    let mut value = name.as_bytes().to_vec();
    value.push(0);
    LinkAttribute::Other(DefaultNla::new(IFLA_ALT_IFNAME, value))
}

fn vf_ext_mask() -> LinkAttribute {
    // The VF table is only sent when asked for; its per-VF statistics are
    // large and nobody here needs them.
    LinkAttribute::ExtMask(vec![LinkExtentMask::Vf, LinkExtentMask::SkipStats])
}

pub(crate) fn get_link_request(link: &LinkRef) -> Result<RouteNetlinkMessage, Error> {
    let mut msg = link_message(link)?;
    // Same attribute order as `ip link show dev NAME`.
    msg.attributes.insert(0, vf_ext_mask());
    Ok(RouteNetlinkMessage::GetLink(msg))
}

pub(crate) fn dump_links_request() -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes.push(vf_ext_mask());
    RouteNetlinkMessage::GetLink(msg)
}

/// An `RTM_SETLINK` for `link`, which must be an index when the change is
/// a rename: a name would take the `IFLA_IFNAME` slot the new name needs.
pub(crate) fn set_link_request(
    link: &LinkRef,
    change: &LinkChange,
) -> Result<RouteNetlinkMessage, Error> {
    if let (LinkRef::Name(name), LinkChange::Name(_)) = (link, change) {
        return Err(Error::InvalidArgument {
            field: "link to rename",
            value: name.clone(),
            expected: "an interface index: a rename sends the new name where the old one \
                       would go",
        });
    }
    let mut msg = link_message(link)?;
    match change {
        LinkChange::Up => {
            msg.header.flags = LinkFlags::Up;
            msg.header.change_mask = LinkFlags::Up;
        }
        LinkChange::Down => {
            msg.header.flags = LinkFlags::empty();
            msg.header.change_mask = LinkFlags::Up;
        }
        LinkChange::Mtu(mtu) => msg.attributes.push(LinkAttribute::Mtu(*mtu)),
        LinkChange::Mac(mac) => msg.attributes.push(LinkAttribute::Address(mac.0.to_vec())),
        LinkChange::Name(name) => {
            validate_new_ifname(name)?;
            msg.attributes.push(LinkAttribute::IfName(name.clone()));
        }
        LinkChange::Alias(alias) => {
            if alias.len() > MAX_ALIAS_LEN || alias.contains('\0') {
                return Err(Error::InvalidArgument {
                    field: "alias",
                    value: alias.clone(),
                    expected: "at most 255 bytes without NUL (empty clears the alias)",
                });
            }
            // netlink-packet-route's IfAlias appends a NUL.
            msg.attributes.push(LinkAttribute::Other(DefaultNla::new(
                IFLA_IFALIAS,
                alias.as_bytes().to_vec(),
            )));
        }
        LinkChange::Controller(index) => msg.attributes.push(LinkAttribute::Controller(*index)),
        LinkChange::NoController => msg.attributes.push(LinkAttribute::Controller(0)),
    }
    Ok(RouteNetlinkMessage::SetLink(msg))
}

/// Move `index` into the namespace `ns_fd`, renaming it on the way when
/// `new_name` is given: one `RTM_SETLINK` with `IFLA_NET_NS_FD` and
/// `IFLA_IFNAME`.
pub(crate) fn move_link_request(
    index: u32,
    ns_fd: i32,
    new_name: Option<&str>,
) -> Result<RouteNetlinkMessage, Error> {
    let mut msg = LinkMessage::default();
    msg.header.index = index;
    msg.attributes.push(LinkAttribute::NetNsFd(ns_fd));
    if let Some(name) = new_name {
        validate_new_ifname(name)?;
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    }
    Ok(RouteNetlinkMessage::SetLink(msg))
}

pub(crate) fn delete_link_request(link: &LinkRef) -> Result<RouteNetlinkMessage, Error> {
    Ok(RouteNetlinkMessage::DelLink(link_message(link)?))
}

pub(crate) fn new_link_request(name: &str, kind: &str) -> Result<RouteNetlinkMessage, Error> {
    validate_new_ifname(name)?;
    if kind.is_empty() || kind.contains('\0') {
        return Err(Error::InvalidArgument {
            field: "link kind",
            value: kind.to_string(),
            expected: "a kernel link kind such as \"bridge\" or \"dummy\"",
        });
    }
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes
        .push(LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
            InfoKind::from(kind),
        )]));
    Ok(RouteNetlinkMessage::NewLink(msg))
}

pub(crate) fn new_veth_request(
    name: &str,
    peer: &str,
    peer_ns_fd: Option<i32>,
) -> Result<RouteNetlinkMessage, Error> {
    validate_new_ifname(name)?;
    validate_new_ifname(peer)?;
    let mut peer_msg = LinkMessage::default();
    peer_msg
        .attributes
        .push(LinkAttribute::IfName(peer.to_string()));
    if let Some(fd) = peer_ns_fd {
        peer_msg.attributes.push(LinkAttribute::NetNsFd(fd));
    }
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Veth),
        NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
    ]));
    Ok(RouteNetlinkMessage::NewLink(msg))
}

pub(crate) fn altname_request(
    link: &LinkRef,
    altname: &str,
    add: bool,
) -> Result<RouteNetlinkMessage, Error> {
    validate_altname(altname, "alternative name")?;
    let mut msg = link_message(link)?;
    msg.attributes
        .push(LinkAttribute::PropList(vec![Prop::AltIfName(
            altname.to_string(),
        )]));
    Ok(if add {
        RouteNetlinkMessage::NewLinkProp(msg)
    } else {
        RouteNetlinkMessage::DelLinkProp(msg)
    })
}

impl Netlink {
    /// Reads one link, by index, name or alternative name. For an SR-IOV
    /// PF the VF table comes with it (without per-VF statistics).
    pub fn link(&self, link: impl Into<LinkRef>) -> Result<LinkInfo, Error> {
        let link = link.into();
        let op = Op::on("get link", &link);
        self.request_one(op, get_link_request(&link)?, |m| {
            parse_link(m).map_err(|d| op.decode_error(d))
        })
    }

    /// Reads every link in the namespace, VF tables included.
    pub fn links(&self) -> Result<Vec<LinkInfo>, Error> {
        let op = Op::new("dump links");
        self.dump(op, dump_links_request(), |m| {
            parse_link(m).map(Some).map_err(|d| op.decode_error(d))
        })
    }

    /// Reads the VF table of the SR-IOV PF `pf`, ordered by VF index (empty
    /// for a link without VFs).
    pub fn vfs(&self, pf: impl Into<LinkRef>) -> Result<Vec<VfInfo>, Error> {
        Ok(self.link(pf)?.vfs)
    }

    /// The index of `link`, asking the kernel only when given a name.
    pub fn index_of(&self, link: impl Into<LinkRef>) -> Result<u32, Error> {
        match link.into() {
            LinkRef::Index(index) => Ok(index),
            name => Ok(self.link(name)?.index),
        }
    }

    /// Sets the link administratively up.
    pub fn set_up(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        self.set_link("set link up", link.into(), LinkChange::Up)
    }

    /// Sets the link administratively down.
    pub fn set_down(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        self.set_link("set link down", link.into(), LinkChange::Down)
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, link: impl Into<LinkRef>, mtu: u32) -> Result<(), Error> {
        self.set_link("set MTU", link.into(), LinkChange::Mtu(mtu))
    }

    /// Sets the MAC address. Rejects zero and multicast addresses before
    /// asking the kernel.
    pub fn set_mac(&self, link: impl Into<LinkRef>, mac: MacAddr) -> Result<(), Error> {
        if !mac.is_valid_unicast() {
            return Err(Error::InvalidArgument {
                field: "MAC address",
                value: mac.to_string(),
                expected: "a unicast address (first octet even) that is not all zeros",
            });
        }
        self.set_link("set MAC address", link.into(), LinkChange::Mac(mac))
    }

    /// Renames the link (it must be down). Given a name rather than an
    /// index, this costs one extra round trip to look the index up.
    pub fn set_name(&self, link: impl Into<LinkRef>, new_name: &str) -> Result<(), Error> {
        validate_new_ifname(new_name)?;
        let link = link.into();
        let index = self.index_of(&link)?;
        let op = Op::on("rename link", &link);
        let req = set_link_request(
            &LinkRef::Index(index),
            &LinkChange::Name(new_name.to_string()),
        )?;
        self.request_ack(op, req, 0)
    }

    /// Sets the alias; an empty alias removes it.
    pub fn set_alias(&self, link: impl Into<LinkRef>, alias: &str) -> Result<(), Error> {
        self.set_link(
            "set alias",
            link.into(),
            LinkChange::Alias(alias.to_string()),
        )
    }

    /// Makes the link a port of `controller` (a bond or bridge).
    pub fn set_controller(
        &self,
        link: impl Into<LinkRef>,
        controller: impl Into<LinkRef>,
    ) -> Result<(), Error> {
        let controller = self.index_of(controller)?;
        self.set_link(
            "set controller",
            link.into(),
            LinkChange::Controller(controller),
        )
    }

    /// Releases the link from its controller.
    pub fn set_no_controller(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        self.set_link(
            "release from controller",
            link.into(),
            LinkChange::NoController,
        )
    }

    /// Deletes the link (for a veth, both ends go).
    pub fn delete_link(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        let link = link.into();
        self.request_ack(Op::on("delete link", &link), delete_link_request(&link)?, 0)
    }

    /// Moves the link into `target`, renaming it there to `new_name` if
    /// given, in one `RTM_SETLINK` (no temporary names, no clash with a
    /// same-named link in either namespace). Given an index, this is one
    /// round trip; given a name, one more to look the index up.
    ///
    /// A failed call leaves the link where it was. The kernel uses the new
    /// name during the move only when the link's current name is taken in
    /// `target`; otherwise it moves the link first and renames it there, so
    /// a rename that then fails (the new name is taken in `target`) leaves
    /// the link moved under its old name. This method reads the link in the
    /// same round trip as the move, so after such a failure it finds the
    /// link in `target` by that name, moves it back (under its old index
    /// too, where the kernel can give it), and returns the kernel's
    /// error. If moving it back fails too, the error is
    /// [`Error::MovedNotRenamed`], which says where the link is now.
    pub fn move_link(
        &self,
        link: impl Into<LinkRef>,
        target: &NetNs,
        new_name: Option<&str>,
    ) -> Result<(), Error> {
        let link = link.into();
        let fd = target.as_fd().as_raw_fd();
        let op = Op::on("move link to another namespace", &link);
        let Some(new_name) = new_name else {
            let index = self.index_of(&link)?;
            return self.request_ack(op, move_link_request(index, fd, None)?, 0);
        };
        validate_new_ifname(new_name)?;
        let outcome = match &link {
            LinkRef::Index(index) => {
                let get_op = Op::on("get link", &link);
                self.request_one_then_ack(
                    (get_op, get_link_request(&link)?),
                    |m| parse_link(m).map_err(|d| get_op.decode_error(d)),
                    (op, move_link_request(*index, fd, Some(new_name))?, 0),
                )?
            }
            by_name => {
                let before = self.link(by_name)?;
                let req = move_link_request(before.index, fd, Some(new_name))?;
                GetThenChange {
                    changed: self.request_ack(op, req, 0),
                    got: Ok(before),
                }
            }
        };
        match (outcome.changed, outcome.got) {
            (Err(error), Ok(before)) => Err(self.undo_half_move(&link, &before, target, error)),
            (moved, _) => moved,
        }
    }

    /// After a failed move-and-rename of `link` (`before` as it was here):
    /// if it left this namespace, finds it in `target` under its old name
    /// and moves it back. Returns the error to report.
    fn undo_half_move(
        &self,
        link: &LinkRef,
        before: &LinkInfo,
        target: &NetNs,
        error: Error,
    ) -> Error {
        match self.link(before.index) {
            Err(e) if e.is_no_such_link() => {}
            // Still here (the move itself failed, changing nothing), or
            // this namespace cannot be read to tell.
            _ => return error,
        }
        let Ok(there) = target.netlink() else {
            return error;
        };
        // The MAC does not change on the way; a different one means another
        // link took the name there in the meantime.
        let found = there
            .link(before.name.as_str())
            .ok()
            .filter(|found| found.mac == before.mac);
        let Some(found) = found else {
            return error;
        };
        let home = self.namespace().as_fd().as_raw_fd();
        let op = Op::on("move link back after a failed rename", link);
        let move_back = |index| {
            let mut req = move_link_request(found.index, home, None)?;
            if let (Some(index), RouteNetlinkMessage::SetLink(msg)) = (index, &mut req) {
                msg.attributes.push(LinkAttribute::NewIfIndex(index));
            }
            there.request_ack(op, req, 0)
        };
        // Ask for its old index too; a kernel that cannot give it (taken in
        // the meantime, or no IFLA_NEW_IFINDEX) still takes it back.
        let back = move_back(i32::try_from(before.index).ok()).or_else(|_| move_back(None));
        match back {
            Ok(()) => error,
            Err(move_back_error) => Error::MovedNotRenamed {
                link: link.to_string(),
                namespace: target.path().to_path_buf(),
                name_now: found.name,
                index_now: found.index,
                error: Box::new(error),
                move_back_error: Box::new(move_back_error),
            },
        }
    }

    /// Adds an alternative name to the link.
    pub fn add_altname(&self, link: impl Into<LinkRef>, altname: &str) -> Result<(), Error> {
        let link = link.into();
        let req = altname_request(&link, altname, true)?;
        self.request_ack(
            Op::on("add alternative name", &link),
            req,
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Removes an alternative name from the link.
    pub fn delete_altname(&self, link: impl Into<LinkRef>, altname: &str) -> Result<(), Error> {
        let link = link.into();
        let req = altname_request(&link, altname, false)?;
        self.request_ack(Op::on("delete alternative name", &link), req, 0)
    }

    /// Creates a veth pair `name` / `peer`, with the peer created directly
    /// in `peer_ns` when given. Both ends start down.
    pub fn add_veth(&self, name: &str, peer: &str, peer_ns: Option<&NetNs>) -> Result<(), Error> {
        let fd = peer_ns.map(|ns| ns.as_fd().as_raw_fd());
        let req = new_veth_request(name, peer, fd)?;
        let target = LinkRef::Name(name.to_string());
        self.request_ack(
            Op::on("create veth pair", &target),
            req,
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates a link of a kind that needs no options, such as `"bridge"`
    /// or `"dummy"` (if the kernel has it). It starts down.
    pub fn add_link(&self, name: &str, kind: &str) -> Result<(), Error> {
        let req = new_link_request(name, kind)?;
        let target = LinkRef::Name(name.to_string());
        let what = format!("create {kind} link");
        self.request_ack(Op::on(&what, &target), req, NLM_F_CREATE | NLM_F_EXCL)
    }

    fn set_link(&self, what: &str, link: LinkRef, change: LinkChange) -> Result<(), Error> {
        let req = set_link_request(&link, &change)?;
        self.request_ack(Op::on(what, &link), req, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{decode_request, encode_request, split_messages};
    use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP};

    /// Encodes `msg`, checks it decodes back to itself, returns the bytes.
    fn round_trip(msg: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
        let bytes = encode_request(msg.clone(), flags, 1);
        let (header, decoded) = decode_request(&bytes);
        assert_eq!(header.flags, netlink_packet_core::NLM_F_REQUEST | flags);
        assert_eq!(decoded, msg);
        bytes
    }

    fn attrs_of(msg: &RouteNetlinkMessage) -> &[LinkAttribute] {
        match msg {
            RouteNetlinkMessage::GetLink(m)
            | RouteNetlinkMessage::SetLink(m)
            | RouteNetlinkMessage::NewLink(m)
            | RouteNetlinkMessage::DelLink(m)
            | RouteNetlinkMessage::NewLinkProp(m)
            | RouteNetlinkMessage::DelLinkProp(m) => &m.attributes,
            other => panic!("not a link message: {other:?}"),
        }
    }

    #[test]
    fn get_link_by_name_matches_ip_link_show() {
        // `ip link show dev d0` as strace showed it (seq 1795313790).
        let ip: &[u8] = &[
            0x30, 0x00, 0x00, 0x00, 0x12, 0x00, 0x01, 0x00, 0x7e, 0x50, 0x02, 0x6b, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x1d, 0x00, 0x09, 0x00, 0x00, 0x00, 0x07, 0x00,
            0x03, 0x00, 0x64, 0x30, 0x00, 0x00,
        ];
        let req = get_link_request(&LinkRef::from("d0")).unwrap();
        assert_eq!(encode_request(req.clone(), 0, 1_795_313_790), ip);
        round_trip(req, 0);
    }

    #[test]
    fn get_link_by_index_and_long_altname() {
        let by_index = get_link_request(&LinkRef::Index(7)).unwrap();
        match &by_index {
            RouteNetlinkMessage::GetLink(m) => assert_eq!(m.header.index, 7),
            other => panic!("{other:?}"),
        }
        let (_, decoded) = decode_request(&round_trip(by_index, 0));
        assert_eq!(attrs_of(&decoded).len(), 1, "only the ext mask");

        let long = "an-alternative-name-longer-than-15";
        let req = get_link_request(&LinkRef::from(long)).unwrap();
        let bytes = round_trip(req, 0);
        let (_, decoded) = decode_request(&bytes);
        let alt = attrs_of(&decoded)
            .iter()
            .find_map(|a| match a {
                LinkAttribute::Other(nla)
                    if netlink_packet_core::Nla::kind(nla) == IFLA_ALT_IFNAME =>
                {
                    Some(nla.clone())
                }
                _ => None,
            })
            .expect("IFLA_ALT_IFNAME present");
        let mut value = vec![0; netlink_packet_core::Nla::value_len(&alt)];
        netlink_packet_core::Nla::emit_value(&alt, &mut value);
        assert_eq!(value, format!("{long}\0").as_bytes());
    }

    #[test]
    fn dump_asks_for_vfs_without_stats() {
        let bytes = round_trip(dump_links_request(), NLM_F_DUMP);
        let (_, decoded) = decode_request(&bytes);
        assert_eq!(
            attrs_of(&decoded),
            &[LinkAttribute::ExtMask(vec![
                LinkExtentMask::Vf,
                LinkExtentMask::SkipStats
            ])]
        );
        // RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS, as `ip` sends.
        assert_eq!(&bytes[32..40], &[8, 0, 29, 0, 9, 0, 0, 0]);
    }

    #[test]
    fn set_mtu_payload_matches_ip_link_set() {
        // Payload of `ip link set dev d0 mtu 1400` (ifindex 3); ip sends it
        // as RTM_NEWLINK, we as RTM_SETLINK.
        let ip_payload: &[u8] = &[
            0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x08, 0x00, 0x04, 0x00, 0x78, 0x05, 0x00, 0x00,
        ];
        let req = set_link_request(&LinkRef::Index(3), &LinkChange::Mtu(1400)).unwrap();
        let bytes = round_trip(req, NLM_F_ACK);
        let m = &split_messages(&bytes).unwrap()[0];
        assert_eq!(m.kind, 19); // RTM_SETLINK
        assert_eq!(m.payload(), ip_payload);
    }

    #[test]
    fn set_alias_payload_matches_ip_link_set() {
        // Payload of `ip link set dev d0 alias "to the pod"` (ifindex 3):
        // the alias goes without a NUL (length 14 = 4 + 10).
        let ip_payload: &[u8] = &[
            0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x0e, 0x00, 0x14, 0x00, 0x74, 0x6f, 0x20, 0x74, 0x68, 0x65, 0x20, 0x70,
            0x6f, 0x64, 0x00, 0x00,
        ];
        let req =
            set_link_request(&LinkRef::Index(3), &LinkChange::Alias("to the pod".into())).unwrap();
        let bytes = encode_request(req, NLM_F_ACK, 1);
        let m = &split_messages(&bytes).unwrap()[0];
        assert_eq!(m.payload(), ip_payload);
        let (_, decoded) = decode_request(&bytes);
        assert_eq!(
            attrs_of(&decoded),
            &[LinkAttribute::IfAlias("to the pod".into())]
        );
    }

    #[test]
    fn every_link_change_round_trips() {
        let mac = MacAddr([2, 0, 0, 0, 0, 9]);
        for change in [
            LinkChange::Up,
            LinkChange::Down,
            LinkChange::Mtu(9000),
            LinkChange::Mac(mac),
            LinkChange::Name("net1".into()),
            LinkChange::Controller(4),
            LinkChange::NoController,
        ] {
            for link in [LinkRef::Index(3), LinkRef::from("eth0")] {
                if matches!((&link, &change), (LinkRef::Name(_), LinkChange::Name(_))) {
                    match set_link_request(&link, &change) {
                        Err(Error::InvalidArgument { field, .. }) => {
                            assert_eq!(field, "link to rename")
                        }
                        other => panic!("two IFLA_IFNAME: {other:?}"),
                    }
                    continue;
                }
                let req = set_link_request(&link, &change).unwrap();
                let bytes = round_trip(req, NLM_F_ACK);
                let (_, decoded) = decode_request(&bytes);
                let RouteNetlinkMessage::SetLink(m) = decoded else {
                    panic!("not SETLINK")
                };
                match &change {
                    LinkChange::Up => {
                        assert_eq!(m.header.flags, LinkFlags::Up);
                        assert_eq!(m.header.change_mask, LinkFlags::Up);
                    }
                    LinkChange::Down => {
                        assert!(m.header.flags.is_empty());
                        assert_eq!(m.header.change_mask, LinkFlags::Up);
                    }
                    LinkChange::Mac(_) => {
                        assert!(m
                            .attributes
                            .contains(&LinkAttribute::Address(mac.0.to_vec())))
                    }
                    LinkChange::NoController => {
                        assert!(m.attributes.contains(&LinkAttribute::Controller(0)))
                    }
                    _ => assert!(!m.attributes.is_empty()),
                }
            }
        }
    }

    #[test]
    fn move_and_rename_is_one_message_with_both_attributes() {
        let req = move_link_request(12, 5, Some("net1")).unwrap();
        let bytes = round_trip(req, NLM_F_ACK);
        let (_, decoded) = decode_request(&bytes);
        let RouteNetlinkMessage::SetLink(m) = decoded else {
            panic!("not SETLINK")
        };
        assert_eq!(m.header.index, 12);
        assert_eq!(
            m.attributes,
            vec![
                LinkAttribute::NetNsFd(5),
                LinkAttribute::IfName("net1".into())
            ]
        );
        let no_rename = move_link_request(12, 5, None).unwrap();
        assert_eq!(attrs_of(&no_rename), &[LinkAttribute::NetNsFd(5)]);
        assert!(move_link_request(12, 5, Some("bad name")).is_err());
    }

    #[test]
    fn veth_and_plain_link_creation_round_trip() {
        let req = new_veth_request("va", "vb", Some(9)).unwrap();
        let bytes = round_trip(req, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        let (_, decoded) = decode_request(&bytes);
        let info = attrs_of(&decoded)
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(info) => Some(info.clone()),
                _ => None,
            })
            .unwrap();
        assert_eq!(info[0], NlLinkInfo::Kind(InfoKind::Veth));
        let NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))) = &info[1] else {
            panic!("no peer: {info:?}")
        };
        assert_eq!(
            peer.attributes,
            vec![
                LinkAttribute::IfName("vb".into()),
                LinkAttribute::NetNsFd(9)
            ]
        );

        let req = new_link_request("br0", "bridge").unwrap();
        round_trip(req, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        assert!(new_link_request("br0", "").is_err());
    }

    #[test]
    fn delete_and_altname_requests() {
        round_trip(
            delete_link_request(&LinkRef::from("va")).unwrap(),
            NLM_F_ACK,
        );
        // netlink-packet-route cannot parse RTM_*LINKPROP, so check the bytes:
        // ifinfomsg for index 2, then IFLA_PROP_LIST { IFLA_ALT_IFNAME }.
        let mut want = vec![0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(&[24, 0, 52, 0x80, 19, 0, 53, 0]); // 0x8000: NLA_F_NESTED
        want.extend_from_slice(b"uplink-altname\0\0");
        for (add, kind) in [(true, 108), (false, 109)] {
            let req = altname_request(&LinkRef::Index(2), "uplink-altname", add).unwrap();
            let bytes = encode_request(req, NLM_F_ACK, 1);
            let m = split_messages(&bytes).unwrap()[0];
            assert_eq!(m.kind, kind); // RTM_NEWLINKPROP / RTM_DELLINKPROP
            assert_eq!(m.payload(), want.as_slice());
        }
    }

    /// Builds an RTM_NEWLINK reply the way the kernel lays it out.
    fn reply(msg: LinkMessage) -> Vec<u8> {
        let mut bytes = encode_request(RouteNetlinkMessage::NewLink(msg), 0, 1);
        // Replies carry no NLM_F_REQUEST; the decoder must not care.
        bytes[6] = 0;
        bytes
    }

    #[test]
    fn parses_what_the_kernel_reports_about_a_link() {
        let mut msg = LinkMessage::default();
        msg.header.index = 5;
        msg.header.flags = LinkFlags::Up | LinkFlags::LowerUp | LinkFlags::Broadcast;
        msg.attributes = vec![
            LinkAttribute::IfName("eth3".into()),
            LinkAttribute::Mtu(9000),
            LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]),
            LinkAttribute::PermAddress(vec![2, 0, 0, 0, 0, 2]),
            LinkAttribute::Controller(9),
            LinkAttribute::OperState(netlink_packet_route::link::State::Up),
            LinkAttribute::IfAlias("uplink".into()),
            LinkAttribute::NumVf(0),
            LinkAttribute::PropList(vec![Prop::AltIfName("enp1s0f0".into())]),
            LinkAttribute::LinkInfo(vec![
                NlLinkInfo::Kind(InfoKind::Veth),
                NlLinkInfo::PortKind(netlink_packet_route::link::InfoPortKind::Bond),
            ]),
        ];
        let bytes = reply(msg);
        let link = parse_link(&split_messages(&bytes).unwrap()[0]).unwrap();
        assert_eq!(link.index, 5);
        assert_eq!(link.name, "eth3");
        assert_eq!(link.mtu, 9000);
        assert_eq!(link.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!(link.permanent_mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
        assert_eq!(link.controller, Some(9));
        assert_eq!(link.oper_state, OperState::Up);
        assert_eq!(link.alias.as_deref(), Some("uplink"));
        assert_eq!(link.num_vfs, Some(0));
        assert_eq!(link.alt_names, vec!["enp1s0f0".to_string()]);
        assert_eq!(link.kind.as_deref(), Some("veth"));
        assert_eq!(link.port_kind.as_deref(), Some("bond"));
        assert!(link.is_up() && link.is_lower_up());
        assert!(link.vfs.is_empty());
    }

    #[test]
    fn rejects_messages_that_are_not_links() {
        let bytes = encode_request(RouteNetlinkMessage::GetLink(LinkMessage::default()), 0, 1);
        assert!(parse_link(&split_messages(&bytes).unwrap()[0]).is_err());
        let mut short = reply(LinkMessage::default());
        short.truncate(24);
        short[0] = 24;
        assert!(parse_link(&split_messages(&short).unwrap()[0]).is_err());
    }

    proptest::proptest! {
        #[test]
        fn link_parser_never_panics(tail: Vec<u8>) {
            let mut bytes = reply(LinkMessage::default());
            bytes.extend_from_slice(&tail);
            let len = bytes.len() as u32;
            bytes[..4].copy_from_slice(&len.to_ne_bytes());
            if let Ok(messages) = split_messages(&bytes) {
                for m in messages {
                    let _ = parse_link(&m);
                }
            }
        }
    }
}
