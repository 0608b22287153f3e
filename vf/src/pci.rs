//! PCI addresses.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A PCI function address, `domain:bus:device.function`, as sysfs names devices.
///
/// Parsing accepts the full form `0000:01:10.0` and the short form `01:10.0`,
/// which means domain `0000`: `lspci` prints the domain only when it is not
/// zero, so a short address copied from it always means domain zero.
/// Hex digits may be upper or lower case. Display always gives the canonical,
/// lowercase, full form that sysfs uses (`0000:01:10.0`); domains above
/// `ffff` (as VMD creates) print with more digits, like the kernel does.
///
/// ```
/// use netplumb_vf::PciAddr;
/// let addr: PciAddr = "01:10.2".parse().unwrap();
/// assert_eq!(addr.to_string(), "0000:01:10.2");
/// assert_eq!(addr, "0000:01:10.2".parse().unwrap());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr {
    domain: u32,
    bus: u8,
    device: u8,
    function: u8,
}

impl PciAddr {
    /// Builds an address from its parts; `None` when `device > 0x1f` or
    /// `function > 7`, which PCI cannot express.
    pub fn new(domain: u32, bus: u8, device: u8, function: u8) -> Option<Self> {
        (device <= 0x1f && function <= 7).then_some(Self {
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

    /// The address with the same domain and the given routing ID.
    pub fn with_routing_id(&self, rid: u16) -> Self {
        Self {
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

fn invalid(input: &str, reason: &'static str) -> Error {
    Error::InvalidPciAddr {
        input: input.to_owned(),
        reason,
    }
}

/// Parses 1 to `max_digits` hex digits.
fn hex_field(s: &str, max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(s, 16).ok()
}

impl FromStr for PciAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let (rest, function) = s
            .rsplit_once('.')
            .ok_or_else(|| invalid(s, "missing '.' before the function number"))?;
        let mut parts = rest.rsplitn(3, ':');
        let device = parts.next().unwrap_or_default();
        let bus = parts
            .next()
            .ok_or_else(|| invalid(s, "missing ':' between bus and device"))?;
        let domain = match parts.next() {
            Some(domain) => hex_field(domain, 8)
                .ok_or_else(|| invalid(s, "domain must be 1 to 8 hex digits"))?,
            None => 0,
        };
        let bus = hex_field(bus, 2).ok_or_else(|| invalid(s, "bus must be 1 or 2 hex digits"))?;
        let device = hex_field(device, 2)
            .filter(|d| *d <= 0x1f)
            .ok_or_else(|| invalid(s, "device must be hex 00 to 1f"))?;
        let function = hex_field(function, 1)
            .filter(|f| *f <= 7)
            .ok_or_else(|| invalid(s, "function must be 0 to 7"))?;
        // The filters above bound every value, so the narrowing casts are exact.
        Ok(Self {
            domain,
            bus: bus as u8,
            device: device as u8,
            function: function as u8,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_full_and_short_forms() {
        let full: PciAddr = "0000:01:10.2".parse().unwrap();
        assert_eq!(full, PciAddr::new(0, 1, 0x10, 2).unwrap());
        assert_eq!("01:10.2".parse::<PciAddr>().unwrap(), full);
        assert_eq!(
            "0000:AF:1F.7".parse::<PciAddr>().unwrap().to_string(),
            "0000:af:1f.7"
        );
        assert_eq!(
            "10000:00:00.0".parse::<PciAddr>().unwrap().to_string(),
            "10000:00:00.0"
        );
    }

    #[test]
    fn rejects_bad_input_naming_the_part() {
        for (input, needle) in [
            ("", "'.'"),
            ("0000:01:10", "'.'"),
            ("0000:0110.0", "bus must be"),
            ("0110.0", "':'"),
            ("0000:01:20.0", "device must be hex 00 to 1f"),
            ("0000:01:10.8", "function must be 0 to 7"),
            ("0000:001:10.0", "bus must be"),
            ("0000:01:10.0 ", "function"),
            (" 0000:01:10.0", "domain"),
            ("000000000:01:10.0", "domain"),
            ("x:0000:01:10.0", "domain"),
            ("0000:01:+1.0", "device"),
        ] {
            let err = input.parse::<PciAddr>().unwrap_err();
            assert!(
                matches!(&err, Error::InvalidPciAddr { input: held, .. } if held == input),
                "{input:?}: the error holds the input: {err:?}"
            );
            let err = err.to_string();
            assert!(err.contains(needle), "{input:?}: {err}");
            assert!(
                err.starts_with(&format!("invalid PCI address {input:?}: ")),
                "{input:?}: error quotes the input: {err}"
            );
        }
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
    fn new_rejects_out_of_range_parts() {
        assert!(PciAddr::new(0, 0, 0x20, 0).is_none());
        assert!(PciAddr::new(0, 0, 0, 8).is_none());
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
        fn parse_near_valid_never_panics(s in "[0-9a-fA-F:.]{0,16}") {
            let _ = s.parse::<PciAddr>();
        }

        #[test]
        fn routing_id_is_a_bijection_within_a_domain(addr in any_addr()) {
            prop_assert_eq!(addr.with_routing_id(addr.routing_id()), addr);
        }
    }
}
