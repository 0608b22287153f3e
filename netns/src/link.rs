//! Links: the one decoder of what the kernel reports about a link, and the
//! verbs that read, create, delete and move links.

use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkExtentMask, LinkInfo as NlLinkInfo,
    LinkMessage, Prop,
};
use netlink_packet_route::RouteNetlinkMessage;
use netplumb_types::{Alias, AltName, IfName, MacAddr};

use crate::attr::{attributes, lossy_string_of, u16_of, u32_of, u8_of};
use crate::change::LinkChange;
use crate::netlink::{GetThenChange, Op, RawMessage};
use crate::vfinfo::parse_vf_list;
use crate::{Error, LinkRef, NetNs, Netlink, VfInfo};

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
const IFLA_PARENT_DEV_NAME: u16 = 56;
const IFLA_PARENT_DEV_BUS_NAME: u16 = 57;

const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_INFO_SLAVE_KIND: u16 = 4;
const IFLA_INFO_SLAVE_DATA: u16 = 5;

const IFLA_BOND_MODE: u16 = 1;
const IFLA_BOND_ACTIVE_SLAVE: u16 = 2;
const IFLA_BOND_MIIMON: u16 = 3;
const IFLA_BOND_UPDELAY: u16 = 4;
const IFLA_BOND_DOWNDELAY: u16 = 5;
const IFLA_BOND_PRIMARY: u16 = 11;
const IFLA_BOND_FAIL_OVER_MAC: u16 = 13;
const IFLA_BOND_XMIT_HASH_POLICY: u16 = 14;
const IFLA_BOND_ALL_SLAVES_ACTIVE: u16 = 17;
const IFLA_BOND_TLB_DYNAMIC_LB: u16 = 27;

const IFLA_BOND_SLAVE_STATE: u16 = 1;
const IFLA_BOND_SLAVE_MII_STATUS: u16 = 2;
const IFLA_BOND_SLAVE_LINK_FAILURE_COUNT: u16 = 3;
const IFLA_BOND_SLAVE_PERM_HWADDR: u16 = 4;
const IFLA_BOND_SLAVE_QUEUE_ID: u16 = 5;

/// A link as the kernel reports it.
///
/// Every reply about links, from [`Netlink::link`] and [`Netlink::links`]
/// alike, is decoded here, reading only the attributes below: an attribute
/// this crate does not know is skipped, and names and aliases are kept as
/// the bytes they are, so no link a pod can make (a name or alias that is
/// not UTF-8, a kind nobody here knows) makes a dump fail.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkInfo {
    /// Interface index.
    pub index: u32,
    /// Interface name.
    pub name: IfName,
    /// Alternative names (`ip link property add ... altname`).
    pub alt_names: Vec<AltName>,
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
    /// The link-layer type (`ifi_type`, an `ARPHRD_*` value): 1 for
    /// Ethernet, 772 for loopback.
    pub link_type: u16,
    /// Operational state (RFC 2863).
    pub oper_state: OperState,
    /// Index of the controller (bond, bridge) this link is a port of.
    pub controller: Option<u32>,
    /// The alias (`ip link set ... alias`), when it has one.
    pub alias: Option<Alias>,
    /// The device the netdev belongs to (`IFLA_PARENT_DEV_NAME`, kernels
    /// since 5.16): for a PCI NIC or VF its PCI address, `0000:01:10.2`.
    /// Software links (veth, bond) have none. A pod cannot change it.
    pub parent_device: Option<String>,
    /// The bus of [`parent_device`](LinkInfo::parent_device)
    /// (`IFLA_PARENT_DEV_BUS_NAME`): `"pci"` for a PCI device.
    pub parent_bus: Option<String>,
    /// Number of VFs, for an SR-IOV PF.
    pub num_vfs: Option<u32>,
    /// The VF table, for an SR-IOV PF, ordered by VF index.
    pub vfs: Vec<VfInfo>,
    /// A bond's mode and options (`IFLA_INFO_DATA` of kind `bond`).
    pub bond: Option<BondData>,
    /// A bond port's state (`IFLA_INFO_SLAVE_DATA` of a port of a bond).
    pub bond_port: Option<BondPortData>,
}

impl LinkInfo {
    /// A link as a test or a fake kernel would describe it: `index` and
    /// `name`, Ethernet, down, MTU 1500, nothing else.
    pub fn new(index: u32, name: IfName) -> LinkInfo {
        LinkInfo {
            index,
            name,
            alt_names: Vec::new(),
            kind: None,
            port_kind: None,
            mac: None,
            permanent_mac: None,
            mtu: 1500,
            flags: 0,
            link_type: libc::ARPHRD_ETHER,
            oper_state: OperState::Down,
            controller: None,
            alias: None,
            parent_device: None,
            parent_bus: None,
            num_vfs: None,
            vfs: Vec::new(),
            bond: None,
            bond_port: None,
        }
    }

    /// True when the link is administratively up (`IFF_UP`).
    pub fn is_up(&self) -> bool {
        self.flags & libc::IFF_UP as u32 != 0
    }

    /// True when the link is in promiscuous mode (`IFF_PROMISC`).
    pub fn is_promisc(&self) -> bool {
        self.flags & libc::IFF_PROMISC as u32 != 0
    }

    /// True when the link takes all multicast (`IFF_ALLMULTI`).
    pub fn is_allmulti(&self) -> bool {
        self.flags & libc::IFF_ALLMULTI as u32 != 0
    }

    /// True when the link has carrier (`IFF_LOWER_UP`).
    pub fn is_lower_up(&self) -> bool {
        self.flags & libc::IFF_LOWER_UP as u32 != 0
    }

    /// True when the kernel reports the link's parent as the PCI device
    /// `address` (as sysfs writes it, `0000:01:10.2`). Kernels before 5.16
    /// report no parent, so this is false there: `Netlink::device_of` asks
    /// the driver instead and answers on every kernel.
    pub fn is_on_pci_device(&self, address: &str) -> bool {
        self.parent_bus.as_deref() == Some("pci") && self.parent_device.as_deref() == Some(address)
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

impl From<OperState> for u8 {
    fn from(state: OperState) -> u8 {
        match state {
            OperState::Unknown => 0,
            OperState::NotPresent => 1,
            OperState::Down => 2,
            OperState::LowerLayerDown => 3,
            OperState::Testing => 4,
            OperState::Dormant => 5,
            OperState::Up => 6,
            OperState::Other(v) => v,
        }
    }
}

/// A bond's mode and options as the kernel reports them, in the kernel's
/// numbers (`BOND_MODE_*`, `BOND_FOM_*`, `BOND_XMIT_POLICY_*`); `None`
/// when the kernel left one out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondData {
    /// `IFLA_BOND_MODE`.
    pub mode: Option<u8>,
    /// `IFLA_BOND_MIIMON`, in milliseconds.
    pub miimon: Option<u32>,
    /// `IFLA_BOND_UPDELAY`, in milliseconds.
    pub updelay: Option<u32>,
    /// `IFLA_BOND_DOWNDELAY`, in milliseconds.
    pub downdelay: Option<u32>,
    /// `IFLA_BOND_FAIL_OVER_MAC`.
    pub fail_over_mac: Option<u8>,
    /// `IFLA_BOND_XMIT_HASH_POLICY`.
    pub xmit_hash_policy: Option<u8>,
    /// `IFLA_BOND_ALL_SLAVES_ACTIVE`.
    pub all_slaves_active: Option<u8>,
    /// `IFLA_BOND_TLB_DYNAMIC_LB`.
    pub tlb_dynamic_lb: Option<u8>,
    /// `IFLA_BOND_PRIMARY`: the index of the preferred port.
    pub primary: Option<u32>,
    /// `IFLA_BOND_ACTIVE_SLAVE`: the index of the port carrying traffic.
    pub active_port: Option<u32>,
}

/// A bond port's state as the kernel reports it, in the kernel's numbers;
/// `None` when the kernel left one out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondPortData {
    /// `IFLA_BOND_SLAVE_STATE`: 0 active, 1 backup.
    pub state: Option<u8>,
    /// `IFLA_BOND_SLAVE_MII_STATUS`: 0 up, 1 going down, 2 down, 3 going
    /// back.
    pub mii_status: Option<u8>,
    /// `IFLA_BOND_SLAVE_LINK_FAILURE_COUNT`.
    pub link_failure_count: Option<u32>,
    /// `IFLA_BOND_SLAVE_PERM_HWADDR`: the MAC the port had when it was
    /// enslaved.
    pub permanent_mac: Option<MacAddr>,
    /// `IFLA_BOND_SLAVE_QUEUE_ID`.
    pub queue_id: Option<u16>,
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
    let link_type = u16::from_ne_bytes([header[2], header[3]]);
    let flags = u32::from_ne_bytes([header[8], header[9], header[10], header[11]]);
    let mut name = None;
    let mut link = LinkInfo {
        flags,
        link_type,
        mtu: 0,
        oper_state: OperState::Unknown,
        ..LinkInfo::new(index, IfName::new("-").expect("a valid name"))
    };
    let mut info_data = None;
    let mut port_data = None;
    for attr in attributes(&payload[IFINFOMSG_LEN..]) {
        let (kind, value) = attr?;
        match kind {
            IFLA_IFNAME => {
                name = Some(
                    IfName::new(nul_terminated(value))
                        .map_err(|e| format!("IFLA_IFNAME of link {index}: {e}"))?,
                )
            }
            IFLA_ADDRESS => link.mac = MacAddr::from_slice(value),
            IFLA_PERM_ADDRESS => link.permanent_mac = MacAddr::from_slice(value),
            IFLA_MTU => link.mtu = u32_of(value, "IFLA_MTU")?,
            IFLA_MASTER => {
                link.controller = Some(u32_of(value, "IFLA_MASTER")?).filter(|&i| i != 0)
            }
            IFLA_OPERSTATE => link.oper_state = u8_of(value, "IFLA_OPERSTATE")?.into(),
            IFLA_IFALIAS => {
                let alias = nul_terminated(value);
                // The kernel keeps at most 255 bytes without NUL; anything
                // else cannot have come from it, and is no alias.
                link.alias = Alias::new(alias).ok().filter(|a| !a.is_empty());
            }
            IFLA_PARENT_DEV_NAME => link.parent_device = Some(lossy_string_of(value)),
            IFLA_PARENT_DEV_BUS_NAME => link.parent_bus = Some(lossy_string_of(value)),
            IFLA_NUM_VF => link.num_vfs = Some(u32_of(value, "IFLA_NUM_VF")?),
            IFLA_VFINFO_LIST => link.vfs = parse_vf_list(value),
            IFLA_LINKINFO => {
                for info in attributes(value) {
                    let (info_kind, info_value) = info?;
                    match info_kind {
                        IFLA_INFO_KIND => link.kind = Some(lossy_string_of(info_value)),
                        IFLA_INFO_SLAVE_KIND => link.port_kind = Some(lossy_string_of(info_value)),
                        IFLA_INFO_DATA => info_data = Some(info_value),
                        IFLA_INFO_SLAVE_DATA => port_data = Some(info_value),
                        _ => {}
                    }
                }
            }
            IFLA_PROP_LIST => {
                for prop in attributes(value) {
                    let (prop_kind, prop_value) = prop?;
                    if prop_kind == IFLA_ALT_IFNAME {
                        // An alternative name that breaks the kernel's own
                        // rules cannot have come from it; leave it out.
                        if let Ok(alt) = AltName::new(nul_terminated(prop_value)) {
                            link.alt_names.push(alt);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    link.name = name.ok_or_else(|| format!("link {index} has no IFLA_IFNAME"))?;
    // The data's layout depends on the kind, which may come after it.
    if let (Some("bond"), Some(data)) = (link.kind.as_deref(), info_data) {
        link.bond = Some(parse_bond(data)?);
    }
    if let (Some("bond"), Some(data)) = (link.port_kind.as_deref(), port_data) {
        link.bond_port = Some(parse_bond_port(data)?);
    }
    Ok(link)
}

/// A string attribute's bytes up to its first NUL.
fn nul_terminated(value: &[u8]) -> &[u8] {
    value.split(|&b| b == 0).next().unwrap_or_default()
}

fn parse_bond(data: &[u8]) -> Result<BondData, String> {
    let mut bond = BondData::default();
    for attr in attributes(data) {
        let (kind, value) = attr?;
        match kind {
            IFLA_BOND_MODE => bond.mode = Some(u8_of(value, "IFLA_BOND_MODE")?),
            IFLA_BOND_ACTIVE_SLAVE => {
                bond.active_port = Some(u32_of(value, "IFLA_BOND_ACTIVE_SLAVE")?)
            }
            IFLA_BOND_MIIMON => bond.miimon = Some(u32_of(value, "IFLA_BOND_MIIMON")?),
            IFLA_BOND_UPDELAY => bond.updelay = Some(u32_of(value, "IFLA_BOND_UPDELAY")?),
            IFLA_BOND_DOWNDELAY => bond.downdelay = Some(u32_of(value, "IFLA_BOND_DOWNDELAY")?),
            IFLA_BOND_PRIMARY => bond.primary = Some(u32_of(value, "IFLA_BOND_PRIMARY")?),
            IFLA_BOND_FAIL_OVER_MAC => {
                bond.fail_over_mac = Some(u8_of(value, "IFLA_BOND_FAIL_OVER_MAC")?)
            }
            IFLA_BOND_XMIT_HASH_POLICY => {
                bond.xmit_hash_policy = Some(u8_of(value, "IFLA_BOND_XMIT_HASH_POLICY")?)
            }
            IFLA_BOND_ALL_SLAVES_ACTIVE => {
                bond.all_slaves_active = Some(u8_of(value, "IFLA_BOND_ALL_SLAVES_ACTIVE")?)
            }
            IFLA_BOND_TLB_DYNAMIC_LB => {
                bond.tlb_dynamic_lb = Some(u8_of(value, "IFLA_BOND_TLB_DYNAMIC_LB")?)
            }
            _ => {}
        }
    }
    Ok(bond)
}

fn parse_bond_port(data: &[u8]) -> Result<BondPortData, String> {
    let mut port = BondPortData::default();
    for attr in attributes(data) {
        let (kind, value) = attr?;
        match kind {
            IFLA_BOND_SLAVE_STATE => port.state = Some(u8_of(value, "IFLA_BOND_SLAVE_STATE")?),
            IFLA_BOND_SLAVE_MII_STATUS => {
                port.mii_status = Some(u8_of(value, "IFLA_BOND_SLAVE_MII_STATUS")?)
            }
            IFLA_BOND_SLAVE_LINK_FAILURE_COUNT => {
                port.link_failure_count = Some(u32_of(value, "IFLA_BOND_SLAVE_LINK_FAILURE_COUNT")?)
            }
            IFLA_BOND_SLAVE_PERM_HWADDR => port.permanent_mac = MacAddr::from_slice(value),
            IFLA_BOND_SLAVE_QUEUE_ID => {
                port.queue_id = Some(u16_of(value, "IFLA_BOND_SLAVE_QUEUE_ID")?)
            }
            _ => {}
        }
    }
    Ok(port)
}

/// Puts the link's identity in a request: the index in the header, or the
/// name as an attribute (`IFLA_IFNAME` when it fits, else
/// `IFLA_ALT_IFNAME`, which kernels since 5.5 resolve when reading a link;
/// requests that change one use [`Netlink::addressable`] first).
pub(crate) fn link_message(link: &LinkRef) -> Result<LinkMessage, Error> {
    let mut msg = LinkMessage::default();
    match link {
        LinkRef::Index(index) => msg.header.index = *index,
        LinkRef::Name(name) => {
            AltName::new(name).map_err(|source| Error::Value {
                what: "link name",
                source,
            })?;
            let kind = if name.len() <= IfName::MAX_LEN {
                IFLA_IFNAME
            } else {
                IFLA_ALT_IFNAME
            };
            msg.attributes.push(string_attr(kind, name));
        }
    }
    Ok(msg)
}

/// A string attribute with its terminating NUL, as the kernel's
/// `NLA_NUL_STRING`/`NLA_STRING` policies take names, and as `ip` sends
/// them. Built from bytes, so a name need not be UTF-8.
pub(crate) fn string_attr(kind: u16, bytes: &[u8]) -> LinkAttribute {
    let mut value = bytes.to_vec();
    value.push(0);
    LinkAttribute::Other(DefaultNla::new(kind, value))
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

pub(crate) fn delete_link_request(link: &LinkRef) -> Result<RouteNetlinkMessage, Error> {
    Ok(RouteNetlinkMessage::DelLink(link_message(link)?))
}

pub(crate) fn new_link_request(name: &IfName, kind: &str) -> Result<RouteNetlinkMessage, Error> {
    if kind.is_empty() || kind.contains('\0') {
        return Err(Error::InvalidArgument {
            field: "link kind",
            value: kind.to_string(),
            expected: "a kernel link kind such as \"bridge\" or \"dummy\"",
        });
    }
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(string_attr(IFLA_IFNAME, name.as_bytes()));
    msg.attributes
        .push(LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(
            InfoKind::from(kind),
        )]));
    Ok(RouteNetlinkMessage::NewLink(msg))
}

pub(crate) fn new_veth_request(
    name: &IfName,
    peer: &IfName,
    peer_ns_fd: Option<i32>,
) -> RouteNetlinkMessage {
    let mut peer_msg = LinkMessage::default();
    peer_msg
        .attributes
        .push(string_attr(IFLA_IFNAME, peer.as_bytes()));
    if let Some(fd) = peer_ns_fd {
        peer_msg.attributes.push(LinkAttribute::NetNsFd(fd));
    }
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(string_attr(IFLA_IFNAME, name.as_bytes()));
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        NlLinkInfo::Kind(InfoKind::Veth),
        NlLinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer_msg))),
    ]));
    RouteNetlinkMessage::NewLink(msg)
}

pub(crate) fn altname_request(
    link: &LinkRef,
    altname: &AltName,
    add: bool,
) -> Result<RouteNetlinkMessage, Error> {
    let mut msg = link_message(link)?;
    msg.attributes
        .push(LinkAttribute::PropList(vec![Prop::Other(DefaultNla::new(
            IFLA_ALT_IFNAME,
            {
                let mut value = altname.as_bytes().to_vec();
                value.push(0);
                value
            },
        ))]));
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
        self.change_link(link, &LinkChange::new().up(true))
    }

    /// Sets the link administratively down.
    pub fn set_down(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        self.change_link(link, &LinkChange::new().up(false))
    }

    /// Sets the MTU.
    pub fn set_mtu(&self, link: impl Into<LinkRef>, mtu: u32) -> Result<(), Error> {
        self.change_link(link, &LinkChange::new().mtu(mtu))
    }

    /// Sets the MAC address. Zero and multicast addresses are refused
    /// before the kernel is asked.
    pub fn set_mac(&self, link: impl Into<LinkRef>, mac: MacAddr) -> Result<(), Error> {
        self.change_link(link, &LinkChange::new().mac(mac))
    }

    /// Renames the link (it must be down). Given a name rather than an
    /// index, this costs one extra round trip to look the index up: the
    /// request's name slot carries the new name.
    pub fn set_name(&self, link: impl Into<LinkRef>, new_name: &IfName) -> Result<(), Error> {
        let index = self.index_of(link)?;
        self.change_link(index, &LinkChange::new().name(*new_name))
    }

    /// Sets the alias; an empty alias removes it.
    pub fn set_alias(&self, link: impl Into<LinkRef>, alias: &Alias) -> Result<(), Error> {
        self.change_link(link, &LinkChange::new().alias(alias.clone()))
    }

    /// Makes the link a port of `controller` (a bond or bridge).
    pub fn set_controller(
        &self,
        link: impl Into<LinkRef>,
        controller: impl Into<LinkRef>,
    ) -> Result<(), Error> {
        let controller = self.index_of(controller)?;
        self.change_link(link, &LinkChange::new().controller(controller))
    }

    /// Releases the link from its controller.
    pub fn set_no_controller(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        self.change_link(link, &LinkChange::new().no_controller())
    }

    /// Deletes the link (for a veth, both ends go).
    pub fn delete_link(&self, link: impl Into<LinkRef>) -> Result<(), Error> {
        let named = link.into();
        let req = delete_link_request(&self.addressable(named.clone())?)?;
        self.request_ack(Op::on("delete link", &named), req, 0)
    }

    /// `link` as a request that changes it can name it: a name longer than
    /// `IFNAMSIZ` (an alternative name) becomes the link's index, one round
    /// trip more. Kernels resolve `IFLA_ALT_IFNAME` when reading a link
    /// since 5.5, but 5.10 does not when changing one (ENODEV).
    pub(crate) fn addressable(&self, link: LinkRef) -> Result<LinkRef, Error> {
        match &link {
            LinkRef::Name(name) if name.len() > IfName::MAX_LEN => {
                Ok(LinkRef::Index(self.index_of(link)?))
            }
            _ => Ok(link),
        }
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
        new_name: Option<&IfName>,
    ) -> Result<(), Error> {
        let link = link.into();
        let Some(new_name) = new_name else {
            let index = self.index_of(&link)?;
            return self.change_link(index, &LinkChange::new().namespace(target));
        };
        let change = LinkChange::new().namespace(target).name(*new_name);
        let what = change.to_string();
        let op = Op::on(&what, &link);
        let outcome = match &link {
            LinkRef::Index(index) => {
                let get_op = Op::on("get link", &link);
                self.request_one_then_ack(
                    (get_op, get_link_request(&link)?),
                    |m| parse_link(m).map_err(|d| get_op.decode_error(d)),
                    (op, change.request(&LinkRef::Index(*index))?, 0),
                )?
            }
            by_name => {
                let before = self.link(by_name)?;
                let req = change.request(&LinkRef::Index(before.index))?;
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
            .link(before.name)
            .ok()
            .filter(|found| found.mac == before.mac);
        let Some(found) = found else {
            return error;
        };
        let home = self.namespace();
        let op = Op::on("move link back after a failed rename", link);
        let move_back = |index: Option<i32>| {
            let mut req = LinkChange::new()
                .namespace(home)
                .request(&LinkRef::Index(found.index))?;
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
    pub fn add_altname(&self, link: impl Into<LinkRef>, altname: &AltName) -> Result<(), Error> {
        let link = link.into();
        let req = altname_request(&link, altname, true)?;
        self.request_ack(
            Op::on("add alternative name", &link),
            req,
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Removes an alternative name from the link.
    pub fn delete_altname(&self, link: impl Into<LinkRef>, altname: &AltName) -> Result<(), Error> {
        let link = link.into();
        let req = altname_request(&link, altname, false)?;
        self.request_ack(Op::on("delete alternative name", &link), req, 0)
    }

    /// Creates a veth pair `name` / `peer`, with the peer created directly
    /// in `peer_ns` when given. Both ends start down.
    pub fn add_veth(
        &self,
        name: &IfName,
        peer: &IfName,
        peer_ns: Option<&NetNs>,
    ) -> Result<(), Error> {
        let fd = peer_ns.map(|ns| ns.as_fd().as_raw_fd());
        let req = new_veth_request(name, peer, fd);
        let target = LinkRef::from(name);
        self.request_ack(
            Op::on("create veth pair", &target),
            req,
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates a link of a kind that needs no options, such as `"bridge"`
    /// or `"dummy"` (if the kernel has it). It starts down.
    pub fn add_link(&self, name: &IfName, kind: &str) -> Result<(), Error> {
        let req = new_link_request(name, kind)?;
        let target = LinkRef::from(name);
        let what = format!("create {kind} link");
        self.request_ack(Op::on(&what, &target), req, NLM_F_CREATE | NLM_F_EXCL)
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{decode_request, encode_request, split_messages};
    use netlink_packet_core::{NLM_F_ACK, NLM_F_DUMP};
    use netlink_packet_route::link::{
        InfoBond, InfoBondPort, InfoPortData, InfoPortKind, LinkFlags,
    };

    /// Encodes `msg`, checks that what netlink-packet-route decodes from the
    /// bytes encodes to the same bytes, and returns them.
    fn round_trip(msg: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
        let bytes = encode_request(msg, flags, 1);
        let (header, decoded) = decode_request(&bytes);
        assert_eq!(header.flags, netlink_packet_core::NLM_F_REQUEST | flags);
        assert_eq!(encode_request(decoded, flags, 1), bytes);
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

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
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
        let mut want = vec![(4 + long.len() + 1) as u8, 0, 53, 0];
        want.extend_from_slice(long.as_bytes());
        want.push(0);
        assert!(bytes.windows(want.len()).any(|w| w == want), "{bytes:?}");
        assert!(get_link_request(&LinkRef::from("a b")).is_err());
        assert!(get_link_request(&LinkRef::from("x".repeat(128))).is_err());
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
    fn veth_and_plain_link_creation_round_trip() {
        let req = new_veth_request(&name("va"), &name("vb"), Some(9));
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

        let req = new_link_request(&name("br0"), "bridge").unwrap();
        round_trip(req, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
        assert!(new_link_request(&name("br0"), "").is_err());
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
        let altname: AltName = "uplink-altname".parse().unwrap();
        for (add, kind) in [(true, 108), (false, 109)] {
            let req = altname_request(&LinkRef::Index(2), &altname, add).unwrap();
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

    fn decoded(msg: LinkMessage) -> Result<LinkInfo, String> {
        parse_link(&split_messages(&reply(msg)).unwrap()[0])
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
            LinkAttribute::ParentDevName("0000:01:10.2".into()),
            LinkAttribute::ParentDevBusName("pci".into()),
            LinkAttribute::LinkInfo(vec![
                NlLinkInfo::Kind(InfoKind::Veth),
                NlLinkInfo::PortKind(InfoPortKind::Bond),
            ]),
        ];
        let link = decoded(msg).unwrap();
        assert_eq!(link.index, 5);
        assert_eq!(link.name, "eth3");
        assert_eq!(link.mtu, 9000);
        assert_eq!(link.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        assert_eq!(link.permanent_mac, Some(MacAddr([2, 0, 0, 0, 0, 2])));
        assert_eq!(link.controller, Some(9));
        assert_eq!(link.oper_state, OperState::Up);
        assert_eq!(link.alias, Some(Alias::new("uplink").unwrap()));
        assert_eq!(link.num_vfs, Some(0));
        assert_eq!(link.alt_names, vec!["enp1s0f0".parse::<AltName>().unwrap()]);
        assert_eq!(link.kind.as_deref(), Some("veth"));
        assert_eq!(link.port_kind.as_deref(), Some("bond"));
        assert!(link.is_on_pci_device("0000:01:10.2"));
        assert!(!link.is_on_pci_device("0000:01:10.3"));
        assert!(link.is_up() && link.is_lower_up());
        assert!(link.vfs.is_empty());
        assert_eq!((link.bond, link.bond_port), (None, None));
    }

    #[test]
    fn names_and_aliases_that_are_not_utf8_are_read_as_bytes() {
        let mut msg = LinkMessage::default();
        msg.header.index = 8;
        msg.attributes = vec![
            LinkAttribute::Other(DefaultNla::new(IFLA_IFNAME, b"pod\xff\0".to_vec())),
            LinkAttribute::Other(DefaultNla::new(IFLA_IFALIAS, b"alias \xfe".to_vec())),
            LinkAttribute::PropList(vec![Prop::Other(DefaultNla::new(
                IFLA_ALT_IFNAME,
                b"alt\xfd\0".to_vec(),
            ))]),
        ];
        let link = decoded(msg).unwrap();
        assert_eq!(link.name.as_bytes(), b"pod\xff");
        assert_eq!(link.alias.unwrap().as_bytes(), b"alias \xfe");
        assert_eq!(link.alt_names[0].as_bytes(), b"alt\xfd");
    }

    #[test]
    fn attributes_no_one_knows_are_skipped() {
        let mut msg = LinkMessage::default();
        msg.header.index = 3;
        msg.attributes = vec![
            LinkAttribute::Other(DefaultNla::new(999, vec![1, 2, 3])),
            LinkAttribute::IfName("x".into()),
            LinkAttribute::LinkInfo(vec![NlLinkInfo::Kind(InfoKind::Other(
                "brand-new-kind".into(),
            ))]),
        ];
        let link = decoded(msg).unwrap();
        assert_eq!(link.name, "x");
        assert_eq!(link.kind.as_deref(), Some("brand-new-kind"));
    }

    #[test]
    fn bond_and_bond_port_data_are_read() {
        let mut bond = LinkMessage::default();
        bond.header.index = 10;
        bond.attributes = vec![
            LinkAttribute::IfName("bond0".into()),
            LinkAttribute::LinkInfo(vec![
                NlLinkInfo::Kind(InfoKind::Bond),
                NlLinkInfo::Data(InfoData::Bond(vec![
                    InfoBond::Mode(netlink_packet_route::link::BondMode::ActiveBackup),
                    InfoBond::ActivePort(11),
                    InfoBond::MiiMon(100),
                    InfoBond::UpDelay(200),
                    InfoBond::DownDelay(300),
                    InfoBond::Primary(11),
                    InfoBond::FailOverMac(netlink_packet_route::link::BondFailOverMac::Active),
                    InfoBond::XmitHashPolicy(
                        netlink_packet_route::link::BondXmitHashPolicy::Layer34,
                    ),
                    InfoBond::AllPortsActive(
                        netlink_packet_route::link::BondAllPortActive::Delivered,
                    ),
                    InfoBond::TlbDynamicLb(true),
                ])),
            ]),
        ];
        let data = decoded(bond).unwrap().bond.unwrap();
        assert_eq!(
            data,
            BondData {
                mode: Some(1),
                miimon: Some(100),
                updelay: Some(200),
                downdelay: Some(300),
                fail_over_mac: Some(1),
                xmit_hash_policy: Some(1),
                all_slaves_active: Some(1),
                tlb_dynamic_lb: Some(1),
                primary: Some(11),
                active_port: Some(11),
            }
        );

        let mut port = LinkMessage::default();
        port.header.index = 11;
        port.attributes = vec![
            LinkAttribute::IfName("net1".into()),
            LinkAttribute::LinkInfo(vec![
                NlLinkInfo::PortKind(InfoPortKind::Bond),
                NlLinkInfo::PortData(InfoPortData::BondPort(vec![
                    InfoBondPort::BondPortState(netlink_packet_route::link::BondPortState::Backup),
                    InfoBondPort::MiiStatus(netlink_packet_route::link::MiiStatus::Down),
                    InfoBondPort::LinkFailureCount(2),
                    InfoBondPort::PermHwaddr(vec![2, 0, 0, 0, 0, 7]),
                    InfoBondPort::QueueId(0),
                ])),
            ]),
        ];
        let data = decoded(port).unwrap().bond_port.unwrap();
        assert_eq!(
            data,
            BondPortData {
                state: Some(1),
                mii_status: Some(2),
                link_failure_count: Some(2),
                permanent_mac: Some(MacAddr([2, 0, 0, 0, 0, 7])),
                queue_id: Some(0),
            }
        );
    }

    #[test]
    fn rejects_messages_that_are_not_links() {
        let bytes = encode_request(RouteNetlinkMessage::GetLink(LinkMessage::default()), 0, 1);
        assert!(parse_link(&split_messages(&bytes).unwrap()[0]).is_err());
        let mut short = reply(LinkMessage::default());
        short.truncate(24);
        short[0] = 24;
        assert!(parse_link(&split_messages(&short).unwrap()[0]).is_err());
        // A link without a name cannot be told apart in a dump.
        assert!(decoded(LinkMessage::default()).is_err());
    }

    /// The link a move starts from: index 7, `eth3`, with a MAC.
    fn eth3(index: u32) -> LinkInfo {
        let mut link = LinkInfo::new(index, name("eth3"));
        link.mac = Some(MacAddr([2, 0, 0, 0, 0, 3]));
        link
    }

    #[test]
    fn a_half_done_move_that_cannot_be_undone_says_where_the_link_is() {
        use crate::testing::{Answer, FakeKernel, Request};
        use nix::errno::Errno;
        let kernel = FakeKernel::new();
        kernel
            // The read of the link and the move, in one round trip.
            .expect(Request::GetLink, Answer::link(eth3(7)))
            .expect(Request::SetLink, Answer::error(Errno::EEXIST, "name taken"))
            // Gone from here: the kernel moved it and failed to rename it.
            .expect(
                Request::GetLink,
                Answer::error(Errno::ENODEV, "no such device"),
            )
            // There under its old name, with its MAC.
            .expect(Request::GetLink, Answer::link(eth3(4)))
            // Moving it back fails, with its old index and without.
            .expect(Request::SetLink, Answer::error(Errno::EBUSY, "busy"))
            .expect(Request::SetLink, Answer::error(Errno::EBUSY, "busy"));
        let host = kernel.netlink();
        let pod = kernel.namespace("/run/netns/pod");
        let err = host.move_link(7, &pod, Some(&name("net1"))).unwrap_err();
        kernel.finish();
        let Error::MovedNotRenamed {
            name_now,
            index_now,
            error,
            move_back_error,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!((*name_now, *index_now), (name("eth3"), 4));
        assert_eq!(error.errno(), Some(Errno::EEXIST));
        assert_eq!(move_back_error.errno(), Some(Errno::EBUSY));
        assert_eq!(err.errno(), Some(Errno::EEXIST), "the move's errno");
        let text = err.to_string();
        assert!(
            text.contains("it is now eth3 (index 4) in that namespace"),
            "{text}"
        );
    }

    #[test]
    fn a_half_done_move_is_undone() {
        use crate::testing::{Answer, FakeKernel, Request};
        use nix::errno::Errno;
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::GetLink, Answer::link(eth3(7)))
            .expect(Request::SetLink, Answer::error(Errno::EEXIST, "name taken"))
            .expect(
                Request::GetLink,
                Answer::error(Errno::ENODEV, "no such device"),
            )
            .expect(Request::GetLink, Answer::link(eth3(4)))
            .expect(Request::SetLink, Answer::Ack);
        let host = kernel.netlink();
        let pod = kernel.namespace("/run/netns/pod");
        let err = host.move_link(7, &pod, Some(&name("net1"))).unwrap_err();
        kernel.finish();
        assert!(
            matches!(err, Error::Kernel { .. }),
            "the kernel's own error: {err:?}"
        );
        assert!(err.is_already_exists());
        // The move back asked for the link's old index.
        let back = &kernel.sent()[4].bytes;
        let new_ifindex = [8, 0, 49, 0, 7, 0, 0, 0];
        assert!(back.windows(8).any(|w| w == new_ifindex), "{back:?}");
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
