//! Validated names and addresses as the CNI protocol carries them.
//!
//! Each type's parser fails with a [`ValueError`]: what is wrong and what
//! would be right, naming no field. The caller knows which field or
//! variable held the text, and which CNI error code fits, and adds both.

use std::fmt;
use std::str::FromStr;

/// The longest interface name Linux accepts (IFNAMSIZ less the NUL).
const IFNAME_MAX: usize = 15;

/// Why a text is not a valid [`IfName`], [`ContainerId`], [`MacAddr`] or
/// [`PciAddr`], or why parts do not make a [`PciAddr`].
///
/// It holds the reason alone, such as `"0000:03:20.0" is not a PCI address,
/// expected ...`; the configuration and environment readers turn it into an
/// [`Error`](crate::Error) that names the field or variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    fn new(reason: impl Into<String>) -> ValueError {
        ValueError(reason.into())
    }

    /// What is wrong and what would be right.
    pub fn reason(&self) -> &str {
        &self.0
    }
}

/// An interface name as CNI allows it: 1-15 bytes, not `.` or `..`, and no
/// `/`, `:` or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName(String);

impl IfName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = ValueError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.is_empty() {
            return Err(ValueError::new(
                "is empty, expected an interface name of 1-15 bytes",
            ));
        }
        if name.len() > IFNAME_MAX {
            return Err(ValueError::new(format!(
                "{name:?} is {} bytes long, expected at most {IFNAME_MAX}",
                name.len()
            )));
        }
        if name == "." || name == ".." {
            return Err(ValueError::new(format!(
                "{name:?} is not a usable interface name"
            )));
        }
        if let Some(c) = name
            .chars()
            .find(|&c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
        {
            return Err(ValueError::new(format!(
                "{name:?} contains {c:?}, expected no '/', ':', NUL or whitespace"
            )));
        }
        Ok(IfName(name.to_string()))
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Checks the spec's identifier rule, shared by container IDs and network
/// names: an ASCII letter or digit, then letters, digits, `_`, `.` or `-`.
pub(crate) fn check_identifier(text: &str) -> Result<(), String> {
    const RULE: &str = "expected a letter or digit followed by letters, digits, '_', '.' or '-'";
    let mut chars = text.chars();
    match chars.next() {
        None => Err(format!("is empty, {RULE}")),
        Some(c) if !c.is_ascii_alphanumeric() => Err(format!("{text:?} starts with {c:?}, {RULE}")),
        Some(_) => match chars.find(|&c| !(c.is_ascii_alphanumeric() || "_.-".contains(c))) {
            Some(c) => Err(format!("{text:?} contains {c:?}, {RULE}")),
            None => Ok(()),
        },
    }
}

/// A container ID as the spec allows it: an ASCII letter or digit, then
/// letters, digits, `_`, `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId(String);

impl ContainerId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ContainerId {
    type Err = ValueError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        check_identifier(id)
            .map(|()| ContainerId(id.to_string()))
            .map_err(ValueError)
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An Ethernet MAC address. Parsed from `aa:bb:cc:dd:ee:ff` or
/// `aa-bb-cc-dd-ee-ff` in either case; written lowercase with colons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MacAddr([u8; 6]);

impl MacAddr {
    /// The address with these six bytes.
    pub const fn new(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }

    /// The six bytes.
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(octets: [u8; 6]) -> MacAddr {
        MacAddr(octets)
    }
}

impl FromStr for MacAddr {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || {
            ValueError::new(format!(
                "{text:?} is not a MAC address, expected six hex pairs such as 02:00:00:00:00:01"
            ))
        };
        let sep = if text.contains('-') { '-' } else { ':' };
        let mut bytes = [0u8; 6];
        let mut parts = text.split(sep);
        for byte in &mut bytes {
            let part = parts.next().ok_or_else(wrong)?;
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(wrong());
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| wrong())?;
        }
        if parts.next().is_some() {
            return Err(wrong());
        }
        Ok(MacAddr(bytes))
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A PCI address as a device plugin writes it: `0000:03:02.0`, or the short
/// `03:02.0` (domain 0). Written in the full lowercase form.
///
/// The device number is 0-31 and the function 0-7 however the address is
/// made, so what [`Display`](fmt::Display) writes always parses back to the
/// same address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr {
    domain: u32,
    bus: u8,
    device: u8,
    function: u8,
}

impl PciAddr {
    /// The address `domain:bus:device.function`; the device must be 0-31
    /// and the function 0-7.
    pub fn new(domain: u32, bus: u8, device: u8, function: u8) -> Result<PciAddr, ValueError> {
        if device > 31 {
            return Err(ValueError::new(format!(
                "device {device} is out of range, expected 0-31"
            )));
        }
        if function > 7 {
            return Err(ValueError::new(format!(
                "function {function} is out of range, expected 0-7"
            )));
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

    /// The device number, 0-31.
    pub fn device(&self) -> u8 {
        self.device
    }

    /// The function number, 0-7.
    pub fn function(&self) -> u8 {
        self.function
    }
}

impl FromStr for PciAddr {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let wrong = || {
            ValueError::new(format!(
                "{text:?} is not a PCI address, expected the form 0000:03:02.0"
            ))
        };
        let hex = |s: &str, digits: std::ops::RangeInclusive<usize>| {
            if digits.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_hexdigit()) {
                u32::from_str_radix(s, 16).ok()
            } else {
                None
            }
        };
        let (domain, rest) = match text.matches(':').count() {
            2 => {
                let (d, rest) = text.split_once(':').ok_or_else(wrong)?;
                (hex(d, 4..=8).ok_or_else(wrong)?, rest)
            }
            1 => (0, text),
            _ => return Err(wrong()),
        };
        let (bus, slot) = rest.split_once(':').ok_or_else(wrong)?;
        let (device, function) = slot.split_once('.').ok_or_else(wrong)?;
        let bus = hex(bus, 2..=2).ok_or_else(wrong)?;
        let device = hex(device, 2..=2).ok_or_else(wrong)?;
        let function = hex(function, 1..=1).ok_or_else(wrong)?;
        // Two hex digits and one always fit a u8; new() checks the ranges.
        PciAddr::new(domain, bus as u8, device as u8, function as u8).map_err(|_| wrong())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn reason<T: FromStr<Err = ValueError>>(text: &str) -> String {
        match text.parse::<T>() {
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => e.reason().to_string(),
        }
    }

    #[test]
    fn ifname_rules() {
        assert!("net1".parse::<IfName>().is_ok());
        assert!("a23456789012345".parse::<IfName>().is_ok());
        assert_eq!(
            reason::<IfName>("a234567890123456"),
            "\"a234567890123456\" is 16 bytes long, expected at most 15"
        );
        assert!(reason::<IfName>("").contains("is empty"));
        assert!(".".parse::<IfName>().is_err());
        assert!("..".parse::<IfName>().is_err());
        assert!("...".parse::<IfName>().is_ok());
        for bad in ["a/b", "a:b", "a b", "a\tb", "a\u{a0}b"] {
            assert!(reason::<IfName>(bad).contains("expected no '/'"), "{bad}");
        }
    }

    #[test]
    fn container_id_rules() {
        assert!("3f6940ab5ab4".parse::<ContainerId>().is_ok());
        assert!("a_b.c-d".parse::<ContainerId>().is_ok());
        assert!(reason::<ContainerId>("-a").contains("starts with '-'"));
        assert!(reason::<ContainerId>("a/b").contains("contains '/'"));
        assert!("é".parse::<ContainerId>().is_err());
        assert!("".parse::<ContainerId>().is_err());
    }

    #[test]
    fn parse_errors_name_no_field() {
        // The reason starts with the text itself or what is wrong with it;
        // the field or variable is for the caller to add.
        assert_eq!(
            reason::<MacAddr>("zz"),
            "\"zz\" is not a MAC address, expected six hex pairs such as 02:00:00:00:00:01"
        );
        assert_eq!(
            "eth0".parse::<PciAddr>().unwrap_err().to_string(),
            "\"eth0\" is not a PCI address, expected the form 0000:03:02.0"
        );
    }

    #[test]
    fn mac_parses_both_separators_and_prints_canonically() {
        let mac: MacAddr = "CA:FE:C0:FF:EE:00".parse().unwrap();
        assert_eq!(mac.to_string(), "ca:fe:c0:ff:ee:00");
        assert_eq!(mac.octets(), [0xca, 0xfe, 0xc0, 0xff, 0xee, 0x00]);
        assert_eq!(MacAddr::new(mac.octets()), mac);
        assert_eq!("ca-fe-c0-ff-ee-00".parse::<MacAddr>().unwrap(), mac);
        for bad in [
            "ca:fe:c0:ff:ee",
            "ca:fe:c0:ff:ee:00:11",
            "cafe.c0ff.ee00",
            "ca:fe:c0:ff:ee:0g",
            "+a:fe:c0:ff:ee:00",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pci_address_long_and_short_forms() {
        let pci: PciAddr = "0000:03:02.0".parse().unwrap();
        assert_eq!(
            (pci.domain(), pci.bus(), pci.device(), pci.function()),
            (0, 3, 2, 0)
        );
        assert_eq!(PciAddr::new(0, 3, 2, 0).unwrap(), pci);
        assert_eq!("03:02.0".parse::<PciAddr>().unwrap(), pci);
        assert_eq!(
            "0000:AF:1F.7".parse::<PciAddr>().unwrap().to_string(),
            "0000:af:1f.7"
        );
        assert_eq!(
            "10000:00:02.0".parse::<PciAddr>().unwrap().to_string(),
            "10000:00:02.0"
        );
        for bad in [
            "0000:03:20.0",
            "0000:03:02.8",
            "3:02.0",
            "0000:03:02",
            "x",
            "0000:03:02.0:1",
        ] {
            assert!(bad.parse::<PciAddr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn pci_address_parts_are_checked_on_construction() {
        assert_eq!(
            PciAddr::new(0, 0, 32, 0).unwrap_err().reason(),
            "device 32 is out of range, expected 0-31"
        );
        assert_eq!(
            PciAddr::new(0, 0, 0, 8).unwrap_err().reason(),
            "function 8 is out of range, expected 0-7"
        );
        assert!(PciAddr::new(u32::MAX, 255, 31, 7).is_ok());
    }
}
