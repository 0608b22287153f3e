//! Links: read, dump, change, create, delete, move between namespaces.

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo as NlLinkInfo,
    LinkMessage, Prop,
};
use netlink_packet_route::RouteNetlinkMessage;

use crate::attr::{attributes, string_of, u32_of, u8_of};
use crate::netlink::{Op, RawMessage};
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

/// Longest alias the kernel keeps (`IFALIASZ - 1`).
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
            IFLA_VFINFO_LIST => link.vfs = parse_vf_list(value)?,
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

/// An `RTM_SETLINK` for `link` (which must be an index when the change is a
/// rename, since the new name takes the `IFLA_IFNAME` slot).
pub(crate) fn set_link_request(
    link: &LinkRef,
    change: &LinkChange,
) -> Result<RouteNetlinkMessage, Error> {
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
            msg.attributes.push(LinkAttribute::IfAlias(alias.clone()));
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
    /// same-named link in either namespace). Given a name rather than an
    /// index, this costs one extra round trip to look the index up.
    pub fn move_link(
        &self,
        link: impl Into<LinkRef>,
        target: &NetNs,
        new_name: Option<&str>,
    ) -> Result<(), Error> {
        if let Some(name) = new_name {
            validate_new_ifname(name)?;
        }
        let link = link.into();
        let index = self.index_of(&link)?;
        let fd = target.as_fd();
        let req = move_link_request(index, fd.as_raw_fd(), new_name)?;
        self.request_ack(Op::on("move link to another namespace", &link), req, 0)
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
