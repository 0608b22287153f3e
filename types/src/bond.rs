//! The bonding driver's modes and enumerated options, and the rules on how
//! bond options combine.

use std::fmt;
use std::str::FromStr;

use crate::{Error, IfName};

/// The largest `miimon`, `updelay` or `downdelay` in milliseconds: the
/// kernel keeps them in an `int`.
pub const MAX_BOND_MS: u32 = i32::MAX as u32;

/// A bonding mode, as `/sys/class/net/<bond>/bonding/mode` names it.
///
/// Parsed ([`FromStr`]) from the kernel's name, its number (`"0"` to
/// `"6"`), or the aliases `lacp` and `ieee802.3ad` for 802.3ad, in any
/// case and with surrounding whitespace ignored; written with the kernel's
/// name.
///
/// ```
/// use netplumb_types::BondMode;
/// assert_eq!("active-backup".parse::<BondMode>()?, BondMode::ActiveBackup);
/// assert_eq!("1".parse::<BondMode>()?, BondMode::ActiveBackup);
/// assert_eq!("LACP".parse::<BondMode>()?, BondMode::Ieee8023ad);
/// assert_eq!(BondMode::Ieee8023ad.to_string(), "802.3ad");
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BondMode {
    /// Round-robin over the ports (mode 0).
    BalanceRr,
    /// One active port; the others take over when it fails (mode 1).
    ActiveBackup,
    /// Port chosen by a hash of the packet (mode 2).
    BalanceXor,
    /// Every packet on every port (mode 3).
    Broadcast,
    /// IEEE 802.3ad dynamic link aggregation, LACP (mode 4).
    Ieee8023ad,
    /// Adaptive transmit load balancing (mode 5).
    BalanceTlb,
    /// Adaptive load balancing, transmit and receive (mode 6).
    BalanceAlb,
}

impl BondMode {
    /// Every mode, in the kernel's order.
    pub const ALL: [BondMode; 7] = [
        BondMode::BalanceRr,
        BondMode::ActiveBackup,
        BondMode::BalanceXor,
        BondMode::Broadcast,
        BondMode::Ieee8023ad,
        BondMode::BalanceTlb,
        BondMode::BalanceAlb,
    ];

    /// The kernel's number for this mode (`BOND_MODE_*`).
    pub fn number(self) -> u8 {
        match self {
            BondMode::BalanceRr => 0,
            BondMode::ActiveBackup => 1,
            BondMode::BalanceXor => 2,
            BondMode::Broadcast => 3,
            BondMode::Ieee8023ad => 4,
            BondMode::BalanceTlb => 5,
            BondMode::BalanceAlb => 6,
        }
    }

    /// The mode with the kernel's number `n`, if there is one.
    pub fn from_number(n: u8) -> Option<BondMode> {
        BondMode::ALL.get(usize::from(n)).copied()
    }

    /// The kernel's name for this mode.
    pub fn name(self) -> &'static str {
        match self {
            BondMode::BalanceRr => "balance-rr",
            BondMode::ActiveBackup => "active-backup",
            BondMode::BalanceXor => "balance-xor",
            BondMode::Broadcast => "broadcast",
            BondMode::Ieee8023ad => "802.3ad",
            BondMode::BalanceTlb => "balance-tlb",
            BondMode::BalanceAlb => "balance-alb",
        }
    }

    /// Whether the kernel accepts `primary` in this mode.
    pub fn supports_primary(self) -> bool {
        matches!(
            self,
            BondMode::ActiveBackup | BondMode::BalanceTlb | BondMode::BalanceAlb
        )
    }

    /// Whether the kernel accepts `tlb_dynamic_lb` in this mode.
    pub fn supports_tlb_dynamic_lb(self) -> bool {
        matches!(self, BondMode::BalanceTlb | BondMode::BalanceAlb)
    }

    /// The `miimon` the kernel gives a bond of this mode when none is set:
    /// 802.3ad, balance-tlb and balance-alb cannot monitor links by ARP, so
    /// setting them turns MII monitoring on at 100 ms if it is off
    /// (`bond_option_mode_set`); the other modes leave it off (0).
    pub fn default_miimon(self) -> u32 {
        match self {
            BondMode::Ieee8023ad | BondMode::BalanceTlb | BondMode::BalanceAlb => 100,
            _ => 0,
        }
    }

    /// Whether `xmit_hash_policy` has any effect in this mode. The kernel
    /// accepts it in every mode, but only these modes hash.
    pub fn uses_xmit_hash_policy(self) -> bool {
        matches!(
            self,
            BondMode::BalanceXor
                | BondMode::Ieee8023ad
                | BondMode::BalanceTlb
                | BondMode::BalanceAlb
        )
    }
}

impl fmt::Display for BondMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BondMode {
    type Err = Error;

    fn from_str(text: &str) -> Result<BondMode, Error> {
        let t = text.trim().to_ascii_lowercase();
        let found = match t.as_str() {
            "lacp" | "ieee802.3ad" => Some(BondMode::Ieee8023ad),
            _ => match t.parse::<u8>() {
                Ok(n) => BondMode::from_number(n),
                Err(_) => BondMode::ALL.into_iter().find(|m| m.name() == t),
            },
        };
        found.ok_or_else(|| Error::Keyword {
            what: "bonding mode",
            value: text.to_owned(),
            expected: "balance-rr, active-backup, balance-xor, broadcast, 802.3ad (or lacp), \
                       balance-tlb, balance-alb, or 0-6",
        })
    }
}

/// What the bond does with its ports' MACs on failover (`fail_over_mac`).
///
/// Parsed from `none`, `active`, `follow` or `0` to `2`, in any case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FailOverMac {
    /// Every port gets the bond's MAC (the kernel's default, 0).
    #[default]
    None,
    /// The bond takes the MAC of whichever port is active (1). Ports keep
    /// their own MACs, which is what a VF without trust needs.
    Active,
    /// Ports keep their MACs; the new active port gets the bond's MAC and
    /// the old one gets the new one's (2).
    Follow,
}

impl FailOverMac {
    /// Every policy, in the kernel's order.
    pub const ALL: [FailOverMac; 3] = [FailOverMac::None, FailOverMac::Active, FailOverMac::Follow];

    /// The kernel's number for this policy (`BOND_FOM_*`).
    pub fn number(self) -> u8 {
        match self {
            FailOverMac::None => 0,
            FailOverMac::Active => 1,
            FailOverMac::Follow => 2,
        }
    }

    /// The policy with the kernel's number `n`, if there is one.
    pub fn from_number(n: u8) -> Option<FailOverMac> {
        FailOverMac::ALL.get(usize::from(n)).copied()
    }

    /// The kernel's name for this policy.
    pub fn name(self) -> &'static str {
        match self {
            FailOverMac::None => "none",
            FailOverMac::Active => "active",
            FailOverMac::Follow => "follow",
        }
    }
}

impl fmt::Display for FailOverMac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FailOverMac {
    type Err = Error;

    fn from_str(text: &str) -> Result<FailOverMac, Error> {
        let t = text.trim().to_ascii_lowercase();
        let found = match t.parse::<u8>() {
            Ok(n) => FailOverMac::from_number(n),
            Err(_) => FailOverMac::ALL.into_iter().find(|p| p.name() == t),
        };
        found.ok_or_else(|| Error::Keyword {
            what: "fail_over_mac policy",
            value: text.to_owned(),
            expected: "none, active, follow, or 0-2",
        })
    }
}

/// How balance-xor, 802.3ad and the tlb modes pick a port
/// (`xmit_hash_policy`).
///
/// Parsed from the kernel's names or numbers (`0` to `5`) in any case;
/// bond-cni's documentation writes `layer3+4` as `layer34` too, so the `+`
/// may be left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum XmitHashPolicy {
    /// MAC addresses (0, the default).
    #[default]
    Layer2,
    /// IP addresses and ports (1).
    Layer34,
    /// MAC and IP addresses (2).
    Layer23,
    /// Inner headers of encapsulated packets, MAC and IP (3).
    Encap23,
    /// Inner headers of encapsulated packets, IP and ports (4).
    Encap34,
    /// VLAN id and source MAC (5).
    VlanSrcMac,
}

impl XmitHashPolicy {
    /// Every policy, in the kernel's order.
    pub const ALL: [XmitHashPolicy; 6] = [
        XmitHashPolicy::Layer2,
        XmitHashPolicy::Layer34,
        XmitHashPolicy::Layer23,
        XmitHashPolicy::Encap23,
        XmitHashPolicy::Encap34,
        XmitHashPolicy::VlanSrcMac,
    ];

    /// The kernel's number for this policy (`BOND_XMIT_POLICY_*`).
    pub fn number(self) -> u8 {
        match self {
            XmitHashPolicy::Layer2 => 0,
            XmitHashPolicy::Layer34 => 1,
            XmitHashPolicy::Layer23 => 2,
            XmitHashPolicy::Encap23 => 3,
            XmitHashPolicy::Encap34 => 4,
            XmitHashPolicy::VlanSrcMac => 5,
        }
    }

    /// The policy with the kernel's number `n`, if there is one.
    pub fn from_number(n: u8) -> Option<XmitHashPolicy> {
        XmitHashPolicy::ALL.get(usize::from(n)).copied()
    }

    /// The kernel's name for this policy.
    pub fn name(self) -> &'static str {
        match self {
            XmitHashPolicy::Layer2 => "layer2",
            XmitHashPolicy::Layer34 => "layer3+4",
            XmitHashPolicy::Layer23 => "layer2+3",
            XmitHashPolicy::Encap23 => "encap2+3",
            XmitHashPolicy::Encap34 => "encap3+4",
            XmitHashPolicy::VlanSrcMac => "vlan+srcmac",
        }
    }
}

impl fmt::Display for XmitHashPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for XmitHashPolicy {
    type Err = Error;

    fn from_str(text: &str) -> Result<XmitHashPolicy, Error> {
        let t = text.trim().to_ascii_lowercase();
        let found = match t.parse::<u8>() {
            Ok(n) => XmitHashPolicy::from_number(n),
            Err(_) => XmitHashPolicy::ALL
                .into_iter()
                .find(|p| p.name() == t || p.name().replace('+', "") == t),
        };
        found.ok_or_else(|| Error::Keyword {
            what: "xmit_hash_policy",
            value: text.to_owned(),
            expected: "layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac, or 0-5",
        })
    }
}

/// A bond option, by its kernel name, as errors name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BondOption {
    /// `mode`.
    Mode,
    /// `miimon`.
    Miimon,
    /// `updelay`.
    Updelay,
    /// `downdelay`.
    Downdelay,
    /// `fail_over_mac`.
    FailOverMac,
    /// `xmit_hash_policy`.
    XmitHashPolicy,
    /// `all_slaves_active`.
    AllSlavesActive,
    /// `tlb_dynamic_lb`.
    TlbDynamicLb,
    /// `primary`.
    Primary,
    /// The ports to enslave.
    Ports,
}

impl BondOption {
    /// The option's name in the kernel (`/sys/class/net/<bond>/bonding/`).
    pub fn kernel_name(self) -> &'static str {
        match self {
            BondOption::Mode => "mode",
            BondOption::Miimon => "miimon",
            BondOption::Updelay => "updelay",
            BondOption::Downdelay => "downdelay",
            BondOption::FailOverMac => "fail_over_mac",
            BondOption::XmitHashPolicy => "xmit_hash_policy",
            BondOption::AllSlavesActive => "all_slaves_active",
            BondOption::TlbDynamicLb => "tlb_dynamic_lb",
            BondOption::Primary => "primary",
            BondOption::Ports => "ports",
        }
    }
}

impl fmt::Display for BondOption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kernel_name())
    }
}

/// A bond's mode and options; unset options keep the kernel's defaults.
///
/// [`check`](BondOptions::check) holds the rules on how they combine, with
/// each other, the mode and the ports: the CNI configuration reader and the
/// bond builder both call it, so a configuration that parses is one the
/// builder takes.
///
/// ```
/// use netplumb_types::{BondMode, BondOptions, IfName};
/// let ports: Vec<IfName> = vec!["net1".parse()?, "net2".parse()?];
/// let mut options = BondOptions::new(BondMode::ActiveBackup);
/// options.miimon = Some(100);
/// options.updelay = Some(200);
/// assert!(options.check(&ports).is_ok());
/// options.updelay = Some(150);
/// assert!(options.check(&ports).is_err()); // not a multiple of miimon
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BondOptions {
    /// The bonding mode.
    pub mode: BondMode,
    /// Link monitoring interval in milliseconds; `Some(0)` turns it off.
    /// Unset, the mode's default applies ([`BondOptions::effective_miimon`]).
    pub miimon: Option<u32>,
    /// Milliseconds a port's link must be up before it is used; a multiple
    /// of the effective miimon.
    pub updelay: Option<u32>,
    /// Milliseconds a port's link must be down before it is dropped; a
    /// multiple of the effective miimon.
    pub downdelay: Option<u32>,
    /// What happens to port MACs on failover.
    pub fail_over_mac: Option<FailOverMac>,
    /// How the hashing modes pick a port.
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    /// Deliver frames received on inactive ports too.
    pub all_slaves_active: Option<bool>,
    /// Shuffle flows between ports by load (balance-tlb and balance-alb).
    pub tlb_dynamic_lb: Option<bool>,
    /// The port preferred as active whenever its link is up
    /// (active-backup, balance-tlb and balance-alb).
    pub primary: Option<IfName>,
}

impl BondOptions {
    /// `mode` with every option at the kernel's default.
    pub fn new(mode: BondMode) -> BondOptions {
        BondOptions {
            mode,
            miimon: None,
            updelay: None,
            downdelay: None,
            fail_over_mac: None,
            xmit_hash_policy: None,
            all_slaves_active: None,
            tlb_dynamic_lb: None,
            primary: None,
        }
    }

    /// The link monitoring interval the bond will have: `miimon` when set,
    /// else the mode's default ([`BondMode::default_miimon`]).
    pub fn effective_miimon(&self) -> u32 {
        self.miimon.unwrap_or(self.mode.default_miimon())
    }

    /// Checks the options against each other, the mode and `ports` (in the
    /// order they would be enslaved), as the kernel would take them:
    ///
    /// - at least two ports, none listed twice;
    /// - `miimon`, `updelay` and `downdelay` at most [`MAX_BOND_MS`];
    /// - a non-zero `updelay` or `downdelay` only with link monitoring on
    ///   (the effective miimon, which some modes turn on by themselves), and
    ///   a multiple of it: the kernel would round it down;
    /// - `primary` only in active-backup, balance-tlb and balance-alb, and
    ///   one of the ports;
    /// - `tlb_dynamic_lb` only in balance-tlb and balance-alb.
    ///
    /// `fail_over_mac` and `xmit_hash_policy` are taken in every mode, as
    /// the kernel takes them, though they only matter in some.
    pub fn check(&self, ports: &[IfName]) -> Result<(), Error> {
        let bad = |option, problem: String| Err(Error::BondOption { option, problem });
        if ports.len() < 2 {
            return bad(
                BondOption::Ports,
                format!("{} given, expected at least two", ports.len()),
            );
        }
        for (i, port) in ports.iter().enumerate() {
            if ports[..i].contains(port) {
                return bad(
                    BondOption::Ports,
                    format!("{port:?} is listed twice, expected distinct ports"),
                );
            }
        }
        let timings = [
            (BondOption::Miimon, self.miimon),
            (BondOption::Updelay, self.updelay),
            (BondOption::Downdelay, self.downdelay),
        ];
        for (option, value) in timings {
            if let Some(v) = value.filter(|&v| v > MAX_BOND_MS) {
                return bad(
                    option,
                    format!("{v} is out of range, expected 0-{MAX_BOND_MS} milliseconds"),
                );
            }
        }
        let miimon = self.effective_miimon();
        for (option, value) in [
            (BondOption::Updelay, self.updelay),
            (BondOption::Downdelay, self.downdelay),
        ] {
            match value {
                Some(v) if v > 0 && miimon == 0 => {
                    return bad(
                        option,
                        format!(
                            "{v} needs link monitoring, but miimon is 0 in mode {}; \
                             expected miimon above 0",
                            self.mode
                        ),
                    );
                }
                Some(v) if miimon > 0 && v % miimon != 0 => {
                    return bad(
                        option,
                        format!(
                            "{v} is not a multiple of miimon {miimon}, which the kernel would \
                             round it down to ({})",
                            v / miimon * miimon
                        ),
                    );
                }
                _ => {}
            }
        }
        if let Some(primary) = &self.primary {
            if !self.mode.supports_primary() {
                return bad(
                    BondOption::Primary,
                    format!(
                        "does not apply to mode {}, expected mode active-backup, balance-tlb \
                         or balance-alb",
                        self.mode
                    ),
                );
            }
            if !ports.contains(primary) {
                let names: Vec<String> = ports.iter().map(IfName::to_string).collect();
                return bad(
                    BondOption::Primary,
                    format!(
                        "{primary:?} is not one of the ports, expected one of {}",
                        names.join(", ")
                    ),
                );
            }
        }
        if self.tlb_dynamic_lb.is_some() && !self.mode.supports_tlb_dynamic_lb() {
            return bad(
                BondOption::TlbDynamicLb,
                format!(
                    "does not apply to mode {}, expected mode balance-tlb or balance-alb",
                    self.mode
                ),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ports(names: &[&str]) -> Vec<IfName> {
        names.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn problem(options: &BondOptions, names: &[&str]) -> (BondOption, String) {
        match options.check(&ports(names)) {
            Err(Error::BondOption { option, problem }) => (option, problem),
            other => panic!("{options:?}: {other:?}"),
        }
    }

    #[test]
    fn mode_accepts_names_numbers_and_aliases() {
        for mode in BondMode::ALL {
            assert_eq!(mode.name().parse::<BondMode>().unwrap(), mode);
            assert_eq!(mode.number().to_string().parse::<BondMode>().unwrap(), mode);
            assert_eq!(
                mode.name().to_uppercase().parse::<BondMode>().unwrap(),
                mode
            );
            assert_eq!(BondMode::from_number(mode.number()), Some(mode));
        }
        for lacp in ["lacp", "802.3ad", "ieee802.3ad", " 4 "] {
            assert_eq!(lacp.parse::<BondMode>().unwrap(), BondMode::Ieee8023ad);
        }
        let err = "7".parse::<BondMode>().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("\"7\" is not a valid bonding mode: expected"),
            "{err}"
        );
        assert!("round-robin".parse::<BondMode>().is_err());
    }

    #[test]
    fn the_other_enumerations_accept_names_and_numbers() {
        for p in FailOverMac::ALL {
            assert_eq!(p.name().parse::<FailOverMac>().unwrap(), p);
            assert_eq!(p.number().to_string().parse::<FailOverMac>().unwrap(), p);
        }
        assert!("3".parse::<FailOverMac>().is_err());
        for p in XmitHashPolicy::ALL {
            assert_eq!(p.name().parse::<XmitHashPolicy>().unwrap(), p);
            assert_eq!(p.number().to_string().parse::<XmitHashPolicy>().unwrap(), p);
        }
        assert_eq!(
            "layer34".parse::<XmitHashPolicy>().unwrap(),
            XmitHashPolicy::Layer34
        );
        assert!("layer5".parse::<XmitHashPolicy>().is_err());
    }

    #[test]
    fn a_plain_bond_of_two_ports_passes() {
        for mode in BondMode::ALL {
            assert!(
                BondOptions::new(mode)
                    .check(&ports(&["net1", "net2"]))
                    .is_ok(),
                "{mode}"
            );
        }
    }

    #[test]
    fn ports_must_be_two_or_more_and_distinct() {
        let o = BondOptions::new(BondMode::ActiveBackup);
        assert_eq!(problem(&o, &["net1"]).0, BondOption::Ports);
        let (option, text) = problem(&o, &["net1", "net1"]);
        assert_eq!(option, BondOption::Ports);
        assert!(text.contains("\"net1\" is listed twice"), "{text}");
    }

    #[test]
    fn delays_need_monitoring_and_multiples_of_it() {
        let mut o = BondOptions::new(BondMode::ActiveBackup);
        o.updelay = Some(0);
        assert!(o.check(&ports(&["a", "b"])).is_ok(), "0 is the default");
        o.updelay = Some(200);
        let (option, text) = problem(&o, &["a", "b"]);
        assert_eq!(option, BondOption::Updelay);
        assert!(text.contains("needs link monitoring"), "{text}");
        o.miimon = Some(100);
        assert!(o.check(&ports(&["a", "b"])).is_ok());
        o.downdelay = Some(150);
        let (option, text) = problem(&o, &["a", "b"]);
        assert_eq!(option, BondOption::Downdelay);
        assert!(text.contains("not a multiple of miimon 100"), "{text}");
        assert!(text.contains("(100)"), "{text}");
    }

    #[test]
    fn some_modes_monitor_by_default() {
        for mode in [
            BondMode::Ieee8023ad,
            BondMode::BalanceTlb,
            BondMode::BalanceAlb,
        ] {
            let mut o = BondOptions::new(mode);
            o.updelay = Some(300);
            assert!(o.check(&ports(&["a", "b"])).is_ok(), "{mode}");
            o.miimon = Some(0);
            assert_eq!(problem(&o, &["a", "b"]).0, BondOption::Updelay, "{mode}");
        }
    }

    #[test]
    fn timings_fit_in_an_int() {
        let mut o = BondOptions::new(BondMode::ActiveBackup);
        o.miimon = Some(MAX_BOND_MS + 1);
        assert_eq!(problem(&o, &["a", "b"]).0, BondOption::Miimon);
    }

    #[test]
    fn primary_is_a_port_in_a_mode_that_has_one() {
        let mut o = BondOptions::new(BondMode::ActiveBackup);
        o.primary = Some("c".parse().unwrap());
        let (option, text) = problem(&o, &["a", "b"]);
        assert_eq!(option, BondOption::Primary);
        assert!(
            text.contains("not one of the ports, expected one of a, b"),
            "{text}"
        );
        o.primary = Some("b".parse().unwrap());
        assert!(o.check(&ports(&["a", "b"])).is_ok());
        o.mode = BondMode::BalanceRr;
        assert!(problem(&o, &["a", "b"])
            .1
            .contains("does not apply to mode balance-rr"));
    }

    #[test]
    fn tlb_dynamic_lb_only_in_the_tlb_modes() {
        let mut o = BondOptions::new(BondMode::BalanceXor);
        o.tlb_dynamic_lb = Some(false);
        assert_eq!(problem(&o, &["a", "b"]).0, BondOption::TlbDynamicLb);
        o.mode = BondMode::BalanceAlb;
        assert!(o.check(&ports(&["a", "b"])).is_ok());
    }

    #[test]
    fn error_names_the_option_first() {
        let mut o = BondOptions::new(BondMode::BalanceRr);
        o.tlb_dynamic_lb = Some(true);
        let err = o.check(&ports(&["a", "b"])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("tlb_dynamic_lb: does not apply"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn accepted_delays_are_what_the_kernel_keeps(
            mode in 0u8..7, miimon in proptest::option::of(0u32..1000),
            updelay in proptest::option::of(0u32..5000),
        ) {
            let mut o = BondOptions::new(BondMode::from_number(mode).unwrap());
            o.miimon = miimon;
            o.updelay = updelay;
            if o.check(&ports(&["a", "b"])).is_ok() {
                let m = o.effective_miimon();
                let d = updelay.unwrap_or(0);
                prop_assert!(d == 0 || (m > 0 && d % m == 0));
            }
        }
    }
}
