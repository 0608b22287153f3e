//! What a bond should look like, checked against its ports before anything
//! in the kernel changes.

use std::fmt;

use netplumb_netns::MacAddr;

use crate::options::{FailOverMac, Mode, XmitHashPolicy};
use crate::Error;

/// The kernel's limit on interface names, without the trailing NUL.
const IFNAMSIZ_MAX: usize = 15;
/// `ETH_MIN_MTU`: the smallest MTU an Ethernet device, bonds included, takes.
const MIN_MTU: u32 = 68;
/// The bonding driver's `max_mtu`.
pub(crate) const MAX_MTU: u32 = 65535;

/// A bond's settings: its name, mode and options.
///
/// Options left unset keep the kernel's defaults. Build one with
/// [`BondConfig::new`] and the setters, then [`BondConfig::check`] it
/// against the ports before creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondConfig {
    /// The bond's interface name.
    pub name: String,
    /// The bonding mode.
    pub mode: Mode,
    /// Link monitoring interval in milliseconds; `Some(0)` turns it off.
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
    pub primary: Option<String>,
    /// The bond's MTU; the kernel sets it on every port as it is enslaved.
    pub mtu: Option<u32>,
    /// The bond's MAC address; without one the bond takes its first port's.
    pub mac: Option<MacAddr>,
}

/// What the caller knows of one port before the bond is built.
///
/// The bond crate does not look at sysfs: whether a port is an SR-IOV VF is
/// the caller's knowledge (sysfs does not follow a pod's namespace).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortFacts<'a> {
    /// The port's interface name.
    pub name: &'a str,
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
    /// balance-rr and balance-xor send with one MAC on every port; a VF
    /// only accepts a MAC other than its own when trust is on.
    VfsNeedTrust {
        /// The bond's mode.
        mode: Mode,
        /// The ports that are VFs.
        ports: Vec<String>,
    },
    /// In active-backup with `fail_over_mac` other than `active`, the kernel
    /// sets the bond's MAC on every port, which a VF without trust refuses.
    ActiveBackupVfsNeedFailOverMacActive {
        /// The ports that are VFs.
        ports: Vec<String>,
    },
    /// Neither `miimon` nor ARP monitoring is set: a port that loses its
    /// link is never noticed, so nothing fails over.
    NoLinkMonitoring,
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
                "{mode} over VFs ({}) needs trust on for those VFs, or they drop \
                 frames sent with the bond's MAC",
                ports.join(", ")
            ),
            Warning::ActiveBackupVfsNeedFailOverMacActive { ports } => write!(
                f,
                "active-backup over VFs ({}) needs fail_over_mac active; otherwise the \
                 kernel puts one MAC on every port, which a VF without trust refuses",
                ports.join(", ")
            ),
            Warning::NoLinkMonitoring => f.write_str(
                "miimon is not set: link failures of ports go unnoticed and nothing fails over",
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
    pub fn new(name: impl Into<String>, mode: Mode) -> BondConfig {
        BondConfig {
            name: name.into(),
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

    /// Link monitoring interval in milliseconds (0 turns it off).
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
    pub fn primary(mut self, port: impl Into<String>) -> Self {
        self.primary = Some(port.into());
        self
    }

    /// The bond's MTU; the kernel sets it on every port as it is enslaved.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// The bond's MAC address; without one the bond takes its first port's.
    pub fn mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    /// Checks the settings and the ports against each other and against
    /// what the kernel accepts, before anything is changed.
    ///
    /// Ports are enslaved in the order given. Returns the [`Warning`]s for
    /// settings that are legal but probably not what was meant.
    pub fn check(&self, ports: &[PortFacts<'_>]) -> Result<Vec<Warning>, Error> {
        let invalid = |reason: String| Error::InvalidConfig {
            bond: self.name.clone(),
            reason,
        };

        check_ifname(&self.name).map_err(|why| invalid(format!("bond name: {why}")))?;
        if ports.len() < 2 {
            return Err(invalid(format!(
                "a bond needs at least two ports, {} given",
                ports.len()
            )));
        }
        for (i, port) in ports.iter().enumerate() {
            check_ifname(port.name).map_err(|why| invalid(format!("port {i}: {why}")))?;
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

        let miimon = self.miimon.unwrap_or(0);
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
            if !ports.iter().any(|p| p.name == primary) {
                let names: Vec<&str> = ports.iter().map(|p| p.name).collect();
                return Err(invalid(format!(
                    "primary {primary:?} is not one of the ports ({})",
                    names.join(", ")
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

    fn warnings(&self, ports: &[PortFacts<'_>]) -> Vec<Warning> {
        let vfs: Vec<String> = ports
            .iter()
            .filter(|p| p.is_vf)
            .map(|p| p.name.to_owned())
            .collect();
        let mut warnings = Vec::new();
        match self.mode {
            Mode::BalanceRr | Mode::BalanceXor if !vfs.is_empty() => {
                warnings.push(Warning::VfsNeedTrust {
                    mode: self.mode,
                    ports: vfs,
                });
            }
            Mode::ActiveBackup
                if !vfs.is_empty() && self.fail_over_mac != Some(FailOverMac::Active) =>
            {
                warnings.push(Warning::ActiveBackupVfsNeedFailOverMacActive { ports: vfs });
            }
            _ => {}
        }
        if self.miimon.unwrap_or(0) == 0 {
            warnings.push(Warning::NoLinkMonitoring);
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

/// The kernel's rules for an interface name (`dev_valid_name`).
fn check_ifname(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("interface name is empty".into());
    }
    if name.len() > IFNAMSIZ_MAX {
        return Err(format!(
            "interface name {name:?} is {} bytes, at most {IFNAMSIZ_MAX} allowed",
            name.len()
        ));
    }
    if name == "." || name == ".." {
        return Err(format!("interface name {name:?} is not allowed"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| *c == '/' || *c == ':' || c.is_whitespace())
    {
        return Err(format!("interface name {name:?} contains {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn vf(name: &str) -> PortFacts<'_> {
        PortFacts {
            name,
            mtu: 1500,
            is_vf: true,
        }
    }

    fn two_vfs() -> [PortFacts<'static>; 2] {
        [vf("net1"), vf("net2")]
    }

    fn reason(err: Error) -> String {
        err.to_string()
    }

    #[test]
    fn the_openshift_active_backup_bond_passes_without_warnings() {
        let cfg = BondConfig::new("bond0", Mode::ActiveBackup)
            .miimon(100)
            .fail_over_mac(FailOverMac::Active)
            .mtu(1500);
        assert_eq!(cfg.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn fewer_than_two_ports_is_refused() {
        let cfg = BondConfig::new("bond0", Mode::ActiveBackup).miimon(100);
        let err = reason(cfg.check(&[vf("net1")]).unwrap_err());
        assert!(
            err.contains("bond0") && err.contains("at least two ports, 1 given"),
            "{err}"
        );
        assert!(cfg.check(&[]).is_err());
    }

    #[test]
    fn duplicate_and_self_named_ports_are_refused() {
        let cfg = BondConfig::new("bond0", Mode::BalanceRr).miimon(100);
        let err = reason(cfg.check(&[vf("net1"), vf("net1")]).unwrap_err());
        assert!(err.contains("\"net1\" is listed twice"), "{err}");
        let err = reason(cfg.check(&[vf("net1"), vf("bond0")]).unwrap_err());
        assert!(err.contains("bond's own name"), "{err}");
    }

    #[test]
    fn bad_interface_names_are_refused() {
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "sixteen-bytes-xx"] {
            let cfg = BondConfig::new(bad, Mode::BalanceRr).miimon(100);
            let err = reason(cfg.check(&two_vfs()).unwrap_err());
            assert!(err.contains("bond name"), "{bad:?}: {err}");
            let cfg = BondConfig::new("bond0", Mode::BalanceRr).miimon(100);
            let err = reason(cfg.check(&[vf("net1"), vf(bad)]).unwrap_err());
            assert!(err.contains("port 1"), "{bad:?}: {err}");
        }
        let fifteen = "fifteen-bytes-x";
        assert!(BondConfig::new(fifteen, Mode::BalanceRr)
            .miimon(100)
            .check(&two_vfs())
            .is_ok());
    }

    #[test]
    fn delays_need_miimon_and_must_be_its_multiples() {
        let err = reason(
            BondConfig::new("bond0", Mode::ActiveBackup)
                .updelay(200)
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(err.contains("updelay 200 needs miimon"), "{err}");
        let err = reason(
            BondConfig::new("bond0", Mode::ActiveBackup)
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
        let ok = BondConfig::new("bond0", Mode::ActiveBackup)
            .miimon(100)
            .updelay(200)
            .downdelay(0)
            .fail_over_mac(FailOverMac::Active);
        assert_eq!(ok.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn primary_only_in_modes_that_take_it_and_only_a_port() {
        let err = reason(
            BondConfig::new("bond0", Mode::BalanceXor)
                .miimon(100)
                .primary("net1")
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(
            err.contains("primary is only accepted") && err.contains("balance-xor"),
            "{err}"
        );
        let err = reason(
            BondConfig::new("bond0", Mode::ActiveBackup)
                .miimon(100)
                .primary("net9")
                .check(&two_vfs())
                .unwrap_err(),
        );
        assert!(
            err.contains("\"net9\" is not one of the ports (net1, net2)"),
            "{err}"
        );
        for mode in [Mode::ActiveBackup, Mode::BalanceTlb, Mode::BalanceAlb] {
            let cfg = BondConfig::new("bond0", mode).miimon(100).primary("net2");
            assert!(cfg.check(&two_vfs()).is_ok(), "{mode}");
        }
    }

    #[test]
    fn tlb_dynamic_lb_only_in_tlb_and_alb() {
        for mode in Mode::ALL {
            let res = BondConfig::new("bond0", mode)
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
        let ports = [
            vf("net1"),
            PortFacts {
                name: "net2",
                mtu: 1400,
                is_vf: true,
            },
        ];
        let err = reason(
            BondConfig::new("bond0", Mode::BalanceRr)
                .miimon(100)
                .mtu(1500)
                .check(&ports)
                .unwrap_err(),
        );
        assert!(
            err.contains("mtu 1500 is larger than port \"net2\"'s mtu 1400"),
            "{err}"
        );
        assert!(BondConfig::new("bond0", Mode::BalanceRr)
            .miimon(100)
            .mtu(1400)
            .check(&ports)
            .is_ok());
        for bad in [0, 67, 65536] {
            let err = reason(
                BondConfig::new("bond0", Mode::BalanceRr)
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
                BondConfig::new("bond0", Mode::BalanceRr)
                    .miimon(100)
                    .mac(bad)
                    .check(&two_vfs())
                    .unwrap_err(),
            );
            assert!(err.contains("not a unicast address"), "{err}");
        }
        let ok = BondConfig::new("bond0", Mode::BalanceRr)
            .miimon(100)
            .mac(MacAddr([0x02, 0, 0, 0, 0, 1]));
        assert!(ok.check(&two_vfs()).is_ok());
    }

    #[test]
    fn vf_warnings_name_the_ports() {
        for mode in [Mode::BalanceRr, Mode::BalanceXor] {
            let w = BondConfig::new("bond0", mode)
                .miimon(100)
                .check(&two_vfs())
                .unwrap();
            assert_eq!(
                w,
                vec![Warning::VfsNeedTrust {
                    mode,
                    ports: vec!["net1".into(), "net2".into()]
                }]
            );
            assert!(w[0].to_string().contains("trust"), "{}", w[0]);
        }
        let ports = [
            vf("net1"),
            PortFacts {
                name: "eth1",
                mtu: 1500,
                is_vf: false,
            },
        ];
        let w = BondConfig::new("bond0", Mode::ActiveBackup)
            .miimon(100)
            .check(&ports)
            .unwrap();
        assert_eq!(
            w,
            vec![Warning::ActiveBackupVfsNeedFailOverMacActive {
                ports: vec!["net1".into()]
            }]
        );
        let not_vfs = [
            PortFacts {
                name: "eth1",
                mtu: 1500,
                is_vf: false,
            },
            PortFacts {
                name: "eth2",
                mtu: 1500,
                is_vf: false,
            },
        ];
        assert_eq!(
            BondConfig::new("bond0", Mode::BalanceRr)
                .miimon(100)
                .check(&not_vfs)
                .unwrap(),
            vec![]
        );
    }

    #[test]
    fn options_without_effect_are_warned_about() {
        let w = BondConfig::new("bond0", Mode::ActiveBackup)
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
        let w = BondConfig::new("bond0", Mode::Broadcast)
            .miimon(100)
            .fail_over_mac(FailOverMac::Follow)
            .check(&two_vfs())
            .unwrap();
        assert_eq!(
            w,
            vec![Warning::FailOverMacUnused {
                mode: Mode::Broadcast
            }]
        );
    }

    proptest! {
        #[test]
        fn check_never_panics_and_errors_name_the_bond(
            name in "\\PC{0,20}",
            mode in 0u8..7,
            miimon in proptest::option::of(0u32..1000),
            updelay in proptest::option::of(0u32..1000),
            mtu in proptest::option::of(0u32..70000),
            port_mtus in proptest::collection::vec(60u32..10000, 0..4),
        ) {
            let mut cfg = BondConfig::new(name.clone(), Mode::from_number(mode).unwrap());
            if let Some(m) = miimon { cfg = cfg.miimon(m); }
            if let Some(d) = updelay { cfg = cfg.updelay(d); }
            if let Some(m) = mtu { cfg = cfg.mtu(m); }
            let names: Vec<String> = (0..port_mtus.len()).map(|i| format!("net{i}")).collect();
            let ports: Vec<PortFacts<'_>> = names
                .iter()
                .zip(&port_mtus)
                .map(|(n, m)| PortFacts { name: n, mtu: *m, is_vf: true })
                .collect();
            if let Err(e) = cfg.check(&ports) {
                let prefix = format!("bond {name}");
                prop_assert!(e.to_string().contains(&prefix));
            }
        }
    }
}
