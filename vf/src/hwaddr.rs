//! Link-layer (hardware) addresses as sysfs shows them.

use std::fmt;
use std::str::FromStr;

use crate::{Error, MacAddr};

/// Longest hardware address a netdev can have (`MAX_ADDR_LEN`).
const MAX_LEN: usize = 32;

/// A netdev's hardware address: 6 bytes for Ethernet, 20 for InfiniBand.
///
/// Parsed from and displayed as colon-separated two-digit hex bytes, the form
/// of the netdev's `address` file; display is lowercase.
///
/// ```
/// use netplumb_vf::HwAddr;
/// let mac: HwAddr = "02:00:5E:10:00:01".parse().unwrap();
/// assert_eq!(mac.to_string(), "02:00:5e:10:00:01");
/// assert_eq!(mac.as_bytes().len(), 6);
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HwAddr(Vec<u8>);

impl HwAddr {
    /// The address bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The address as an Ethernet MAC, when it is 6 bytes long; `None` for
    /// other link types (a 20-byte InfiniBand address, say).
    ///
    /// ```
    /// use netplumb_vf::{HwAddr, MacAddr};
    /// let mac: HwAddr = "02:00:5e:10:00:01".parse().unwrap();
    /// assert_eq!(mac.to_mac(), Some(MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01])));
    /// ```
    pub fn to_mac(&self) -> Option<MacAddr> {
        MacAddr::from_slice(&self.0)
    }
}

impl fmt::Display for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for HwAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HwAddr({self})")
    }
}

impl FromStr for HwAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidHwAddr {
            input: s.to_owned(),
        };
        let bytes = s
            .split(':')
            .map(|part| {
                if part.len() == 2 && part.bytes().all(|b| b.is_ascii_hexdigit()) {
                    u8::from_str_radix(part, 16).map_err(|_| invalid())
                } else {
                    Err(invalid())
                }
            })
            .collect::<Result<Vec<u8>, Error>>()?;
        if bytes.len() > MAX_LEN {
            return Err(invalid());
        }
        Ok(Self(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_ethernet_and_infiniband() {
        assert_eq!(
            "00:00:00:00:00:00".parse::<HwAddr>().unwrap().as_bytes(),
            [0; 6]
        );
        let ib = "00:00:10:29:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:4d:27:1e";
        assert_eq!(ib.parse::<HwAddr>().unwrap().as_bytes().len(), 20);
    }

    #[test]
    fn only_six_byte_addresses_are_macs() {
        let mac: HwAddr = "02:00:5e:10:00:01".parse().unwrap();
        assert_eq!(
            mac.to_mac(),
            Some(MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]))
        );
        for other in ["02:00:5e:10:00", "02:00:5e:10:00:01:02", "00"] {
            assert_eq!(other.parse::<HwAddr>().unwrap().to_mac(), None, "{other}");
        }
        let ib = "00:00:10:29:fe:80:00:00:00:00:00:00:0c:42:a1:03:00:4d:27:1e";
        assert_eq!(ib.parse::<HwAddr>().unwrap().to_mac(), None);
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "0:1:2:3:4:5",
            "00-11-22-33-44-55",
            "00:11:22:33:44:5g",
            "00::11",
            "+0:00",
        ] {
            let err = bad.parse::<HwAddr>().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidHwAddr { input } if input == bad),
                "{bad:?}: the error holds the input: {err:?}"
            );
            assert!(
                err.to_string()
                    .starts_with(&format!("invalid hardware address {bad:?}: ")),
                "{bad:?}: error quotes the input: {err}"
            );
        }
        let too_long = vec!["00"; 33].join(":");
        assert!(matches!(
            too_long.parse::<HwAddr>(),
            Err(Error::InvalidHwAddr { input }) if input == too_long
        ));
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(bytes in proptest::collection::vec(any::<u8>(), 1..=32)) {
            let addr = HwAddr(bytes);
            prop_assert_eq!(addr.to_string().parse::<HwAddr>().unwrap(), addr);
        }

        #[test]
        fn to_mac_keeps_the_bytes(bytes in proptest::collection::vec(any::<u8>(), 1..=32)) {
            let mac = HwAddr(bytes.clone()).to_mac();
            prop_assert_eq!(mac.is_some(), bytes.len() == 6);
            if let Some(mac) = mac {
                prop_assert_eq!(mac.octets().to_vec(), bytes);
            }
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<HwAddr>();
        }
    }
}
