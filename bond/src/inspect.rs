//! A bond as the kernel reports it over netlink: its mode and options
//! (`IFLA_INFO_DATA`) and each port's bonding state (`IFLA_INFO_SLAVE_DATA`).

use std::fmt;

use netplumb_netns::raw::netlink_packet_route::link::{
    InfoBond, InfoBondPort, InfoData, InfoKind, InfoPortData, LinkAttribute, LinkFlags, LinkInfo,
    LinkMessage,
};
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
use netplumb_netns::{IfName, MacAddr, Netlink};

use crate::options::{FailOverMac, Mode, XmitHashPolicy};
use crate::{nl, Error};

/// What every link has: name, index, MAC, MTU, and whether it is up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkState {
    /// The link's name.
    pub name: String,
    /// Its interface index.
    pub index: u32,
    /// Its current MAC address.
    pub mac: Option<MacAddr>,
    /// Its MTU.
    pub mtu: u32,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Has carrier (`IFF_LOWER_UP`); for a bond, at least one usable port.
    pub lower_up: bool,
}

/// A bond and its ports, as the kernel reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondInfo {
    /// The bond itself.
    pub link: LinkState,
    /// The bonding mode.
    pub mode: Mode,
    /// Link monitoring interval in milliseconds (0: off).
    pub miimon: u32,
    /// Milliseconds a port's link must be up before it is used.
    pub updelay: u32,
    /// Milliseconds a port's link must be down before it is dropped.
    pub downdelay: u32,
    /// What happens to port MACs on failover.
    pub fail_over_mac: FailOverMac,
    /// How the hashing modes pick a port.
    pub xmit_hash_policy: XmitHashPolicy,
    /// Whether frames received on inactive ports are delivered.
    pub all_slaves_active: bool,
    /// Whether balance-tlb and balance-alb shuffle flows by load.
    pub tlb_dynamic_lb: bool,
    /// The preferred port, when one is set and enslaved.
    pub primary: Option<String>,
    /// The port carrying traffic, in modes with one (`IFLA_BOND_ACTIVE_SLAVE`).
    pub active_port: Option<String>,
    /// The ports, by interface index.
    pub ports: Vec<PortInfo>,
}

/// One port of a bond.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortInfo {
    /// The port itself.
    pub link: LinkState,
    /// Whether the bond uses it or holds it in reserve; `None` when the
    /// kernel did not say (`IFLA_BOND_SLAVE_STATE` missing).
    pub state: Option<PortState>,
    /// The bond's view of its link; `None` when the kernel did not say
    /// (`IFLA_BOND_SLAVE_MII_STATUS` missing).
    pub mii_status: Option<MiiStatus>,
    /// How often the bond saw its link fail.
    pub link_failure_count: u32,
    /// The MAC it had when it was enslaved, which the kernel puts back on
    /// release in most modes.
    pub permanent_mac: Option<MacAddr>,
}

/// A port's role in its bond (`IFLA_BOND_SLAVE_STATE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PortState {
    /// In use (0).
    Active,
    /// Held in reserve (1).
    Backup,
    /// A value this crate does not know.
    Other(u8),
}

/// A port's link as the bond sees it (`IFLA_BOND_SLAVE_MII_STATUS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MiiStatus {
    /// Up (0).
    Up,
    /// Down, waiting out `downdelay` before the bond stops using it (1).
    GoingDown,
    /// Down (2).
    Down,
    /// Up again, waiting out `updelay` before the bond uses it (3).
    GoingBack,
    /// A value this crate does not know.
    Other(u8),
}

impl fmt::Display for PortState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortState::Active => f.write_str("active"),
            PortState::Backup => f.write_str("backup"),
            PortState::Other(v) => write!(f, "state {v}"),
        }
    }
}

impl fmt::Display for MiiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MiiStatus::Up => f.write_str("up"),
            MiiStatus::GoingDown => f.write_str("going down"),
            MiiStatus::Down => f.write_str("down"),
            MiiStatus::GoingBack => f.write_str("going back"),
            MiiStatus::Other(v) => write!(f, "mii status {v}"),
        }
    }
}

impl From<u8> for PortState {
    fn from(v: u8) -> PortState {
        match v {
            0 => PortState::Active,
            1 => PortState::Backup,
            v => PortState::Other(v),
        }
    }
}

impl From<u8> for MiiStatus {
    fn from(v: u8) -> MiiStatus {
        match v {
            0 => MiiStatus::Up,
            1 => MiiStatus::GoingDown,
            2 => MiiStatus::Down,
            3 => MiiStatus::GoingBack,
            v => MiiStatus::Other(v),
        }
    }
}

/// Reads the bond `bond` and its ports in the namespace `netlink` is bound
/// to, in one round trip.
///
/// Fails with [`Error::NoSuchBond`] when there is no link of that name and
/// [`Error::NotABond`] when the link is something else.
pub fn inspect(netlink: &Netlink, bond: &IfName) -> Result<BondInfo, Error> {
    let links = dump(netlink, bond)?;
    bond_info(bond, &links)
}

/// Every link in the namespace, as netlink-packet-route decodes them.
fn dump(netlink: &Netlink, bond: &IfName) -> Result<Vec<LinkMessage>, Error> {
    let replies = netlink
        .raw_dump("dump links", nl::dump_links())
        .map_err(|e| Error::lookup(bond, netlink.namespace(), e))?;
    Ok(replies
        .into_iter()
        .filter_map(|m| match m {
            RouteNetlinkMessage::NewLink(link) => Some(link),
            _ => None,
        })
        .collect())
}

fn name_of(link: &LinkMessage) -> Option<&str> {
    link.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(name) => Some(name.as_str()),
        _ => None,
    })
}

fn infos_of(link: &LinkMessage) -> &[LinkInfo] {
    link.attributes
        .iter()
        .find_map(|a| match a {
            LinkAttribute::LinkInfo(infos) => Some(infos.as_slice()),
            _ => None,
        })
        .unwrap_or_default()
}

/// A link's [`LinkState`], and its controller's index.
fn state_of(link: &LinkMessage) -> (LinkState, Option<u32>) {
    let mut state = LinkState {
        name: name_of(link).unwrap_or_default().to_string(),
        index: link.header.index,
        mac: None,
        mtu: 0,
        up: link.header.flags.contains(LinkFlags::Up),
        lower_up: link.header.flags.contains(LinkFlags::LowerUp),
    };
    let mut controller = None;
    for attr in &link.attributes {
        match attr {
            LinkAttribute::Address(bytes) => state.mac = MacAddr::from_slice(bytes),
            LinkAttribute::Mtu(mtu) => state.mtu = *mtu,
            LinkAttribute::Controller(index) if *index != 0 => controller = Some(*index),
            _ => {}
        }
    }
    (state, controller)
}

/// Builds the [`BondInfo`] of `bond` from a dump of its namespace's links.
pub(crate) fn bond_info(bond: &IfName, links: &[LinkMessage]) -> Result<BondInfo, Error> {
    let decode = |detail: String| Error::Decode {
        bond: bond.clone(),
        detail,
    };
    let link = links
        .iter()
        .find(|l| name_of(l) == Some(bond.as_str()))
        .ok_or_else(|| Error::NoSuchBond { bond: bond.clone() })?;
    let infos = infos_of(link);
    let kind = infos.iter().find_map(|i| match i {
        LinkInfo::Kind(kind) => Some(kind),
        _ => None,
    });
    if kind != Some(&InfoKind::Bond) {
        return Err(Error::NotABond {
            bond: bond.clone(),
            kind: kind.map(|k| k.to_string()),
        });
    }
    let options = infos
        .iter()
        .find_map(|i| match i {
            LinkInfo::Data(InfoData::Bond(options)) => Some(options.as_slice()),
            _ => None,
        })
        .ok_or_else(|| decode("the bond has no IFLA_INFO_DATA".into()))?;

    let name_of_index = |index: u32| {
        links
            .iter()
            .find(|l| l.header.index == index)
            .and_then(name_of)
            .map(String::from)
            .ok_or_else(|| decode(format!("no link has the index {index} it names")))
    };
    let mut info = BondInfo {
        link: state_of(link).0,
        mode: Mode::BalanceRr,
        miimon: 0,
        updelay: 0,
        downdelay: 0,
        fail_over_mac: FailOverMac::None,
        xmit_hash_policy: XmitHashPolicy::Layer2,
        all_slaves_active: false,
        tlb_dynamic_lb: true,
        primary: None,
        active_port: None,
        ports: Vec::new(),
    };
    let mut saw_mode = false;
    for option in options {
        match option {
            InfoBond::Mode(mode) => {
                let n = u8::from(*mode);
                info.mode = Mode::from_number(n)
                    .ok_or_else(|| decode(format!("IFLA_BOND_MODE {n} is not a known mode")))?;
                saw_mode = true;
            }
            InfoBond::MiiMon(ms) => info.miimon = *ms,
            InfoBond::UpDelay(ms) => info.updelay = *ms,
            InfoBond::DownDelay(ms) => info.downdelay = *ms,
            InfoBond::FailOverMac(policy) => {
                let n = u8::from(*policy);
                info.fail_over_mac = FailOverMac::from_number(n).ok_or_else(|| {
                    decode(format!("IFLA_BOND_FAIL_OVER_MAC {n} is not a known policy"))
                })?;
            }
            InfoBond::XmitHashPolicy(policy) => {
                let n = u8::from(*policy);
                info.xmit_hash_policy = XmitHashPolicy::from_number(n).ok_or_else(|| {
                    decode(format!(
                        "IFLA_BOND_XMIT_HASH_POLICY {n} is not a known policy"
                    ))
                })?;
            }
            InfoBond::AllPortsActive(v) => info.all_slaves_active = u8::from(*v) != 0,
            InfoBond::TlbDynamicLb(on) => info.tlb_dynamic_lb = *on,
            InfoBond::Primary(index) => info.primary = Some(name_of_index(*index)?),
            InfoBond::ActivePort(index) => info.active_port = Some(name_of_index(*index)?),
            _ => {}
        }
    }
    if !saw_mode {
        return Err(decode("IFLA_INFO_DATA has no IFLA_BOND_MODE".into()));
    }

    for port in links {
        let (state, controller) = state_of(port);
        if controller != Some(info.link.index) {
            continue;
        }
        let data = infos_of(port)
            .iter()
            .find_map(|i| match i {
                LinkInfo::PortData(InfoPortData::BondPort(data)) => Some(data.as_slice()),
                _ => None,
            })
            .ok_or_else(|| decode(format!("port {} has no IFLA_INFO_SLAVE_DATA", state.name)))?;
        let mut p = PortInfo {
            link: state,
            state: None,
            mii_status: None,
            link_failure_count: 0,
            permanent_mac: None,
        };
        for attr in data {
            match attr {
                InfoBondPort::BondPortState(s) => p.state = Some(u8::from(*s).into()),
                InfoBondPort::MiiStatus(s) => p.mii_status = Some(u8::from(*s).into()),
                InfoBondPort::LinkFailureCount(n) => p.link_failure_count = *n,
                InfoBondPort::PermHwaddr(bytes) => p.permanent_mac = MacAddr::from_slice(bytes),
                _ => {}
            }
        }
        info.ports.push(p);
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_netns::raw::netlink_packet_core::{NetlinkMessage, NetlinkPayload};
    use netplumb_netns::raw::netlink_packet_route::link::{
        BondMode, BondPortState, InfoPortKind, MiiStatus as NlMiiStatus, State,
    };
    use proptest::prelude::*;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn link(
        index: u32,
        name: &str,
        flags: LinkFlags,
        mut attrs: Vec<LinkAttribute>,
    ) -> LinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = flags;
        m.attributes.push(LinkAttribute::IfName(name.into()));
        m.attributes.append(&mut attrs);
        m
    }

    fn bond_link(options: Vec<InfoBond>) -> LinkMessage {
        link(
            3,
            "bond0",
            LinkFlags::Up | LinkFlags::LowerUp,
            vec![
                LinkAttribute::Mtu(1500),
                LinkAttribute::Address(vec![2, 0, 0, 0, 0, 1]),
                LinkAttribute::LinkInfo(vec![
                    LinkInfo::Kind(InfoKind::Bond),
                    LinkInfo::Data(InfoData::Bond(options)),
                ]),
            ],
        )
    }

    fn port_link(index: u32, name: &str, state: BondPortState, mii: NlMiiStatus) -> LinkMessage {
        link(
            index,
            name,
            LinkFlags::Up,
            vec![
                LinkAttribute::Mtu(1500),
                LinkAttribute::Controller(3),
                LinkAttribute::OperState(State::Up),
                LinkAttribute::LinkInfo(vec![
                    LinkInfo::PortKind(InfoPortKind::Bond),
                    LinkInfo::PortData(InfoPortData::BondPort(vec![
                        InfoBondPort::BondPortState(state),
                        InfoBondPort::MiiStatus(mii),
                        InfoBondPort::LinkFailureCount(2),
                        InfoBondPort::PermHwaddr(vec![2, 0, 0, 0, 0, index as u8]),
                    ])),
                ]),
            ],
        )
    }

    #[test]
    fn options_ports_and_active_port_are_read() {
        let links = vec![
            link(1, "lo", LinkFlags::Up, vec![]),
            bond_link(vec![
                InfoBond::Mode(BondMode::ActiveBackup),
                InfoBond::ActivePort(8),
                InfoBond::MiiMon(100),
                InfoBond::UpDelay(200),
                InfoBond::Primary(8),
                InfoBond::TlbDynamicLb(true),
            ]),
            port_link(7, "net1", BondPortState::Backup, NlMiiStatus::Down),
            port_link(8, "net2", BondPortState::Active, NlMiiStatus::Up),
        ];
        let info = bond_info(&name("bond0"), &links).unwrap();
        assert_eq!(info.link.index, 3);
        assert_eq!(info.mode, Mode::ActiveBackup);
        assert_eq!((info.miimon, info.updelay, info.downdelay), (100, 200, 0));
        assert_eq!(info.active_port.as_deref(), Some("net2"));
        assert_eq!(info.primary.as_deref(), Some("net2"));
        assert!(info.link.up && info.link.lower_up);
        assert_eq!(info.link.mac, Some(MacAddr([2, 0, 0, 0, 0, 1])));
        let names: Vec<&str> = info.ports.iter().map(|p| p.link.name.as_str()).collect();
        assert_eq!(names, ["net1", "net2"]);
        assert_eq!(info.ports[0].state, Some(PortState::Backup));
        assert_eq!(info.ports[0].mii_status, Some(MiiStatus::Down));
        assert_eq!(info.ports[1].state, Some(PortState::Active));
        assert_eq!(info.ports[1].link_failure_count, 2);
        assert_eq!(
            info.ports[1].permanent_mac,
            Some(MacAddr([2, 0, 0, 0, 0, 8]))
        );
    }

    #[test]
    fn what_the_kernel_does_not_say_is_unknown() {
        let mut quiet = port_link(8, "net2", BondPortState::Active, NlMiiStatus::Up);
        for attr in &mut quiet.attributes {
            if let LinkAttribute::LinkInfo(infos) = attr {
                infos[1] = LinkInfo::PortData(InfoPortData::BondPort(vec![
                    InfoBondPort::LinkFailureCount(0),
                ]));
            }
        }
        let links = [
            bond_link(vec![InfoBond::Mode(BondMode::BalanceRr)]),
            port_link(7, "net1", BondPortState::Backup, NlMiiStatus::Down),
            quiet,
        ];
        let info = bond_info(&name("bond0"), &links).unwrap();
        let known: Vec<_> = info.ports.iter().map(|p| (p.state, p.mii_status)).collect();
        assert_eq!(
            known,
            [
                (Some(PortState::Backup), Some(MiiStatus::Down)),
                (None, None)
            ]
        );
        // A value the crate does not know is kept, not confused with none.
        assert_eq!(PortState::from(7), PortState::Other(7));
    }

    #[test]
    fn a_missing_or_foreign_link_is_told_apart() {
        let links = vec![link(
            3,
            "bond0",
            LinkFlags::empty(),
            vec![LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Veth,
            )])],
        )];
        match bond_info(&name("bond0"), &links) {
            Err(Error::NotABond { kind, .. }) => assert_eq!(kind.as_deref(), Some("veth")),
            other => panic!("{other:?}"),
        }
        match bond_info(&name("bond1"), &links) {
            Err(Error::NoSuchBond { bond }) => assert_eq!(bond, name("bond1")),
            other => panic!("{other:?}"),
        }
        let plain = vec![link(3, "bond0", LinkFlags::empty(), vec![])];
        assert!(matches!(
            bond_info(&name("bond0"), &plain),
            Err(Error::NotABond { kind: None, .. })
        ));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let err = bond_info(&name("bond0"), &[bond_link(vec![InfoBond::MiiMon(100)])]).unwrap_err();
        assert!(err.to_string().contains("no IFLA_BOND_MODE"), "{err}");
        let err = bond_info(
            &name("bond0"),
            &[bond_link(vec![InfoBond::Mode(BondMode::Other(9))])],
        )
        .unwrap_err();
        assert!(err.to_string().contains("IFLA_BOND_MODE 9"), "{err}");
        let err = bond_info(
            &name("bond0"),
            &[bond_link(vec![
                InfoBond::Mode(BondMode::ActiveBackup),
                InfoBond::ActivePort(42),
            ])],
        )
        .unwrap_err();
        assert!(err.to_string().contains("index 42"), "{err}");
        let mut bare_port = link(7, "net1", LinkFlags::Up, vec![LinkAttribute::Controller(3)]);
        bare_port.attributes.push(LinkAttribute::Mtu(1500));
        let err = bond_info(
            &name("bond0"),
            &[
                bond_link(vec![InfoBond::Mode(BondMode::BalanceRr)]),
                bare_port,
            ],
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("port net1 has no IFLA_INFO_SLAVE_DATA"),
            "{err}"
        );
    }

    /// The messages of a capture in `testdata/`, decoded as the client
    /// decodes a dump.
    fn captured(text: &str) -> Vec<LinkMessage> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|line| {
                let (index, hex) = line.split_once(' ').unwrap();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
                let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = msg.payload
                else {
                    panic!("line for {index} is not RTM_NEWLINK")
                };
                assert_eq!(link.header.index.to_string(), index);
                link
            })
            .collect()
    }

    fn mac_of(text: &str) -> Option<MacAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn a_captured_active_backup_bond_reads_as_built() {
        // BondConfig: active-backup, miimon 100, updelay 200,
        // fail_over_mac active, primary p0; ports p0 and p1 with their MACs.
        let links = captured(include_str!("../testdata/active-backup.hex"));
        let info = bond_info(&name("bond0"), &links).unwrap();
        assert_eq!((info.link.name.as_str(), info.link.index), ("bond0", 2));
        assert_eq!(info.mode, Mode::ActiveBackup);
        assert_eq!((info.miimon, info.updelay, info.downdelay), (100, 200, 0));
        assert_eq!(info.fail_over_mac, FailOverMac::Active);
        assert_eq!(info.xmit_hash_policy, XmitHashPolicy::Layer2);
        assert!(!info.all_slaves_active);
        assert!(info.tlb_dynamic_lb, "the kernel's default");
        assert_eq!(info.primary.as_deref(), Some("p0"));
        assert_eq!(info.active_port.as_deref(), Some("p0"));
        assert!(info.link.up && info.link.lower_up);
        assert_eq!(info.link.mtu, 1500);
        // fail_over_mac active: the bond wears the active port's MAC and
        // each port keeps its own.
        assert_eq!(info.link.mac, mac_of("02:00:00:b0:07:01"));
        let ports: Vec<_> = info
            .ports
            .iter()
            .map(|p| {
                (
                    p.link.name.as_str(),
                    p.link.index,
                    p.state,
                    p.mii_status,
                    p.link.mac,
                )
            })
            .collect();
        assert_eq!(
            ports,
            [
                (
                    "p0",
                    9,
                    Some(PortState::Active),
                    Some(MiiStatus::Up),
                    mac_of("02:00:00:b0:07:01")
                ),
                (
                    "p1",
                    16,
                    Some(PortState::Backup),
                    Some(MiiStatus::Up),
                    mac_of("02:00:00:b0:07:02")
                ),
            ]
        );
        for p in &info.ports {
            assert_eq!(p.permanent_mac, p.link.mac, "{p:?}");
            assert_eq!(p.link_failure_count, 0, "{p:?}");
            assert!(p.link.up && p.link.lower_up, "{p:?}");
        }
    }

    #[test]
    fn a_captured_balance_xor_bond_reads_as_built() {
        // BondConfig: balance-xor, miimon 100, xmit_hash_policy layer2+3,
        // all_slaves_active, mtu 1400.
        let links = captured(include_str!("../testdata/balance-xor.hex"));
        let info = bond_info(&name("bond0"), &links).unwrap();
        assert_eq!(info.link.index, 3);
        assert_eq!(info.mode, Mode::BalanceXor);
        assert_eq!(info.miimon, 100);
        assert_eq!(info.xmit_hash_policy, XmitHashPolicy::Layer23);
        assert!(info.all_slaves_active);
        assert_eq!(info.link.mtu, 1400);
        assert_eq!(info.active_port, None, "no active port in balance-xor");
        assert_eq!(info.primary, None);
        assert_eq!(info.ports.len(), 2);
        for p in &info.ports {
            // Every port wears the bond's MAC and MTU, and is in use.
            assert_eq!(p.link.mac, info.link.mac, "{p:?}");
            assert_eq!(p.link.mtu, 1400, "{p:?}");
            assert_eq!(p.state, Some(PortState::Active), "{p:?}");
            assert_eq!(p.mii_status, Some(MiiStatus::Up), "{p:?}");
        }
        // The kernel remembers each port's own MAC to give it back.
        let permanent: Vec<_> = info.ports.iter().map(|p| p.permanent_mac).collect();
        assert_eq!(
            permanent,
            [mac_of("02:00:00:b0:07:01"), mac_of("02:00:00:b0:07:02")]
        );
    }

    #[test]
    fn a_port_is_not_a_bond() {
        let links = captured(include_str!("../testdata/active-backup.hex"));
        match bond_info(&name("p0"), &links) {
            Err(Error::NotABond { kind: None, .. }) => {}
            other => panic!("igbvf ports have no kind: {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn numbers_map_to_states(v: u8) {
            match PortState::from(v) {
                PortState::Other(o) => prop_assert!(o == v && v > 1),
                s => prop_assert_eq!(s, if v == 0 { PortState::Active } else { PortState::Backup }),
            }
            if let MiiStatus::Other(o) = MiiStatus::from(v) {
                prop_assert!(o == v && v > 3);
            }
        }
    }
}
