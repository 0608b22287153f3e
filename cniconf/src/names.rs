//! Validated names and addresses as the CNI protocol carries them.
//!
//! Each type's parser returns an error that says what is wrong and what
//! would be right; callers add the field or variable name.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The longest interface name Linux accepts (IFNAMSIZ less the NUL).
const IFNAME_MAX: usize = 15;

fn invalid(what: &str, why: String) -> Error {
    Error::InvalidConfig {
        field: what.to_string(),
        message: why,
    }
}

/// An interface name as CNI allows it: 1-15 bytes, not `.` or `..`, and no
/// `/`, `:` or whitespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName(String);

impl IfName {
    /// Checks `name`; the error text says what is wrong.
    pub(crate) fn check(name: &str) -> Result<IfName, String> {
        if name.is_empty() {
            return Err("is empty, expected an interface name of 1-15 bytes".into());
        }
        if name.len() > IFNAME_MAX {
            return Err(format!(
                "{name:?} is {} bytes long, expected at most {IFNAME_MAX}",
                name.len()
            ));
        }
        if name == "." || name == ".." {
            return Err(format!("{name:?} is not a usable interface name"));
        }
        if let Some(c) = name
            .chars()
            .find(|&c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
        {
            return Err(format!(
                "{name:?} contains {c:?}, expected no '/', ':', NUL or whitespace"
            ));
        }
        Ok(IfName(name.to_string()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for IfName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IfName::check(s).map_err(|why| invalid("interface name", why))
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
    pub(crate) fn check(id: &str) -> Result<ContainerId, String> {
        check_identifier(id).map(|()| ContainerId(id.to_string()))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ContainerId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ContainerId::check(s).map_err(|why| invalid("container ID", why))
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
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub(crate) fn check(text: &str) -> Result<MacAddr, String> {
        let wrong = || {
            format!(
                "{text:?} is not a MAC address, expected six hex pairs such as 02:00:00:00:00:01"
            )
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

    /// The six bytes.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }
}

impl FromStr for MacAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MacAddr::check(s).map_err(|why| invalid("MAC address", why))
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddr {
    /// PCI domain (segment).
    pub domain: u32,
    /// Bus number.
    pub bus: u8,
    /// Device number, 0-31.
    pub device: u8,
    /// Function number, 0-7.
    pub function: u8,
}

impl PciAddr {
    pub(crate) fn check(text: &str) -> Result<PciAddr, String> {
        let wrong = || format!("{text:?} is not a PCI address, expected the form 0000:03:02.0");
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
        let device = hex(device, 2..=2).filter(|d| *d < 32).ok_or_else(wrong)?;
        let function = hex(function, 1..=1).filter(|f| *f < 8).ok_or_else(wrong)?;
        Ok(PciAddr {
            domain,
            bus: bus as u8,
            device: device as u8,
            function: function as u8,
        })
    }
}

impl FromStr for PciAddr {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PciAddr::check(s).map_err(|why| invalid("PCI address", why))
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

    #[test]
    fn ifname_rules() {
        assert!(IfName::check("net1").is_ok());
        assert!(IfName::check("a23456789012345").is_ok());
        assert!(IfName::check("a234567890123456")
            .unwrap_err()
            .contains("16 bytes long, expected at most 15"));
        assert!(IfName::check("").unwrap_err().contains("is empty"));
        assert!(IfName::check(".").is_err());
        assert!(IfName::check("..").is_err());
        assert!(IfName::check("...").is_ok());
        for bad in ["a/b", "a:b", "a b", "a\tb", "a\u{a0}b"] {
            assert!(
                IfName::check(bad).unwrap_err().contains("expected no '/'"),
                "{bad}"
            );
        }
    }

    #[test]
    fn container_id_rules() {
        assert!(ContainerId::check("3f6940ab5ab4").is_ok());
        assert!(ContainerId::check("a_b.c-d").is_ok());
        assert!(ContainerId::check("-a")
            .unwrap_err()
            .contains("starts with '-'"));
        assert!(ContainerId::check("a/b")
            .unwrap_err()
            .contains("contains '/'"));
        assert!(ContainerId::check("é").is_err());
        assert!(ContainerId::check("").is_err());
    }

    #[test]
    fn mac_parses_both_separators_and_prints_canonically() {
        let mac = MacAddr::check("CA:FE:C0:FF:EE:00").unwrap();
        assert_eq!(mac.to_string(), "ca:fe:c0:ff:ee:00");
        assert_eq!(MacAddr::check("ca-fe-c0-ff-ee-00").unwrap(), mac);
        for bad in [
            "ca:fe:c0:ff:ee",
            "ca:fe:c0:ff:ee:00:11",
            "cafe.c0ff.ee00",
            "ca:fe:c0:ff:ee:0g",
            "+a:fe:c0:ff:ee:00",
        ] {
            assert!(MacAddr::check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pci_address_long_and_short_forms() {
        let pci = PciAddr::check("0000:03:02.0").unwrap();
        assert_eq!(
            pci,
            PciAddr {
                domain: 0,
                bus: 3,
                device: 2,
                function: 0
            }
        );
        assert_eq!(PciAddr::check("03:02.0").unwrap(), pci);
        assert_eq!(
            PciAddr::check("0000:AF:1F.7").unwrap().to_string(),
            "0000:af:1f.7"
        );
        assert_eq!(
            PciAddr::check("10000:00:02.0").unwrap().to_string(),
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
            assert!(PciAddr::check(bad).is_err(), "{bad}");
        }
    }
}
