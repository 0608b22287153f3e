//! PCI addresses.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A PCI function address, `domain:bus:device.function`, as sysfs names
/// devices and device plugins hand them out.
///
/// Parsing takes the full form `0000:03:02.0` (a domain of 4 to 8 hex
/// digits: VMD domains have 5) and the short form `03:02.0`, which `lspci`
/// prints for domain 0; the bus is two hex digits, the device two (00 to
/// 1f) and the function one (0 to 7), in either case. Display always
/// writes the full lowercase form sysfs uses, which parses back to the
/// same address. Stored (serde) as that text.
///
/// ```
/// use netplumb_types::PciAddr;
/// let addr: PciAddr = "01:10.2".parse()?;
/// assert_eq!(addr.to_string(), "0000:01:10.2");
/// assert_eq!(addr, PciAddr::new(0, 1, 0x10, 2)?);
/// assert!("0000:01:20.0".parse::<PciAddr>().is_err());
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr {
    domain: u32,
    bus: u8,
    device: u8,
    function: u8,
}

impl PciAddr {
    /// The address `domain:bus:device.function`; the device must be 0 to
    /// 0x1f and the function 0 to 7, which is all PCI can express.
    pub fn new(domain: u32, bus: u8, device: u8, function: u8) -> Result<PciAddr, Error> {
        let wrong = |reason| Error::PciAddr {
            value: format!("{domain:04x}:{bus:02x}:{device:02x}.{function:x}"),
            reason,
        };
        if device > 0x1f {
            return Err(wrong("the device is above 1f"));
        }
        if function > 7 {
            return Err(wrong("the function is above 7"));
        }
        Ok(PciAddr {
            domain,
            bus,
            device,
            function,
        })
    }

    /// The PCI domain (segment).
    pub fn domain(&self) -> u32 {
        self.domain
    }

    /// The bus number.
    pub fn bus(&self) -> u8 {
        self.bus
    }

    /// The device (slot) number, `0..=0x1f`.
    pub fn device(&self) -> u8 {
        self.device
    }

    /// The function number, `0..=7`.
    pub fn function(&self) -> u8 {
        self.function
    }

    /// The 16-bit routing ID (bus, device, function) that SR-IOV's
    /// `First VF Offset` and `VF Stride` count in.
    pub fn routing_id(&self) -> u16 {
        (u16::from(self.bus) << 8) | (u16::from(self.device) << 3) | u16::from(self.function)
    }

    /// The address with the same domain and the routing ID `rid`.
    pub fn with_routing_id(&self, rid: u16) -> PciAddr {
        PciAddr {
            domain: self.domain,
            bus: (rid >> 8) as u8,
            device: ((rid >> 3) & 0x1f) as u8,
            function: (rid & 7) as u8,
        }
    }
}

impl fmt::Display for PciAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.device, self.function
        )
    }
}

/// `text` as hex, when it has a number of digits in `digits`.
fn hex(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u32> {
    if digits.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

impl FromStr for PciAddr {
    type Err = Error;

    fn from_str(text: &str) -> Result<PciAddr, Error> {
        let wrong = |reason| Error::PciAddr {
            value: text.to_owned(),
            reason,
        };
        let (rest, function) = text
            .rsplit_once('.')
            .ok_or_else(|| wrong("there is no '.' before the function"))?;
        let mut parts = rest.rsplitn(3, ':');
        let device = parts.next().unwrap_or_default();
        let bus = parts
            .next()
            .ok_or_else(|| wrong("there is no ':' between the bus and the device"))?;
        let domain = match parts.next() {
            Some(domain) => {
                hex(domain, 4..=8).ok_or_else(|| wrong("the domain is not 4 to 8 hex digits"))?
            }
            None => 0,
        };
        let bus = hex(bus, 2..=2).ok_or_else(|| wrong("the bus is not two hex digits"))?;
        let device = hex(device, 2..=2)
            .filter(|d| *d <= 0x1f)
            .ok_or_else(|| wrong("the device is not two hex digits from 00 to 1f"))?;
        let function = hex(function, 1..=1)
            .filter(|f| *f <= 7)
            .ok_or_else(|| wrong("the function is not a digit from 0 to 7"))?;
        // The digit counts and filters above bound each part.
        Ok(PciAddr {
            domain,
            bus: bus as u8,
            device: device as u8,
            function: function as u8,
        })
    }
}

impl Serialize for PciAddr {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PciAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<PciAddr, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_and_short_forms() {
        let full: PciAddr = "0000:01:10.2".parse().unwrap();
        assert_eq!(full, PciAddr::new(0, 1, 0x10, 2).unwrap());
        assert_eq!("01:10.2".parse::<PciAddr>().unwrap(), full);
        assert_eq!(
            "0000:AF:1F.7".parse::<PciAddr>().unwrap().to_string(),
            "0000:af:1f.7"
        );
        assert_eq!(
            "10000:00:02.0".parse::<PciAddr>().unwrap().to_string(),
            "10000:00:02.0"
        );
    }

    #[test]
    fn bad_input_is_refused_naming_the_part() {
        for (input, needle) in [
            ("", "'.'"),
            ("0000:01:10", "'.'"),
            ("0000:0110.0", "bus"),
            ("0110.0", "':'"),
            ("0000:01:20.0", "device"),
            ("0000:01:10.8", "function"),
            ("0000:001:10.0", "bus"),
            ("0000:1:10.0", "bus"),
            ("3:02.0", "bus"),
            ("0000:01:10.0 ", "function"),
            (" 0000:01:10.0", "domain"),
            ("000:01:10.0", "domain"),
            ("000000000:01:10.0", "domain"),
            ("x:0000:01:10.0", "domain"),
            ("0000:01:+1.0", "device"),
            ("0000:03:02.0:1", "function"),
        ] {
            let err = input.parse::<PciAddr>().unwrap_err();
            assert!(
                matches!(&err, Error::PciAddr { value, .. } if value == input),
                "{input:?}: the error holds the input: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(needle), "{input:?}: {text}");
            assert!(
                text.starts_with(&format!("{input:?} is not a PCI address: ")),
                "{text}"
            );
        }
    }

    #[test]
    fn parts_are_checked_on_construction() {
        let err = PciAddr::new(0, 0, 0x20, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"0000:00:20.0\" is not a PCI address: the device is above 1f; expected \
             domain:bus:device.function such as 0000:03:02.0, or bus:device.function \
             (domain 0000) such as 03:02.0"
        );
        assert!(PciAddr::new(0, 0, 0, 8)
            .unwrap_err()
            .to_string()
            .contains("function is above 7"));
        assert!(PciAddr::new(u32::MAX, 255, 31, 7).is_ok());
    }

    #[test]
    fn routing_id_round_trips() {
        let vf = PciAddr::new(0, 0x3b, 0x02, 0x5).unwrap();
        assert_eq!(vf.routing_id(), 0x3b15);
        assert_eq!(
            PciAddr::new(0, 0, 0, 0).unwrap().with_routing_id(0x3b15),
            vf
        );
    }

    #[test]
    fn stored_as_text() {
        let addr: PciAddr = "0000:01:10.2".parse().unwrap();
        assert_eq!(serde_json::to_string(&addr).unwrap(), r#""0000:01:10.2""#);
        assert_eq!(
            serde_json::from_str::<PciAddr>(r#""01:10.2""#).unwrap(),
            addr
        );
        assert!(serde_json::from_str::<PciAddr>(r#""01:10""#).is_err());
    }

    fn any_addr() -> impl Strategy<Value = PciAddr> {
        (any::<u32>(), any::<u8>(), 0u8..=0x1f, 0u8..=7)
            .prop_map(|(d, b, s, f)| PciAddr::new(d, b, s, f).unwrap())
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(addr in any_addr()) {
            prop_assert_eq!(addr.to_string().parse::<PciAddr>().unwrap(), addr);
        }

        #[test]
        fn parse_never_panics_and_output_is_canonical(s in "\\PC{0,20}") {
            if let Ok(addr) = s.parse::<PciAddr>() {
                let canonical = addr.to_string();
                prop_assert_eq!(canonical.parse::<PciAddr>().unwrap(), addr);
                prop_assert_eq!(canonical.to_lowercase(), canonical);
            }
        }

        #[test]
        fn near_valid_input_never_panics(s in "[0-9a-fA-F:.]{0,16}") {
            let _ = s.parse::<PciAddr>();
        }

        #[test]
        fn routing_id_is_a_bijection_within_a_domain(addr in any_addr()) {
            prop_assert_eq!(addr.with_routing_id(addr.routing_id()), addr);
        }
    }
}
