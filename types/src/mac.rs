//! Ethernet MAC addresses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// An Ethernet MAC address.
///
/// Parsed from six two-digit hex octets in either case, separated all by
/// `:` or all by `-` (`02:ab:cd:00:00:01`, `02-AB-CD-00-00-01`); written
/// lowercase with `:`. Stored (serde) as that text.
///
/// ```
/// use netplumb_types::MacAddr;
/// let mac: MacAddr = "02-AB-cd-00-00-01".parse()?;
/// assert_eq!(mac.to_string(), "02:ab:cd:00:00:01");
/// assert!(mac.is_valid_unicast());
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The address with these six bytes.
    pub const fn new(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }

    /// The address in `bytes`, when it has exactly six (an Ethernet
    /// hardware address).
    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }

    /// The six bytes.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// True for 00:00:00:00:00:00.
    pub fn is_zero(&self) -> bool {
        self.0 == [0; 6]
    }

    /// True when the group bit (lowest bit of the first octet) is set.
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 1 == 1
    }

    /// True for an address a NIC may use as its own: unicast and not zero.
    pub fn is_valid_unicast(&self) -> bool {
        !self.is_zero() && !self.is_multicast()
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl fmt::Debug for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MacAddr({self})")
    }
}

impl FromStr for MacAddr {
    type Err = Error;

    fn from_str(text: &str) -> Result<MacAddr, Error> {
        let wrong = || Error::MacAddr {
            value: text.to_owned(),
        };
        let separator = if text.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = text.split(separator);
        for octet in &mut out {
            let part = parts.next().ok_or_else(wrong)?;
            // from_str_radix alone would take "+a" as an octet.
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(wrong());
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| wrong())?;
        }
        if parts.next().is_some() {
            return Err(wrong());
        }
        Ok(MacAddr(out))
    }
}

impl Serialize for MacAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for MacAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<MacAddr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_both_separators_and_prints_canonically() {
        let mac: MacAddr = "CA:FE:C0:FF:EE:00".parse().unwrap();
        assert_eq!(mac.to_string(), "ca:fe:c0:ff:ee:00");
        assert_eq!(mac.octets(), [0xca, 0xfe, 0xc0, 0xff, 0xee, 0x00]);
        assert_eq!("ca-fe-c0-ff-ee-00".parse::<MacAddr>().unwrap(), mac);
        for bad in [
            "",
            "ca:fe:c0:ff:ee",
            "ca:fe:c0:ff:ee:00:11",
            "cafe.c0ff.ee00",
            "ca:fe:c0:ff:ee:0g",
            "+a:fe:c0:ff:ee:00",
            "ca:fe:c0:ff:ee:+0",
            "c:fe:c0:ff:ee:00",
            "ca:fe-c0:ff:ee:00",
            "-1:fe:c0:ff:ee:00",
        ] {
            let err = bad.parse::<MacAddr>().unwrap_err();
            assert!(
                matches!(&err, Error::MacAddr { value } if value == bad),
                "{bad:?}"
            );
            assert!(err
                .to_string()
                .starts_with(&format!("{bad:?} is not a MAC address: ")));
        }
    }

    #[test]
    fn classification() {
        assert!(MacAddr([0; 6]).is_zero());
        assert!(!MacAddr([0; 6]).is_valid_unicast());
        assert!(MacAddr([1, 0, 0x5e, 0, 0, 1]).is_multicast());
        assert!(MacAddr([2, 0, 0, 0, 0, 1]).is_valid_unicast());
        assert_eq!(MacAddr::from_slice(&[1, 2, 3]), None);
        assert_eq!(
            MacAddr::from_slice(&[1, 2, 3, 4, 5, 6]),
            Some(MacAddr([1, 2, 3, 4, 5, 6]))
        );
    }

    #[test]
    fn stored_as_text() {
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        assert_eq!(
            serde_json::to_string(&mac).unwrap(),
            r#""02:00:00:00:00:01""#
        );
        assert_eq!(
            serde_json::from_str::<MacAddr>(r#""02:00:00:00:00:01""#).unwrap(),
            mac
        );
        assert!(serde_json::from_str::<MacAddr>(r#""02:00""#).is_err());
        assert!(serde_json::from_str::<MacAddr>("7").is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(bytes: [u8; 6]) {
            let mac = MacAddr(bytes);
            prop_assert_eq!(mac.to_string().parse::<MacAddr>().unwrap(), mac);
            prop_assert_eq!(mac.to_string().replace(':', "-").to_uppercase().parse::<MacAddr>().unwrap(), mac);
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = s.parse::<MacAddr>();
        }

        #[test]
        fn takes_exactly_six_hex_pairs(s in "([0-9a-fA-F+-]{2}:){5}[0-9a-fA-F+-]{2}") {
            let all_hex = s.split(':').all(|p| p.bytes().all(|b| b.is_ascii_hexdigit()));
            prop_assert_eq!(s.parse::<MacAddr>().is_ok(), all_hex && !s.contains('-'), "{}", s);
        }
    }
}
