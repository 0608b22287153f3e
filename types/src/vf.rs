//! A VF's PF-side settings that are kernel enumerations.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::Error;

const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// The protocol of a VF's port VLAN.
///
/// Parsed from `802.1Q` or `802.1ad` in any case; written so. Stored
/// (serde) as that text, or as the ethertype number for another protocol
/// a driver reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum VlanProto {
    /// 802.1Q (`0x8100`), the default.
    #[default]
    Dot1Q,
    /// 802.1ad (`0x88a8`), QinQ.
    Dot1Ad,
    /// Another ethertype, as a driver reported it.
    Other(u16),
}

impl VlanProto {
    /// The ethertype.
    pub fn ethertype(self) -> u16 {
        match self {
            VlanProto::Dot1Q => ETH_P_8021Q,
            VlanProto::Dot1Ad => ETH_P_8021AD,
            VlanProto::Other(v) => v,
        }
    }

    /// The protocol of an ethertype.
    pub fn from_ethertype(ethertype: u16) -> VlanProto {
        match ethertype {
            ETH_P_8021Q => VlanProto::Dot1Q,
            ETH_P_8021AD => VlanProto::Dot1Ad,
            v => VlanProto::Other(v),
        }
    }
}

impl fmt::Display for VlanProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VlanProto::Dot1Q => f.write_str("802.1Q"),
            VlanProto::Dot1Ad => f.write_str("802.1ad"),
            VlanProto::Other(v) => write!(f, "{v:#06x}"),
        }
    }
}

impl FromStr for VlanProto {
    type Err = Error;

    fn from_str(text: &str) -> Result<VlanProto, Error> {
        match text.to_ascii_lowercase().as_str() {
            "802.1q" => Ok(VlanProto::Dot1Q),
            "802.1ad" => Ok(VlanProto::Dot1Ad),
            _ => Err(Error::Keyword {
                what: "VLAN protocol",
                value: text.to_owned(),
                expected: "802.1Q or 802.1ad",
            }),
        }
    }
}

/// A VF's administrative link state (`IFLA_VF_LINK_STATE_*`), as `ip link
/// set PF vf N state` names it.
///
/// Parsed from `auto`, `enable` or `disable` in any case; written so.
/// Stored (serde) as that text, or as the kernel's number for a value it
/// has no name for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum VfLinkState {
    /// Follows the PF's link (0), the default.
    #[default]
    Auto,
    /// Always up (1).
    Enable,
    /// Always down (2).
    Disable,
    /// Any other value a driver reported.
    Other(u32),
}

impl VfLinkState {
    /// The kernel's value.
    pub fn as_u32(self) -> u32 {
        match self {
            VfLinkState::Auto => 0,
            VfLinkState::Enable => 1,
            VfLinkState::Disable => 2,
            VfLinkState::Other(v) => v,
        }
    }

    /// The state of a kernel value.
    pub fn from_u32(v: u32) -> VfLinkState {
        match v {
            0 => VfLinkState::Auto,
            1 => VfLinkState::Enable,
            2 => VfLinkState::Disable,
            v => VfLinkState::Other(v),
        }
    }
}

impl fmt::Display for VfLinkState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VfLinkState::Auto => f.write_str("auto"),
            VfLinkState::Enable => f.write_str("enable"),
            VfLinkState::Disable => f.write_str("disable"),
            VfLinkState::Other(v) => write!(f, "{v}"),
        }
    }
}

impl FromStr for VfLinkState {
    type Err = Error;

    fn from_str(text: &str) -> Result<VfLinkState, Error> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(VfLinkState::Auto),
            "enable" => Ok(VfLinkState::Enable),
            "disable" => Ok(VfLinkState::Disable),
            _ => Err(Error::Keyword {
                what: "VF link state",
                value: text.to_owned(),
                expected: "auto, enable or disable",
            }),
        }
    }
}

/// Serde for the two enumerations: a known value as its name, another as
/// its number.
macro_rules! name_or_number {
    ($ty:ident, $num:ty, $from:expr) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    $ty::Other(v) => v.serialize(serializer),
                    known => serializer.collect_str(known),
                }
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                struct NameOrNumber;
                impl<'de> Visitor<'de> for NameOrNumber {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a name or a number")
                    }
                    fn visit_str<E: de::Error>(self, text: &str) -> Result<$ty, E> {
                        text.parse().map_err(E::custom)
                    }
                    fn visit_u64<E: de::Error>(self, v: u64) -> Result<$ty, E> {
                        let v = <$num>::try_from(v).map_err(E::custom)?;
                        let from: fn($num) -> $ty = $from;
                        Ok(from(v))
                    }
                }
                deserializer.deserialize_any(NameOrNumber)
            }
        }
    };
}

name_or_number!(VlanProto, u16, VlanProto::from_ethertype);
name_or_number!(VfLinkState, u32, VfLinkState::from_u32);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_any_case_and_print_canonically() {
        assert_eq!("802.1q".parse::<VlanProto>().unwrap(), VlanProto::Dot1Q);
        assert_eq!("802.1AD".parse::<VlanProto>().unwrap(), VlanProto::Dot1Ad);
        assert_eq!(VlanProto::Dot1Ad.to_string(), "802.1ad");
        assert_eq!(VlanProto::Other(0x9100).to_string(), "0x9100");
        assert!("dot1q".parse::<VlanProto>().is_err());
        assert_eq!(
            "Enable".parse::<VfLinkState>().unwrap(),
            VfLinkState::Enable
        );
        let err = "on".parse::<VfLinkState>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"on\" is not a valid VF link state: expected auto, enable or disable"
        );
    }

    #[test]
    fn kernel_numbers_round_trip() {
        for v in 0..8 {
            assert_eq!(VfLinkState::from_u32(v).as_u32(), v);
        }
        for e in [0x8100, 0x88a8, 0x9100] {
            assert_eq!(VlanProto::from_ethertype(e).ethertype(), e);
        }
    }

    #[test]
    fn stored_as_names_or_numbers() {
        for proto in [VlanProto::Dot1Q, VlanProto::Dot1Ad, VlanProto::Other(7)] {
            let json = serde_json::to_string(&proto).unwrap();
            assert_eq!(
                serde_json::from_str::<VlanProto>(&json).unwrap(),
                proto,
                "{json}"
            );
        }
        assert_eq!(
            serde_json::to_string(&VlanProto::Dot1Ad).unwrap(),
            r#""802.1ad""#
        );
        for state in [
            VfLinkState::Auto,
            VfLinkState::Disable,
            VfLinkState::Other(9),
        ] {
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(
                serde_json::from_str::<VfLinkState>(&json).unwrap(),
                state,
                "{json}"
            );
        }
        assert_eq!(serde_json::to_string(&VfLinkState::Other(9)).unwrap(), "9");
        assert!(serde_json::from_str::<VlanProto>("70000").is_err());
    }
}
