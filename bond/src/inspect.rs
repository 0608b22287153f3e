//! A bond as the kernel reports it over netlink: its mode and options
//! (`IFLA_INFO_DATA`) and each port's bonding state (`IFLA_INFO_SLAVE_DATA`),
//! read by netns's one link decoder.

use std::fmt;

use netplumb_netns::{LinkInfo, Netlink};
use netplumb_types::{BondMode, FailOverMac, IfName, MacAddr, XmitHashPolicy};

use crate::Error;

/// A bond and its ports, as the kernel reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondInfo {
    /// The bond's link: name, index, MAC, MTU, flags
    /// ([`is_up`](LinkInfo::is_up), and [`is_lower_up`](LinkInfo::is_lower_up)
    /// while at least one port is usable).
    pub link: LinkInfo,
    /// The bonding mode.
    pub mode: BondMode,
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
    pub primary: Option<IfName>,
    /// The port carrying traffic, in modes with one (`IFLA_BOND_ACTIVE_SLAVE`).
    pub active_port: Option<IfName>,
    /// The ports, by interface index.
    pub ports: Vec<PortInfo>,
}

/// One port of a bond.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PortInfo {
    /// The port's link.
    pub link: LinkInfo,
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

impl BondInfo {
    /// A bond `link` in `mode` with every option at the kernel's default and
    /// no ports, as a test describes one to compare with.
    pub fn new(link: LinkInfo, mode: BondMode) -> BondInfo {
        BondInfo {
            link,
            mode,
            miimon: mode.default_miimon(),
            updelay: 0,
            downdelay: 0,
            fail_over_mac: FailOverMac::None,
            xmit_hash_policy: XmitHashPolicy::Layer2,
            all_slaves_active: false,
            tlb_dynamic_lb: true,
            primary: None,
            active_port: None,
            ports: Vec::new(),
        }
    }
}

impl PortInfo {
    /// A port `link` of which the kernel said nothing more.
    pub fn new(link: LinkInfo) -> PortInfo {
        PortInfo {
            link,
            state: None,
            mii_status: None,
            link_failure_count: 0,
            permanent_mac: None,
        }
    }
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
/// [`Error::NotABond`] when the link is something else. Links of the
/// namespace that are neither the bond nor its ports are not looked at
/// beyond their name and index.
pub fn inspect(netlink: &Netlink, bond: &IfName) -> Result<BondInfo, Error> {
    let links = netlink
        .links()
        .map_err(|e| Error::lookup(*bond, netlink.namespace(), e))?;
    bond_info(bond, &links)
}

/// Builds the [`BondInfo`] of `bond` from a dump of its namespace's links.
pub(crate) fn bond_info(bond: &IfName, links: &[LinkInfo]) -> Result<BondInfo, Error> {
    let decode = |detail: String| Error::Decode {
        bond: *bond,
        detail,
    };
    let link = links
        .iter()
        .find(|l| l.name == *bond)
        .ok_or(Error::NoSuchBond { bond: *bond })?;
    if link.kind.as_deref() != Some("bond") {
        return Err(Error::NotABond {
            bond: *bond,
            kind: link.kind.clone(),
        });
    }
    let data = link
        .bond
        .as_ref()
        .ok_or_else(|| decode("the bond has no IFLA_INFO_DATA".into()))?;

    let name_of_index = |index: u32| {
        links
            .iter()
            .find(|l| l.index == index)
            .map(|l| l.name)
            .ok_or_else(|| decode(format!("no link has the index {index} it names")))
    };
    let n = data
        .mode
        .ok_or_else(|| decode("IFLA_INFO_DATA has no IFLA_BOND_MODE".into()))?;
    let mode = BondMode::from_number(n)
        .ok_or_else(|| decode(format!("IFLA_BOND_MODE {n} is not a known mode")))?;
    // What the kernel leaves out has the kernel's default.
    let fail_over_mac = match data.fail_over_mac {
        Some(n) => FailOverMac::from_number(n)
            .ok_or_else(|| decode(format!("IFLA_BOND_FAIL_OVER_MAC {n} is not a known policy")))?,
        None => FailOverMac::None,
    };
    let xmit_hash_policy = match data.xmit_hash_policy {
        Some(n) => XmitHashPolicy::from_number(n).ok_or_else(|| {
            decode(format!(
                "IFLA_BOND_XMIT_HASH_POLICY {n} is not a known policy"
            ))
        })?,
        None => XmitHashPolicy::Layer2,
    };
    let mut info = BondInfo {
        link: link.clone(),
        mode,
        miimon: data.miimon.unwrap_or(0),
        updelay: data.updelay.unwrap_or(0),
        downdelay: data.downdelay.unwrap_or(0),
        fail_over_mac,
        xmit_hash_policy,
        all_slaves_active: data.all_slaves_active.is_some_and(|v| v != 0),
        tlb_dynamic_lb: data.tlb_dynamic_lb.is_none_or(|v| v != 0),
        primary: data.primary.map(name_of_index).transpose()?,
        active_port: data.active_port.map(name_of_index).transpose()?,
        ports: Vec::new(),
    };

    for port in links.iter().filter(|l| l.controller == Some(link.index)) {
        let data = port
            .bond_port
            .as_ref()
            .ok_or_else(|| decode(format!("port {} has no IFLA_INFO_SLAVE_DATA", port.name)))?;
        info.ports.push(PortInfo {
            link: port.clone(),
            state: data.state.map(PortState::from),
            mii_status: data.mii_status.map(MiiStatus::from),
            link_failure_count: data.link_failure_count.unwrap_or(0),
            permanent_mac: data.permanent_mac,
        });
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_netns::testing::{Answer, FakeKernel, Request};
    use netplumb_netns::{BondData, BondPortData};
    use proptest::prelude::*;

    /// `IFF_UP` and `IFF_LOWER_UP`.
    const UP: u32 = 0x1;
    const LOWER_UP: u32 = 0x1_0000;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn mac(text: &str) -> Option<MacAddr> {
        Some(text.parse().unwrap())
    }

    /// A link as netns reports it: `index`, `name`, `flags`, MTU 1500.
    fn link(index: u32, name: &str, flags: u32) -> LinkInfo {
        let mut l = LinkInfo::new(index, name.parse().unwrap());
        l.flags = flags;
        l
    }

    fn bond_data(mode: u8) -> BondData {
        let mut data = BondData::default();
        data.mode = Some(mode);
        data
    }

    /// bond0 at index 3, up with carrier, MAC 02:00:00:00:00:01.
    fn bond_link(data: BondData) -> LinkInfo {
        let mut l = link(3, "bond0", UP | LOWER_UP);
        l.mac = mac("02:00:00:00:00:01");
        l.kind = Some("bond".into());
        l.bond = Some(data);
        l
    }

    fn port_data(state: u8, mii_status: u8, failures: u32, permanent: u8) -> BondPortData {
        let mut data = BondPortData::default();
        data.state = Some(state);
        data.mii_status = Some(mii_status);
        data.link_failure_count = Some(failures);
        data.permanent_mac = Some(MacAddr([2, 0, 0, 0, 0, permanent]));
        data
    }

    /// A port of bond `controller`, up, with `data`.
    fn port_link(index: u32, name: &str, controller: u32, data: BondPortData) -> LinkInfo {
        let mut l = link(index, name, UP);
        l.controller = Some(controller);
        l.port_kind = Some("bond".into());
        l.bond_port = Some(data);
        l
    }

    #[test]
    fn options_ports_and_active_port_are_read() {
        let mut data = bond_data(1);
        data.active_port = Some(8);
        data.miimon = Some(100);
        data.updelay = Some(200);
        data.primary = Some(8);
        data.tlb_dynamic_lb = Some(1);
        let links = vec![
            link(1, "lo", UP),
            bond_link(data),
            port_link(7, "net1", 3, port_data(1, 2, 2, 7)),
            port_link(8, "net2", 3, port_data(0, 0, 2, 8)),
        ];
        let info = bond_info(&name("bond0"), &links).unwrap();
        assert_eq!(info.link, links[1]);
        assert_eq!(info.mode, BondMode::ActiveBackup);
        assert_eq!((info.miimon, info.updelay, info.downdelay), (100, 200, 0));
        assert_eq!(info.active_port, Some(name("net2")));
        assert_eq!(info.primary, Some(name("net2")));
        assert!(info.link.is_up() && info.link.is_lower_up());
        let names: Vec<IfName> = info.ports.iter().map(|p| p.link.name).collect();
        assert_eq!(names, [name("net1"), name("net2")]);
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
    fn what_the_kernel_does_not_say_is_the_kernels_default_or_unknown() {
        let links = [
            bond_link(bond_data(0)),
            port_link(7, "net1", 3, port_data(1, 2, 0, 7)),
            port_link(8, "net2", 3, BondPortData::default()),
        ];
        let info = bond_info(&name("bond0"), &links).unwrap();
        assert_eq!(info.mode, BondMode::BalanceRr);
        assert_eq!(
            (info.fail_over_mac, info.xmit_hash_policy),
            (FailOverMac::None, XmitHashPolicy::Layer2)
        );
        assert!(!info.all_slaves_active && info.tlb_dynamic_lb);
        assert_eq!((info.primary, info.active_port), (None, None));
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
    fn other_links_of_any_name_or_kind_do_not_matter() {
        let mut odd = link(4, "x", 0);
        odd.name = IfName::new(b"pod\xff").unwrap();
        odd.kind = Some("brand-new-kind".into());
        let mut data = bond_data(1);
        data.active_port = Some(5);
        let mut port = port_link(5, "p", 3, port_data(0, 0, 0, 5));
        port.name = IfName::new(b"p\xfe").unwrap();
        let links = [odd, bond_link(data), port];
        let info = bond_info(&name("bond0"), &links).unwrap();
        assert_eq!(info.active_port, Some(IfName::new(b"p\xfe").unwrap()));
        assert_eq!(info.ports.len(), 1);
        // A bond whose own name is not UTF-8 is found too.
        let mut bond = bond_link(bond_data(0));
        bond.name = IfName::new(b"b\xff").unwrap();
        assert!(bond_info(&bond.name.clone(), &[bond]).is_ok());
    }

    #[test]
    fn a_missing_or_foreign_link_is_told_apart() {
        let mut veth = link(3, "bond0", 0);
        veth.kind = Some("veth".into());
        let links = vec![veth];
        match bond_info(&name("bond0"), &links) {
            Err(Error::NotABond { kind, .. }) => assert_eq!(kind.as_deref(), Some("veth")),
            other => panic!("{other:?}"),
        }
        match bond_info(&name("bond1"), &links) {
            Err(Error::NoSuchBond { bond }) => assert_eq!(bond, name("bond1")),
            other => panic!("{other:?}"),
        }
        let plain = vec![link(3, "bond0", 0)];
        assert!(matches!(
            bond_info(&name("bond0"), &plain),
            Err(Error::NotABond { kind: None, .. })
        ));
    }

    #[test]
    fn what_cannot_be_read_is_named() {
        let mut no_data = bond_link(BondData::default());
        no_data.bond = None;
        let err = bond_info(&name("bond0"), &[no_data]).unwrap_err();
        assert!(err.to_string().contains("no IFLA_INFO_DATA"), "{err}");
        let err = bond_info(&name("bond0"), &[bond_link(BondData::default())]).unwrap_err();
        assert!(err.to_string().contains("no IFLA_BOND_MODE"), "{err}");
        let err = bond_info(&name("bond0"), &[bond_link(bond_data(9))]).unwrap_err();
        assert!(err.to_string().contains("IFLA_BOND_MODE 9"), "{err}");
        let mut data = bond_data(1);
        data.fail_over_mac = Some(3);
        let err = bond_info(&name("bond0"), &[bond_link(data)]).unwrap_err();
        assert!(
            err.to_string().contains("IFLA_BOND_FAIL_OVER_MAC 3"),
            "{err}"
        );
        let mut data = bond_data(1);
        data.active_port = Some(42);
        let err = bond_info(&name("bond0"), &[bond_link(data)]).unwrap_err();
        assert!(err.to_string().contains("index 42"), "{err}");
        let mut bare_port = link(7, "net1", UP);
        bare_port.controller = Some(3);
        let err = bond_info(&name("bond0"), &[bond_link(bond_data(0)), bare_port]).unwrap_err();
        assert!(
            err.to_string()
                .contains("port net1 has no IFLA_INFO_SLAVE_DATA"),
            "{err}"
        );
    }

    /// What `inspect` makes of `bond` in a namespace whose links are the
    /// lab kernel's (Debian 6.12) replies in `capture`, a `testdata/*.hex`
    /// (after `#` comments, a line per link: its ifindex, then a whole
    /// `RTM_NEWLINK` in hex), played back as a fake kernel's dump.
    fn inspect_captured(capture: &str, bond: &str) -> Result<BondInfo, Error> {
        let replies = capture
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| {
                let (_, hex) = line.split_once(' ').expect("an ifindex, then the reply");
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect()
            })
            .collect();
        let kernel = FakeKernel::new();
        kernel.expect(Request::DumpLinks, Answer::Raw(replies));
        let info = inspect(&kernel.netlink(), &name(bond));
        kernel.finish();
        info
    }

    /// A bond built with active-backup, miimon 100, updelay 200,
    /// fail_over_mac active and primary p0, over two igbvf ports with
    /// their own MACs.
    const ACTIVE_BACKUP: &str = include_str!("../testdata/active-backup.hex");

    /// Balance-xor, miimon 100, xmit_hash_policy layer2+3,
    /// all_slaves_active, MTU 1400; both ports wear the bond's MAC.
    const BALANCE_XOR: &str = include_str!("../testdata/balance-xor.hex");

    #[test]
    fn a_reported_active_backup_bond_reads_as_built() {
        let info = inspect_captured(ACTIVE_BACKUP, "bond0").unwrap();
        assert_eq!((info.link.name, info.link.index), (name("bond0"), 2));
        assert_eq!(info.mode, BondMode::ActiveBackup);
        assert_eq!((info.miimon, info.updelay, info.downdelay), (100, 200, 0));
        assert_eq!(info.fail_over_mac, FailOverMac::Active);
        assert_eq!(info.xmit_hash_policy, XmitHashPolicy::Layer2);
        assert!(!info.all_slaves_active);
        assert!(info.tlb_dynamic_lb, "the kernel's default");
        assert_eq!(info.primary, Some(name("p0")));
        assert_eq!(info.active_port, Some(name("p0")));
        assert!(info.link.is_up() && info.link.is_lower_up());
        assert_eq!(info.link.mtu, 1500);
        // fail_over_mac active: the bond wears the active port's MAC and
        // each port keeps its own.
        assert_eq!(info.link.mac, mac("02:00:00:b0:07:01"));
        let ports: Vec<_> = info
            .ports
            .iter()
            .map(|p| (p.link.name, p.link.index, p.state, p.mii_status, p.link.mac))
            .collect();
        assert_eq!(
            ports,
            [
                (
                    name("p0"),
                    9,
                    Some(PortState::Active),
                    Some(MiiStatus::Up),
                    mac("02:00:00:b0:07:01")
                ),
                (
                    name("p1"),
                    16,
                    Some(PortState::Backup),
                    Some(MiiStatus::Up),
                    mac("02:00:00:b0:07:02")
                ),
            ]
        );
        for p in &info.ports {
            assert_eq!(p.permanent_mac, p.link.mac, "{p:?}");
            assert_eq!(p.link_failure_count, 0, "{p:?}");
            assert!(p.link.is_up() && p.link.is_lower_up(), "{p:?}");
        }
    }

    #[test]
    fn a_reported_balance_xor_bond_reads_as_built() {
        let info = inspect_captured(BALANCE_XOR, "bond0").unwrap();
        assert_eq!(info.link.index, 3);
        assert_eq!(info.mode, BondMode::BalanceXor);
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
            [mac("02:00:00:b0:07:01"), mac("02:00:00:b0:07:02")]
        );
    }

    #[test]
    fn a_port_is_not_a_bond() {
        match inspect_captured(ACTIVE_BACKUP, "p0") {
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
