//! What a bond should look like, checked against its ports before anything
//! in the kernel changes.

use std::fmt;

use netplumb_netns::{IfName, MacAddr};

use crate::options::{FailOverMac, Mode, XmitHashPolicy};
use crate::Error;

/// `ETH_MIN_MTU`: the smallest MTU an Ethernet device, bonds included, takes.
const MIN_MTU: u32 = 68;
/// The bonding driver's `max_mtu`.
pub(crate) const MAX_MTU: u32 = 65535;
/// `ETH_DATA_LEN`: the MTU a new bond gets when none is asked for.
const DEFAULT_MTU: u32 = 1500;
/// The kernel keeps `miimon`, `updelay` and `downdelay` in an `int`.
const MAX_MS: u32 = i32::MAX as u32;

/// A bond's settings: its name, mode and options.
///
/// Options left unset keep the kernel's defaults. Build one with
/// [`BondConfig::new`] and the setters, then [`BondConfig::check`] it
/// against the ports before creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondConfig {
    /// The bond's interface name.
    pub name: IfName,
    /// The bonding mode.
    pub mode: Mode,
    /// Link monitoring interval in milliseconds; `Some(0)` turns it off.
    /// Unset, the kernel's default applies ([`BondConfig::effective_miimon`]).
    pub miimon: Option<u32>,
    /// Milliseconds a port's link must be up before it is used.
    pub updelay: Option<u32>,
    /// Milliseconds a port's link must be down before it is dropped.
    pub downdelay: Option<u32>,
    /// What happens to port MACs on failover.
    pub fail_over_mac: Option<FailOverMac>,
    /// How the hashing modes pick a port.
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    /// Deliver frames received on inactive ports too.
    pub all_slaves_active: Option<bool>,
    /// Shuffle flows between ports by load (balance-tlb, balance-alb).
    pub tlb_dynamic_lb: Option<bool>,
    /// The port preferred as active whenever its link is up.
    pub primary: Option<IfName>,
    /// The bond's MTU; the kernel sets it on every port as it is enslaved.
    /// Unset, the bond takes its ports' smallest ([`BondConfig::bond_mtu`]).
    pub mtu: Option<u32>,
    /// The bond's MAC address; without one the bond takes its first port's.
    pub mac: Option<MacAddr>,
}

/// What the caller knows of one port before the bond is built.
///
/// The bond crate does not look at sysfs: whether a port is an SR-IOV VF is
/// the caller's knowledge (sysfs does not follow a pod's namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortFacts {
    /// The port's interface name.
    pub name: IfName,
    /// The port's current MTU.
    pub mtu: u32,
    /// Whether the port is an SR-IOV virtual function.
    pub is_vf: bool,
}

/// Something legal that probably does not do what was meant.
///
/// [`BondConfig::check`] returns these for the caller to log; none of them
/// stops the bond from being built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// Every mode but active-backup puts a MAC other than a port's own on
    /// it: the bond's (balance-rr, balance-xor, broadcast, 802.3ad) or one
    /// the bond picks (balance-tlb, balance-alb). A VF only takes a MAC
    /// other than its own, and sends with it, when its trust is on.
    VfsNeedTrust {
        /// The bond's mode.
        mode: Mode,
        /// The ports that are VFs.
        ports: Vec<IfName>,
    },
    /// In active-backup with `fail_over_mac` other than `active`, the kernel
    /// sets the bond's MAC on every port, which a VF without trust refuses.
    ActiveBackupVfsNeedFailOverMacActive {
        /// The ports that are VFs.
        ports: Vec<IfName>,
    },
    /// Neither `miimon` nor ARP monitoring is on: a port that loses its
    /// link is never noticed, so nothing fails over.
    NoLinkMonitoring,
    /// In active-backup with `fail_over_mac` `active` the bond always wears
    /// its active port's MAC, so the configured `mac` does not last.
    MacOverriddenByActivePort {
        /// The configured MAC.
        mac: MacAddr,
    },
    /// `xmit_hash_policy` only matters in the hashing modes.
    XmitHashPolicyUnused {
        /// The bond's mode.
        mode: Mode,
    },
    /// `fail_over_mac` only matters in active-backup.
    FailOverMacUnused {
        /// The bond's mode.
        mode: Mode,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::VfsNeedTrust { mode, ports } => write!(
                f,
                "{mode} puts MACs other than their own on its ports: the VFs among them \
                 ({}) need trust on, or they refuse those MACs and drop frames sent with them",
                joined(ports)
            ),
            Warning::ActiveBackupVfsNeedFailOverMacActive { ports } => write!(
                f,
                "active-backup over VFs ({}) needs fail_over_mac active; otherwise the \
                 kernel puts one MAC on every port, which a VF without trust refuses",
                joined(ports)
            ),
            Warning::NoLinkMonitoring => f.write_str(
                "miimon is off: link failures of ports go unnoticed and nothing fails over",
            ),
            Warning::MacOverriddenByActivePort { mac } => write!(
                f,
                "mac {mac} does not last: with fail_over_mac active the bond takes the MAC \
                 of its active port"
            ),
            Warning::XmitHashPolicyUnused { mode } => {
                write!(f, "xmit_hash_policy has no effect in mode {mode}")
            }
            Warning::FailOverMacUnused { mode } => {
                write!(f, "fail_over_mac has no effect in mode {mode}")
            }
        }
    }
}

impl BondConfig {
    /// A bond named `name` in `mode`, every option at the kernel's default.
    ///
    /// Names are [`IfName`]s, parsed where they come in (`"bond0".parse()?`),
    /// so a name the kernel would refuse is refused there, with the rule it
    /// breaks, before any bond is described.
    pub fn new(name: IfName, mode: Mode) -> BondConfig {
        BondConfig {
            name,
            mode,
            miimon: None,
            updelay: None,
            downdelay: None,
            fail_over_mac: None,
            xmit_hash_policy: None,
            all_slaves_active: None,
            tlb_dynamic_lb: None,
            primary: None,
            mtu: None,
            mac: None,
        }
    }

    /// Link monitoring interval in milliseconds (0 turns it off), at most
    /// `i32::MAX`.
    pub fn miimon(mut self, ms: u32) -> Self {
        self.miimon = Some(ms);
        self
    }

    /// Milliseconds a port's link must be up before it is used; a multiple of `miimon`.
    pub fn updelay(mut self, ms: u32) -> Self {
        self.updelay = Some(ms);
        self
    }

    /// Milliseconds a port's link must be down before it is dropped; a multiple of `miimon`.
    pub fn downdelay(mut self, ms: u32) -> Self {
        self.downdelay = Some(ms);
        self
    }

    /// What happens to port MACs on failover.
    pub fn fail_over_mac(mut self, policy: FailOverMac) -> Self {
        self.fail_over_mac = Some(policy);
        self
    }

    /// How the hashing modes pick a port.
    pub fn xmit_hash_policy(mut self, policy: XmitHashPolicy) -> Self {
        self.xmit_hash_policy = Some(policy);
        self
    }

    /// Deliver frames received on inactive ports too.
    pub fn all_slaves_active(mut self, on: bool) -> Self {
        self.all_slaves_active = Some(on);
        self
    }

    /// Shuffle flows between ports by load (balance-tlb and balance-alb only).
    pub fn tlb_dynamic_lb(mut self, on: bool) -> Self {
        self.tlb_dynamic_lb = Some(on);
        self
    }

    /// The port preferred as active whenever its link is up
    /// (active-backup, balance-tlb and balance-alb only).
    pub fn primary(mut self, port: IfName) -> Self {
        self.primary = Some(port);
        self
    }

    /// The bond's MTU; the kernel sets it on every port as it is enslaved,
    /// so it may not be larger than any port's.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// The bond's MAC address; without one the bond takes its first port's.
    pub fn mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    /// The link monitoring interval the bond will have: `miimon` when set,
    /// else the kernel's default for the mode. Setting 802.3ad, balance-tlb
    /// or balance-alb turns MII monitoring on at 100 ms when it is off (those
    /// modes cannot monitor by ARP); the other modes leave it off.
    pub fn effective_miimon(&self) -> u32 {
        self.miimon.unwrap_or(self.mode.default_miimon())
    }

    /// The MTU the bond is created with: `mtu` when set, else the smallest
    /// of the ports' MTUs. The kernel gives every port the bond's MTU as it
    /// enslaves it, and a bond starts at 1500: taking the ports' own keeps
    /// their MTUs (ports with a larger one come down to the smallest).
    /// Without ports, the kernel's default of 1500.
    pub fn bond_mtu(&self, ports: &[PortFacts]) -> u32 {
        self.mtu
            .or_else(|| ports.iter().map(|p| p.mtu).min())
            .unwrap_or(DEFAULT_MTU)
    }

    /// Checks the settings and the ports against each other and against
    /// what the kernel accepts, before anything is changed.
    ///
    /// Ports are enslaved in the order given. Returns the [`Warning`]s for
    /// settings that are legal but probably not what was meant.
    pub fn check(&self, ports: &[PortFacts]) -> Result<Vec<Warning>, Error> {
        let invalid = |reason: String| Error::InvalidConfig {
            bond: self.name.clone(),
            reason,
        };

        if ports.len() < 2 {
            return Err(invalid(format!(
                "a bond needs at least two ports, {} given",
                ports.len()
            )));
        }
        for (i, port) in ports.iter().enumerate() {
            if port.name == self.name {
                return Err(invalid(format!(
                    "port {:?} has the bond's own name",
                    port.name
                )));
            }
            if ports[..i].iter().any(|p| p.name == port.name) {
                return Err(invalid(format!("port {:?} is listed twice", port.name)));
            }
        }

        let timings = [
            ("miimon", self.miimon),
            ("updelay", self.updelay),
            ("downdelay", self.downdelay),
        ];
        for (option, value) in timings {
            if let Some(v) = value.filter(|&v| v > MAX_MS) {
                return Err(invalid(format!(
                    "{option} {v} is out of range, expected 0-{MAX_MS} milliseconds"
                )));
            }
        }
        let miimon = self.effective_miimon();
        for (option, value) in [("updelay", self.updelay), ("downdelay", self.downdelay)] {
            match value {
                Some(v) if v > 0 && miimon == 0 => {
                    return Err(invalid(format!(
                        "{option} {v} needs miimon: the kernel only delays link changes it monitors"
                    )));
                }
                Some(v) if miimon > 0 && v % miimon != 0 => {
                    return Err(invalid(format!(
                        "{option} {v} is not a multiple of miimon {miimon}; \
                         the kernel would round it down to {}",
                        v / miimon * miimon
                    )));
                }
                _ => {}
            }
        }

        if let Some(primary) = &self.primary {
            if !self.mode.supports_primary() {
                return Err(invalid(format!(
                    "primary is only accepted in active-backup, balance-tlb and balance-alb, \
                     not in {}",
                    self.mode
                )));
            }
            if !ports.iter().any(|p| &p.name == primary) {
                let names: Vec<IfName> = ports.iter().map(|p| p.name.clone()).collect();
                return Err(invalid(format!(
                    "primary {primary:?} is not one of the ports ({})",
                    joined(&names)
                )));
            }
        }
        if self.tlb_dynamic_lb.is_some() && !self.mode.supports_tlb_dynamic_lb() {
            return Err(invalid(format!(
                "tlb_dynamic_lb is only accepted in balance-tlb and balance-alb, not in {}",
                self.mode
            )));
        }

        if let Some(mtu) = self.mtu {
            if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
                return Err(invalid(format!(
                    "mtu {mtu} is out of range, expected {MIN_MTU}-{MAX_MTU}"
                )));
            }
            if let Some(port) = ports.iter().find(|p| p.mtu < mtu) {
                return Err(invalid(format!(
                    "mtu {mtu} is larger than port {:?}'s mtu {}",
                    port.name, port.mtu
                )));
            }
        }
        if let Some(mac) = self.mac {
            if !mac.is_valid_unicast() {
                return Err(invalid(format!(
                    "mac {mac} is not a unicast address; the first octet must be even \
                     and the address not all zeros"
                )));
            }
        }

        Ok(self.warnings(ports))
    }

    fn warnings(&self, ports: &[PortFacts]) -> Vec<Warning> {
        let vfs: Vec<IfName> = ports
            .iter()
            .filter(|p| p.is_vf)
            .map(|p| p.name.clone())
            .collect();
        let mut warnings = Vec::new();
        let fail_over_mac_active = self.fail_over_mac == Some(FailOverMac::Active);
        if !vfs.is_empty() {
            if self.mode != Mode::ActiveBackup {
                warnings.push(Warning::VfsNeedTrust {
                    mode: self.mode,
                    ports: vfs,
                });
            } else if !fail_over_mac_active {
                warnings.push(Warning::ActiveBackupVfsNeedFailOverMacActive { ports: vfs });
            }
        }
        if self.effective_miimon() == 0 {
            warnings.push(Warning::NoLinkMonitoring);
        }
        if let Some(mac) = self.mac {
            if self.mode == Mode::ActiveBackup && fail_over_mac_active {
                warnings.push(Warning::MacOverriddenByActivePort { mac });
            }
        }
        if self.xmit_hash_policy.is_some() && !self.mode.uses_xmit_hash_policy() {
            warnings.push(Warning::XmitHashPolicyUnused { mode: self.mode });
        }
        if self.fail_over_mac.is_some_and(|p| p != FailOverMac::None)
            && self.mode != Mode::ActiveBackup
        {
            warnings.push(Warning::FailOverMacUnused { mode: self.mode });
        }
        warnings
    }
}

/// `names` as people list them: `net1, net2`.
pub(crate) fn joined(names: &[IfName]) -> String {
    let names: Vec<&str> = names.iter().map(IfName::as_str).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn port(text: &str, mtu: u32, is_vf: bool) -> PortFacts {
        PortFacts {
            name: name(text),
            mtu,
            is_vf,
        }
    }

    fn vf(text: &str) -> PortFacts {
        port(text, 1500, true)
    }

    fn two_vfs() -> [PortFacts; 2] {
        [vf("net1"), vf("net2")]
    }

    fn bond(mode: Mode) -> BondConfig {
        BondConfig::new(name("bond0"), mode)
    }

    fn reason(err: Error) -> String {
        err.to_string()
    }

    #[test]
    fn the_openshift_active_backup_bond_passes_without_warnings() {
        let cfg = bond(Mode::ActiveBackup)
            .miimon(100)
            .fail_over_mac(FailOverMac::Active)
            .mtu(1500);
        assert_eq!(cfg.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn fewer_than_two_ports_is_refused() {
        let cfg = bond(Mode::ActiveBackup).miimon(100);
        let err = reason(cfg.check(&[vf("net1")]).unwrap_err());
        assert!(
            err.contains("bond0") && err.contains("at least two ports, 1 given"),
            "{err}"
        );
        assert!(cfg.check(&[]).is_err());
    }

    #[test]
    fn duplicate_and_self_named_ports_are_refused() {
        let cfg = bond(Mode::BalanceRr).miimon(100);
        let err = reason(cfg.check(&[vf("net1"), vf("net1")]).unwrap_err());
        assert!(err.contains("\"net1\" is listed twice"), "{err}");
        let err = reason(cfg.check(&[vf("net1"), vf("bond0")]).unwrap_err());
        assert!(err.contains("bond's own name"), "{err}");
    }

    #[test]
    fn delays_need_miimon_and_must_be_its_multiples() {
        let err = reason(
            bond(Mode::ActiveBackup)
                .updelay(200)
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(err.contains("updelay 200 needs miimon"), "{err}");
        let err = reason(
            bond(Mode::ActiveBackup)
                .miimon(100)
                .downdelay(150)
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(
            err.contains("downdelay 150 is not a multiple of miimon 100"),
            "{err}"
        );
        assert!(err.contains("round it down to 100"), "{err}");
        let ok = bond(Mode::ActiveBackup)
            .miimon(100)
            .updelay(200)
            .downdelay(0)
            .fail_over_mac(FailOverMac::Active);
        assert_eq!(ok.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn primary_only_in_modes_that_take_it_and_only_a_port() {
        let err = reason(
            bond(Mode::BalanceXor)
                .miimon(100)
                .primary(name("net1"))
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(
            err.contains("primary is only accepted") && err.contains("balance-xor"),
            "{err}"
        );
        let err = reason(
            bond(Mode::ActiveBackup)
                .miimon(100)
                .primary(name("net9"))
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(
            err.contains("\"net9\" is not one of the ports (net1, net2)"),
            "{err}"
        );
        for mode in [Mode::ActiveBackup, Mode::BalanceTlb, Mode::BalanceAlb] {
            let cfg = bond(mode).miimon(100).primary(name("net2"));
            assert!(cfg.check(&two_vfs()).is_ok(), "{mode}");
        }
    }

    #[test]
    fn tlb_dynamic_lb_only_in_tlb_and_alb() {
        for mode in Mode::ALL {
            let res = bond(mode)
                .miimon(100)
                .tlb_dynamic_lb(false)
                .check(&two_vfs());
            assert_eq!(
                res.is_ok(),
                mode.supports_tlb_dynamic_lb(),
                "{mode}: {res:?}"
            );
        }
    }

    #[test]
    fn mtu_must_fit_every_port_and_the_kernel_range() {
        let ports = [vf("net1"), port("net2", 1400, true)];
        let err = reason(
            bond(Mode::BalanceRr)
                .miimon(100)
                .mtu(1500)
                .check(&ports)
                .unwrap_err(),
        );
        assert!(
            err.contains("mtu 1500 is larger than port \"net2\"'s mtu 1400"),
            "{err}"
        );
        assert!(bond(Mode::BalanceRr)
            .miimon(100)
            .mtu(1400)
            .check(&ports)
            .is_ok());
        for bad in [0, 67, 65536] {
            let err = reason(
                bond(Mode::BalanceRr)
                    .miimon(100)
                    .mtu(bad)
                    .check(&two_vfs())
                    .unwrap_err(),
            );
            assert!(err.contains("out of range, expected 68-65535"), "{err}");
        }
    }

    #[test]
    fn mac_must_be_unicast() {
        for bad in [[0u8; 6], [0x01, 0, 0x5e, 0, 0, 1], [0xff; 6]].map(MacAddr) {
            let err = reason(
                bond(Mode::BalanceRr)
                    .miimon(100)
                    .mac(bad)
                    .check(&two_vfs())
                    .unwrap_err(),
            );
            assert!(err.contains("not a unicast address"), "{err}");
        }
        let ok = bond(Mode::BalanceRr)
            .miimon(100)
            .mac(MacAddr([0x02, 0, 0, 0, 0, 1]));
        assert!(ok.check(&two_vfs()).is_ok());
    }

    #[test]
    fn vfs_need_trust_in_every_mode_but_active_backup() {
        for mode in Mode::ALL.into_iter().filter(|m| *m != Mode::ActiveBackup) {
            let w = bond(mode).miimon(100).check(&two_vfs()).unwrap();
            assert_eq!(
                w,
                vec![Warning::VfsNeedTrust {
                    mode,
                    ports: vec![name("net1"), name("net2")]
                }],
                "{mode}"
            );
            assert!(w[0].to_string().contains("trust"), "{}", w[0]);
        }
        let ports = [vf("net1"), port("eth1", 1500, false)];
        let w = bond(Mode::ActiveBackup).miimon(100).check(&ports).unwrap();
        assert_eq!(
            w,
            vec![Warning::ActiveBackupVfsNeedFailOverMacActive {
                ports: vec![name("net1")]
            }]
        );
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        for mode in Mode::ALL {
            assert_eq!(
                bond(mode).miimon(100).check(&not_vfs).unwrap(),
                vec![],
                "{mode}"
            );
        }
    }

    #[test]
    fn options_without_effect_are_warned_about() {
        let w = bond(Mode::ActiveBackup)
            .fail_over_mac(FailOverMac::Active)
            .xmit_hash_policy(XmitHashPolicy::Layer34)
            .check(&two_vfs())
            .unwrap();
        assert_eq!(
            w,
            vec![
                Warning::NoLinkMonitoring,
                Warning::XmitHashPolicyUnused {
                    mode: Mode::ActiveBackup
                }
            ]
        );
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        let w = bond(Mode::Broadcast)
            .miimon(100)
            .fail_over_mac(FailOverMac::Follow)
            .check(&not_vfs)
            .unwrap();
        assert_eq!(
            w,
            vec![Warning::FailOverMacUnused {
                mode: Mode::Broadcast
            }]
        );
    }

    #[test]
    fn modes_that_monitor_by_default_count_as_monitored() {
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        for mode in Mode::ALL {
            let unset = bond(mode);
            let by_default = matches!(mode, Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb);
            assert_eq!(unset.effective_miimon(), if by_default { 100 } else { 0 });
            let warned = unset
                .check(&not_vfs)
                .unwrap()
                .contains(&Warning::NoLinkMonitoring);
            assert_eq!(warned, !by_default, "{mode}");
            // Turned off on purpose, it is off in every mode.
            let off = bond(mode).miimon(0);
            assert_eq!(off.effective_miimon(), 0);
            assert!(off
                .check(&not_vfs)
                .unwrap()
                .contains(&Warning::NoLinkMonitoring));
            // Delays are measured against the miimon the bond will have.
            let delayed = bond(mode).updelay(200).downdelay(300).check(&not_vfs);
            assert_eq!(delayed.is_ok(), by_default, "{mode}: {delayed:?}");
            if by_default {
                let err = reason(bond(mode).updelay(150).check(&not_vfs).unwrap_err());
                assert!(
                    err.contains("updelay 150 is not a multiple of miimon 100"),
                    "{err}"
                );
                let err = reason(
                    bond(mode)
                        .miimon(0)
                        .updelay(200)
                        .check(&not_vfs)
                        .unwrap_err(),
                );
                assert!(err.contains("updelay 200 needs miimon"), "{err}");
            }
        }
    }

    #[test]
    fn timings_beyond_the_kernels_int_are_refused() {
        let too_big = i32::MAX as u32 + 1;
        for (option, cfg) in [
            ("miimon", bond(Mode::ActiveBackup).miimon(too_big)),
            (
                "updelay",
                bond(Mode::ActiveBackup).miimon(100).updelay(too_big),
            ),
            (
                "downdelay",
                bond(Mode::ActiveBackup).miimon(100).downdelay(u32::MAX),
            ),
        ] {
            let err = reason(cfg.check(&two_vfs()).unwrap_err());
            assert!(err.starts_with(&format!("bond bond0: {option} ")), "{err}");
            assert!(
                err.contains("is out of range, expected 0-2147483647 milliseconds"),
                "{err}"
            );
        }
        let most = bond(Mode::ActiveBackup)
            .miimon(i32::MAX as u32)
            .fail_over_mac(FailOverMac::Active);
        assert_eq!(most.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn a_mac_the_active_port_overrides_is_warned_about() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 9]);
        let w = bond(Mode::ActiveBackup)
            .miimon(100)
            .fail_over_mac(FailOverMac::Active)
            .mac(mac)
            .check(&two_vfs())
            .unwrap();
        assert_eq!(w, vec![Warning::MacOverriddenByActivePort { mac }]);
        assert!(w[0].to_string().contains("02:00:00:00:00:09"), "{}", w[0]);
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        for (mode, policy) in [
            (Mode::ActiveBackup, FailOverMac::None),
            (Mode::ActiveBackup, FailOverMac::Follow),
            (Mode::BalanceXor, FailOverMac::None),
        ] {
            let w = bond(mode)
                .miimon(100)
                .fail_over_mac(policy)
                .mac(mac)
                .check(&not_vfs)
                .unwrap();
            assert!(
                !w.iter()
                    .any(|w| matches!(w, Warning::MacOverriddenByActivePort { .. })),
                "{mode} {policy}: {w:?}"
            );
        }
    }

    #[test]
    fn the_bond_takes_its_ports_smallest_mtu_unless_told() {
        let ports = [port("net1", 9000, true), port("net2", 1400, true)];
        assert_eq!(bond(Mode::ActiveBackup).bond_mtu(&ports), 1400);
        assert_eq!(bond(Mode::ActiveBackup).mtu(1300).bond_mtu(&ports), 1300);
        assert_eq!(bond(Mode::ActiveBackup).bond_mtu(&[]), 1500);
    }

    proptest! {
        #[test]
        fn check_never_panics_and_errors_name_the_bond(
            bond_name in "[a-z0-9.-]{1,15}",
            mode in 0u8..7,
            miimon in proptest::option::of(0u32..1000),
            updelay in proptest::option::of(0u32..1000),
            mtu in proptest::option::of(0u32..70000),
            port_mtus in proptest::collection::vec(60u32..10000, 0..4),
        ) {
            let Ok(bond_name) = bond_name.parse::<IfName>() else {
                return Ok(());
            };
            let mut cfg = BondConfig::new(bond_name.clone(), Mode::from_number(mode).unwrap());
            if let Some(m) = miimon { cfg = cfg.miimon(m); }
            if let Some(d) = updelay { cfg = cfg.updelay(d); }
            if let Some(m) = mtu { cfg = cfg.mtu(m); }
            let ports: Vec<PortFacts> = port_mtus
                .iter()
                .enumerate()
                .map(|(i, m)| port(&format!("net{i}"), *m, true))
                .collect();
            match cfg.check(&ports) {
                Err(e) => {
                    let prefix = format!("bond {bond_name}");
                    prop_assert!(e.to_string().contains(&prefix));
                }
                // An accepted bond never raises a port's MTU.
                Ok(_) => prop_assert!(ports.iter().all(|p| cfg.bond_mtu(&ports) <= p.mtu)),
            }
        }
    }
}
