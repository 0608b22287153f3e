//! The kernel's bonding modes and the enumerated bond options, typed.
//!
//! Each type parses what people write in configs (the kernel's names, the
//! numeric values, and the few aliases in common use) and prints the
//! kernel's canonical name.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A bonding mode, as `/sys/class/net/<bond>/bonding/mode` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
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

impl Mode {
    /// Every mode, in kernel order.
    pub const ALL: [Mode; 7] = [
        Mode::BalanceRr,
        Mode::ActiveBackup,
        Mode::BalanceXor,
        Mode::Broadcast,
        Mode::Ieee8023ad,
        Mode::BalanceTlb,
        Mode::BalanceAlb,
    ];

    /// The kernel's number for this mode (`BOND_MODE_*`).
    pub fn number(self) -> u8 {
        match self {
            Mode::BalanceRr => 0,
            Mode::ActiveBackup => 1,
            Mode::BalanceXor => 2,
            Mode::Broadcast => 3,
            Mode::Ieee8023ad => 4,
            Mode::BalanceTlb => 5,
            Mode::BalanceAlb => 6,
        }
    }

    /// The mode with the kernel's number `n`, if there is one.
    pub fn from_number(n: u8) -> Option<Mode> {
        Mode::ALL.get(usize::from(n)).copied()
    }

    /// The kernel's name for this mode.
    pub fn name(self) -> &'static str {
        match self {
            Mode::BalanceRr => "balance-rr",
            Mode::ActiveBackup => "active-backup",
            Mode::BalanceXor => "balance-xor",
            Mode::Broadcast => "broadcast",
            Mode::Ieee8023ad => "802.3ad",
            Mode::BalanceTlb => "balance-tlb",
            Mode::BalanceAlb => "balance-alb",
        }
    }

    /// Whether the kernel accepts `primary` in this mode.
    pub fn supports_primary(self) -> bool {
        matches!(
            self,
            Mode::ActiveBackup | Mode::BalanceTlb | Mode::BalanceAlb
        )
    }

    /// Whether the kernel accepts `tlb_dynamic_lb` in this mode.
    pub fn supports_tlb_dynamic_lb(self) -> bool {
        matches!(self, Mode::BalanceTlb | Mode::BalanceAlb)
    }

    /// The `miimon` the kernel gives a bond of this mode when none is set:
    /// 802.3ad, balance-tlb and balance-alb cannot monitor links by ARP, so
    /// setting them turns MII monitoring on at 100 ms if it is off
    /// (`bond_option_mode_set`); the other modes leave it off (0).
    pub fn default_miimon(self) -> u32 {
        match self {
            Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb => 100,
            _ => 0,
        }
    }

    /// Whether `xmit_hash_policy` has any effect in this mode. The kernel
    /// accepts it in every mode, but only these modes hash.
    pub fn uses_xmit_hash_policy(self) -> bool {
        matches!(
            self,
            Mode::BalanceXor | Mode::Ieee8023ad | Mode::BalanceTlb | Mode::BalanceAlb
        )
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Mode {
    type Err = Error;

    /// Accepts the kernel's names, their numbers (`"0"` to `"6"`) and the
    /// aliases `"802.3ad"`/`"lacp"`, case-insensitively.
    fn from_str(s: &str) -> Result<Mode, Error> {
        let t = s.trim().to_ascii_lowercase();
        if let Ok(n) = t.parse::<u8>() {
            if let Some(m) = Mode::from_number(n) {
                return Ok(m);
            }
        }
        if t == "lacp" || t == "ieee802.3ad" {
            return Ok(Mode::Ieee8023ad);
        }
        Mode::ALL
            .into_iter()
            .find(|m| m.name() == t)
            .ok_or_else(|| Error::InvalidOption {
                option: "mode",
                value: s.to_owned(),
                expected: "balance-rr, active-backup, balance-xor, broadcast, 802.3ad, \
                       balance-tlb, balance-alb, or 0-6",
            })
    }
}

/// What the bond does with port MACs on failover (`fail_over_mac`).
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
        match n {
            0 => Some(FailOverMac::None),
            1 => Some(FailOverMac::Active),
            2 => Some(FailOverMac::Follow),
            _ => None,
        }
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

    /// Accepts `none`/`active`/`follow` and `0`/`1`/`2`, case-insensitively.
    fn from_str(s: &str) -> Result<FailOverMac, Error> {
        let t = s.trim().to_ascii_lowercase();
        let found = match t.parse::<u8>() {
            Ok(n) => FailOverMac::from_number(n),
            Err(_) => [FailOverMac::None, FailOverMac::Active, FailOverMac::Follow]
                .into_iter()
                .find(|p| p.name() == t),
        };
        found.ok_or_else(|| Error::InvalidOption {
            option: "fail_over_mac",
            value: s.to_owned(),
            expected: "none, active, follow, or 0-2",
        })
    }
}

/// How balance-xor, 802.3ad and tlb pick a port (`xmit_hash_policy`).
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
    const ALL: [XmitHashPolicy; 6] = [
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

    /// Accepts the kernel's names and numbers (`0`-`5`), case-insensitively.
    /// bond-cni's documentation spells `layer3+4` also as `layer34`, and
    /// configs in the wild follow it, so the `+` may be left out.
    fn from_str(s: &str) -> Result<XmitHashPolicy, Error> {
        let t = s.trim().to_ascii_lowercase();
        if let Ok(n) = t.parse::<u8>() {
            if let Some(p) = XmitHashPolicy::from_number(n) {
                return Ok(p);
            }
        }
        XmitHashPolicy::ALL
            .into_iter()
            .find(|p| p.name() == t || p.name().replace('+', "") == t)
            .ok_or_else(|| Error::InvalidOption {
                option: "xmit_hash_policy",
                value: s.to_owned(),
                expected: "layer2, layer3+4, layer2+3, encap2+3, encap3+4, vlan+srcmac, or 0-5",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn modes_parse_by_name_number_and_alias() {
        for m in Mode::ALL {
            assert_eq!(m.name().parse::<Mode>().unwrap(), m);
            assert_eq!(m.number().to_string().parse::<Mode>().unwrap(), m);
            assert_eq!(m.name().to_uppercase().parse::<Mode>().unwrap(), m);
        }
        assert_eq!("lacp".parse::<Mode>().unwrap(), Mode::Ieee8023ad);
        assert_eq!(
            " active-backup ".parse::<Mode>().unwrap(),
            Mode::ActiveBackup
        );
    }

    #[test]
    fn unknown_mode_names_the_option_and_the_choices() {
        let err = "7".parse::<Mode>().unwrap_err().to_string();
        assert!(err.contains("mode"), "{err}");
        assert!(err.contains("\"7\""), "{err}");
        assert!(err.contains("active-backup"), "{err}");
        assert!("active_backup".parse::<Mode>().is_err());
        assert!("".parse::<Mode>().is_err());
    }

    #[test]
    fn mode_specific_options_follow_the_kernel_table() {
        let primary: Vec<_> = Mode::ALL
            .into_iter()
            .filter(|m| m.supports_primary())
            .collect();
        assert_eq!(
            primary,
            [Mode::ActiveBackup, Mode::BalanceTlb, Mode::BalanceAlb]
        );
        let tlb: Vec<_> = Mode::ALL
            .into_iter()
            .filter(|m| m.supports_tlb_dynamic_lb())
            .collect();
        assert_eq!(tlb, [Mode::BalanceTlb, Mode::BalanceAlb]);
    }

    #[test]
    fn fail_over_mac_parses_names_and_numbers() {
        assert_eq!("1".parse::<FailOverMac>().unwrap(), FailOverMac::Active);
        assert_eq!(
            "Follow".parse::<FailOverMac>().unwrap(),
            FailOverMac::Follow
        );
        assert_eq!("none".parse::<FailOverMac>().unwrap(), FailOverMac::None);
        let err = "3".parse::<FailOverMac>().unwrap_err().to_string();
        assert!(
            err.contains("fail_over_mac") && err.contains("0-2"),
            "{err}"
        );
    }

    #[test]
    fn xmit_hash_policy_accepts_the_spelling_without_plus() {
        assert_eq!(
            "layer3+4".parse::<XmitHashPolicy>().unwrap(),
            XmitHashPolicy::Layer34
        );
        assert_eq!(
            "layer34".parse::<XmitHashPolicy>().unwrap(),
            XmitHashPolicy::Layer34
        );
        assert_eq!(
            "LAYER2+3".parse::<XmitHashPolicy>().unwrap(),
            XmitHashPolicy::Layer23
        );
        assert_eq!(
            "5".parse::<XmitHashPolicy>().unwrap(),
            XmitHashPolicy::VlanSrcMac
        );
        assert!("layer4".parse::<XmitHashPolicy>().is_err());
    }

    proptest! {
        #[test]
        fn numbers_round_trip(n in 0u8..=255) {
            if let Some(m) = Mode::from_number(n) { prop_assert_eq!(m.number(), n); }
            if let Some(p) = FailOverMac::from_number(n) { prop_assert_eq!(p.number(), n); }
            if let Some(p) = XmitHashPolicy::from_number(n) { prop_assert_eq!(p.number(), n); }
        }

        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = s.parse::<Mode>();
            let _ = s.parse::<FailOverMac>();
            let _ = s.parse::<XmitHashPolicy>();
        }
    }
}
