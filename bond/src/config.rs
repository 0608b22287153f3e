//! What a bond should look like, checked against its ports before anything
//! in the kernel changes.

use std::fmt;

use netplumb_types::{BondMode, BondOptions, FailOverMac, IfName, MacAddr, XmitHashPolicy};

use crate::Error;

/// `ETH_MIN_MTU`: the smallest MTU an Ethernet device, bonds included, takes.
const MIN_MTU: u32 = 68;
/// The bonding driver's `max_mtu`.
pub(crate) const MAX_MTU: u32 = 65535;
/// `ETH_DATA_LEN`: the MTU a new bond gets when none is asked for.
const DEFAULT_MTU: u32 = 1500;

/// A bond's settings: its name, mode and options, MTU and MAC.
///
/// Options left unset keep the kernel's defaults. Build one with
/// [`BondConfig::new`] and the setters, then [`BondConfig::check`] it
/// against the ports before creating it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondConfig {
    /// The bond's interface name.
    pub name: IfName,
    /// The bonding mode and options, whose rules
    /// ([`BondOptions::check`]) the CNI configuration reader applies too.
    pub options: BondOptions,
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
        mode: BondMode,
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
        mode: BondMode,
    },
    /// `fail_over_mac` only matters in active-backup.
    FailOverMacUnused {
        /// The bond's mode.
        mode: BondMode,
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
    pub fn new(name: IfName, mode: BondMode) -> BondConfig {
        BondConfig::with_options(name, BondOptions::new(mode))
    }

    /// A bond named `name` with `options`, as a configuration reader that
    /// checked them hands them over.
    pub fn with_options(name: IfName, options: BondOptions) -> BondConfig {
        BondConfig {
            name,
            options,
            mtu: None,
            mac: None,
        }
    }

    /// Link monitoring interval in milliseconds (0 turns it off), at most
    /// `i32::MAX`.
    pub fn miimon(mut self, ms: u32) -> Self {
        self.options.miimon = Some(ms);
        self
    }

    /// Milliseconds a port's link must be up before it is used; a multiple of `miimon`.
    pub fn updelay(mut self, ms: u32) -> Self {
        self.options.updelay = Some(ms);
        self
    }

    /// Milliseconds a port's link must be down before it is dropped; a multiple of `miimon`.
    pub fn downdelay(mut self, ms: u32) -> Self {
        self.options.downdelay = Some(ms);
        self
    }

    /// What happens to port MACs on failover.
    pub fn fail_over_mac(mut self, policy: FailOverMac) -> Self {
        self.options.fail_over_mac = Some(policy);
        self
    }

    /// How the hashing modes pick a port.
    pub fn xmit_hash_policy(mut self, policy: XmitHashPolicy) -> Self {
        self.options.xmit_hash_policy = Some(policy);
        self
    }

    /// Deliver frames received on inactive ports too.
    pub fn all_slaves_active(mut self, on: bool) -> Self {
        self.options.all_slaves_active = Some(on);
        self
    }

    /// Shuffle flows between ports by load (balance-tlb and balance-alb only).
    pub fn tlb_dynamic_lb(mut self, on: bool) -> Self {
        self.options.tlb_dynamic_lb = Some(on);
        self
    }

    /// The port preferred as active whenever its link is up
    /// (active-backup, balance-tlb and balance-alb only).
    pub fn primary(mut self, port: IfName) -> Self {
        self.options.primary = Some(port);
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
    /// else the kernel's default for the mode
    /// ([`BondOptions::effective_miimon`]).
    pub fn effective_miimon(&self) -> u32 {
        self.options.effective_miimon()
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
    /// Ports are enslaved in the order given. The options are checked by
    /// [`BondOptions::check`] (at least two distinct ports, delays that fit
    /// link monitoring, `primary` and `tlb_dynamic_lb` where the mode takes
    /// them; a failure is [`Error::InvalidOption`]); then what is the
    /// bond's own (a failure is [`Error::InvalidConfig`]): no port named
    /// like the bond, an MTU the kernel takes and no larger than any
    /// port's, a unicast MAC. Returns the [`Warning`]s for settings that
    /// are legal but probably not what was meant.
    pub fn check(&self, ports: &[PortFacts]) -> Result<Vec<Warning>, Error> {
        let names: Vec<IfName> = ports.iter().map(|p| p.name).collect();
        self.options
            .check(&names)
            .map_err(|e| Error::invalid_options(self.name, e))?;

        let invalid = |reason: String| Error::InvalidConfig {
            bond: self.name,
            reason,
        };
        if let Some(port) = ports.iter().find(|p| p.name == self.name) {
            return Err(invalid(format!(
                "port {:?} has the bond's own name",
                port.name
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
        let options = &self.options;
        let mode = options.mode;
        let vfs: Vec<IfName> = ports.iter().filter(|p| p.is_vf).map(|p| p.name).collect();
        let mut warnings = Vec::new();
        let fail_over_mac_active = options.fail_over_mac == Some(FailOverMac::Active);
        if !vfs.is_empty() {
            if mode != BondMode::ActiveBackup {
                warnings.push(Warning::VfsNeedTrust { mode, ports: vfs });
            } else if !fail_over_mac_active {
                warnings.push(Warning::ActiveBackupVfsNeedFailOverMacActive { ports: vfs });
            }
        }
        if self.effective_miimon() == 0 {
            warnings.push(Warning::NoLinkMonitoring);
        }
        if let Some(mac) = self.mac {
            if mode == BondMode::ActiveBackup && fail_over_mac_active {
                warnings.push(Warning::MacOverriddenByActivePort { mac });
            }
        }
        if options.xmit_hash_policy.is_some() && !mode.uses_xmit_hash_policy() {
            warnings.push(Warning::XmitHashPolicyUnused { mode });
        }
        if options
            .fail_over_mac
            .is_some_and(|p| p != FailOverMac::None)
            && mode != BondMode::ActiveBackup
        {
            warnings.push(Warning::FailOverMacUnused { mode });
        }
        warnings
    }
}

/// `names` as people list them: `net1, net2`.
pub(crate) fn joined(names: &[IfName]) -> String {
    let names: Vec<String> = names.iter().map(IfName::to_string).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_types::BondOption;
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

    fn bond(mode: BondMode) -> BondConfig {
        BondConfig::new(name("bond0"), mode)
    }

    fn reason(err: Error) -> String {
        err.to_string()
    }

    /// The option an [`Error::InvalidOption`] names, and its message.
    fn option_refused(result: Result<Vec<Warning>, Error>) -> (BondOption, String) {
        match result {
            Err(e @ Error::InvalidOption { option, .. }) => (option, e.to_string()),
            other => panic!("expected InvalidOption, got {other:?}"),
        }
    }

    #[test]
    fn the_openshift_active_backup_bond_passes_without_warnings() {
        let cfg = bond(BondMode::ActiveBackup)
            .miimon(100)
            .fail_over_mac(FailOverMac::Active)
            .mtu(1500);
        assert_eq!(cfg.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn the_options_are_checked_by_their_own_rules() {
        // Every rule on how options combine is BondOptions::check's: the
        // bond's check refuses exactly what it refuses, naming the bond.
        let ports = two_vfs();
        let names: Vec<IfName> = ports.iter().map(|p| p.name).collect();
        let cases = [
            bond(BondMode::ActiveBackup).updelay(200),
            bond(BondMode::ActiveBackup).miimon(100).downdelay(150),
            bond(BondMode::BalanceXor).miimon(100).primary(name("net1")),
            bond(BondMode::ActiveBackup).primary(name("net9")),
            bond(BondMode::BalanceRr).tlb_dynamic_lb(true),
            bond(BondMode::ActiveBackup).miimon(i32::MAX as u32 + 1),
        ];
        for cfg in cases {
            let Err(netplumb_types::Error::BondOption { option, problem }) =
                cfg.options.check(&names)
            else {
                panic!("{cfg:?} passes BondOptions::check")
            };
            let err = cfg.check(&ports).unwrap_err();
            assert!(
                matches!(&err, Error::InvalidOption { bond, option: o, problem: p }
                    if *bond == cfg.name && *o == option && *p == problem),
                "{err:?}"
            );
            assert_eq!(err.to_string(), format!("bond bond0: {option}: {problem}"));
        }
    }

    #[test]
    fn fewer_than_two_ports_is_refused() {
        let cfg = bond(BondMode::ActiveBackup).miimon(100);
        let (option, text) = option_refused(cfg.check(&[vf("net1")]));
        assert_eq!(option, BondOption::Ports);
        assert!(
            text.starts_with("bond bond0: ports: 1 given, expected at least two"),
            "{text}"
        );
        assert!(cfg.check(&[]).is_err());
    }

    #[test]
    fn duplicate_and_self_named_ports_are_refused() {
        let cfg = bond(BondMode::BalanceRr).miimon(100);
        let (option, text) = option_refused(cfg.check(&[vf("net1"), vf("net1")]));
        assert_eq!(option, BondOption::Ports);
        assert!(text.contains("\"net1\" is listed twice"), "{text}");
        let err = cfg.check(&[vf("net1"), vf("bond0")]).unwrap_err();
        assert!(matches!(err, Error::InvalidConfig { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "bond bond0: port \"bond0\" has the bond's own name"
        );
    }

    #[test]
    fn delays_need_miimon_and_must_be_its_multiples() {
        let (option, text) =
            option_refused(bond(BondMode::ActiveBackup).updelay(200).check(&two_vfs()));
        assert_eq!(option, BondOption::Updelay);
        assert!(text.contains("200 needs link monitoring"), "{text}");
        let (option, text) = option_refused(
            bond(BondMode::ActiveBackup)
                .miimon(100)
                .downdelay(150)
                .check(&two_vfs()),
        );
        assert_eq!(option, BondOption::Downdelay);
        assert!(
            text.contains("150 is not a multiple of miimon 100"),
            "{text}"
        );
        let ok = bond(BondMode::ActiveBackup)
            .miimon(100)
            .updelay(200)
            .downdelay(0)
            .fail_over_mac(FailOverMac::Active);
        assert_eq!(ok.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn primary_only_in_modes_that_take_it_and_only_a_port() {
        let (option, text) = option_refused(
            bond(BondMode::BalanceXor)
                .miimon(100)
                .primary(name("net1"))
                .check(&two_vfs()),
        );
        assert_eq!(option, BondOption::Primary);
        assert!(
            text.contains("does not apply to mode balance-xor"),
            "{text}"
        );
        let (option, text) = option_refused(
            bond(BondMode::ActiveBackup)
                .miimon(100)
                .primary(name("net9"))
                .check(&two_vfs()),
        );
        assert_eq!(option, BondOption::Primary);
        assert!(
            text.contains("\"net9\" is not one of the ports, expected one of net1, net2"),
            "{text}"
        );
        for mode in [
            BondMode::ActiveBackup,
            BondMode::BalanceTlb,
            BondMode::BalanceAlb,
        ] {
            let cfg = bond(mode).miimon(100).primary(name("net2"));
            assert!(cfg.check(&two_vfs()).is_ok(), "{mode}");
        }
    }

    #[test]
    fn tlb_dynamic_lb_only_in_tlb_and_alb() {
        for mode in BondMode::ALL {
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
            bond(BondMode::BalanceRr)
                .miimon(100)
                .mtu(1500)
                .check(&ports)
                .unwrap_err(),
        );
        assert!(
            err.contains("mtu 1500 is larger than port \"net2\"'s mtu 1400"),
            "{err}"
        );
        assert!(bond(BondMode::BalanceRr)
            .miimon(100)
            .mtu(1400)
            .check(&ports)
            .is_ok());
        for bad in [0, 67, 65536] {
            let err = reason(
                bond(BondMode::BalanceRr)
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
                bond(BondMode::BalanceRr)
                    .miimon(100)
                    .mac(bad)
                    .check(&two_vfs())
                    .unwrap_err(),
            );
            assert!(err.contains("not a unicast address"), "{err}");
        }
        let ok = bond(BondMode::BalanceRr)
            .miimon(100)
            .mac(MacAddr([0x02, 0, 0, 0, 0, 1]));
        assert!(ok.check(&two_vfs()).is_ok());
    }

    #[test]
    fn vfs_need_trust_in_every_mode_but_active_backup() {
        for mode in BondMode::ALL
            .into_iter()
            .filter(|m| *m != BondMode::ActiveBackup)
        {
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
        let w = bond(BondMode::ActiveBackup)
            .miimon(100)
            .check(&ports)
            .unwrap();
        assert_eq!(
            w,
            vec![Warning::ActiveBackupVfsNeedFailOverMacActive {
                ports: vec![name("net1")]
            }]
        );
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        for mode in BondMode::ALL {
            assert_eq!(
                bond(mode).miimon(100).check(&not_vfs).unwrap(),
                vec![],
                "{mode}"
            );
        }
    }

    #[test]
    fn options_without_effect_are_warned_about() {
        let w = bond(BondMode::ActiveBackup)
            .fail_over_mac(FailOverMac::Active)
            .xmit_hash_policy(XmitHashPolicy::Layer34)
            .check(&two_vfs())
            .unwrap();
        assert_eq!(
            w,
            vec![
                Warning::NoLinkMonitoring,
                Warning::XmitHashPolicyUnused {
                    mode: BondMode::ActiveBackup
                }
            ]
        );
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        let w = bond(BondMode::Broadcast)
            .miimon(100)
            .fail_over_mac(FailOverMac::Follow)
            .check(&not_vfs)
            .unwrap();
        assert_eq!(
            w,
            vec![Warning::FailOverMacUnused {
                mode: BondMode::Broadcast
            }]
        );
    }

    #[test]
    fn modes_that_monitor_by_default_count_as_monitored() {
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        for mode in BondMode::ALL {
            let unset = bond(mode);
            let by_default = matches!(
                mode,
                BondMode::Ieee8023ad | BondMode::BalanceTlb | BondMode::BalanceAlb
            );
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
        }
    }

    #[test]
    fn timings_beyond_the_kernels_int_are_refused() {
        let too_big = i32::MAX as u32 + 1;
        for (option, cfg) in [
            (
                BondOption::Miimon,
                bond(BondMode::ActiveBackup).miimon(too_big),
            ),
            (
                BondOption::Updelay,
                bond(BondMode::ActiveBackup).miimon(100).updelay(too_big),
            ),
            (
                BondOption::Downdelay,
                bond(BondMode::ActiveBackup).miimon(100).downdelay(u32::MAX),
            ),
        ] {
            let (refused, text) = option_refused(cfg.check(&two_vfs()));
            assert_eq!(refused, option);
            assert!(
                text.starts_with(&format!("bond bond0: {option}: ")),
                "{text}"
            );
            assert!(
                text.contains("is out of range, expected 0-2147483647 milliseconds"),
                "{text}"
            );
        }
        let most = bond(BondMode::ActiveBackup)
            .miimon(i32::MAX as u32)
            .fail_over_mac(FailOverMac::Active);
        assert_eq!(most.check(&two_vfs()).unwrap(), vec![]);
    }

    #[test]
    fn a_mac_the_active_port_overrides_is_warned_about() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 9]);
        let w = bond(BondMode::ActiveBackup)
            .miimon(100)
            .fail_over_mac(FailOverMac::Active)
            .mac(mac)
            .check(&two_vfs())
            .unwrap();
        assert_eq!(w, vec![Warning::MacOverriddenByActivePort { mac }]);
        assert!(w[0].to_string().contains("02:00:00:00:00:09"), "{}", w[0]);
        let not_vfs = [port("eth1", 1500, false), port("eth2", 1500, false)];
        for (mode, policy) in [
            (BondMode::ActiveBackup, FailOverMac::None),
            (BondMode::ActiveBackup, FailOverMac::Follow),
            (BondMode::BalanceXor, FailOverMac::None),
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
        assert_eq!(bond(BondMode::ActiveBackup).bond_mtu(&ports), 1400);
        assert_eq!(
            bond(BondMode::ActiveBackup).mtu(1300).bond_mtu(&ports),
            1300
        );
        assert_eq!(bond(BondMode::ActiveBackup).bond_mtu(&[]), 1500);
    }

    #[test]
    fn options_from_a_reader_are_kept_as_given() {
        let mut options = BondOptions::new(BondMode::BalanceAlb);
        options.tlb_dynamic_lb = Some(false);
        let cfg = BondConfig::with_options(name("bond0"), options.clone());
        assert_eq!(cfg.options, options);
        assert_eq!(
            cfg,
            BondConfig::new(name("bond0"), BondMode::BalanceAlb).tlb_dynamic_lb(false)
        );
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
            let mut cfg = BondConfig::new(bond_name, BondMode::from_number(mode).unwrap());
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
                    let prefix = format!("bond {bond_name}: ");
                    prop_assert!(e.to_string().starts_with(&prefix));
                }
                // An accepted bond never raises a port's MTU.
                Ok(_) => prop_assert!(ports.iter().all(|p| cfg.bond_mtu(&ports) <= p.mtu)),
            }
        }
    }
}
