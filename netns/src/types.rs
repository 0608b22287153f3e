//! Value types shared by links, addresses and routes.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Longest interface name the kernel accepts (`IFNAMSIZ - 1`).
pub const MAX_IFNAME_LEN: usize = 15;
/// Longest alternative interface name the kernel accepts (`ALTIFNAMSIZ - 1`).
pub const MAX_ALTNAME_LEN: usize = 127;

/// Names a link: by index, or by name (an alternative name works too).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkRef {
    /// The interface index.
    Index(u32),
    /// The interface name or one of its alternative names.
    Name(String),
}

impl fmt::Display for LinkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::Index(i) => write!(f, "#{i}"),
            LinkRef::Name(n) => f.write_str(n),
        }
    }
}

impl From<u32> for LinkRef {
    fn from(index: u32) -> LinkRef {
        LinkRef::Index(index)
    }
}

impl From<&str> for LinkRef {
    fn from(name: &str) -> LinkRef {
        LinkRef::Name(name.to_string())
    }
}

impl From<String> for LinkRef {
    fn from(name: String) -> LinkRef {
        LinkRef::Name(name)
    }
}

impl From<&String> for LinkRef {
    fn from(name: &String) -> LinkRef {
        LinkRef::Name(name.clone())
    }
}

impl From<&LinkRef> for LinkRef {
    fn from(link: &LinkRef) -> LinkRef {
        link.clone()
    }
}

/// Checks a name the kernel will use as an interface name: 1 to `max`
/// bytes, and none of `/`, `:`, whitespace or NUL, and not `.` or `..`
/// (the kernel's `dev_valid_name` rules).
pub(crate) fn validate_ifname(
    name: &str,
    field: &'static str,
    max: usize,
    expected: &'static str,
) -> Result<(), Error> {
    let bad_char = |c: char| c == '/' || c == ':' || c == '\0' || c.is_whitespace();
    if name.is_empty()
        || name.len() > max
        || name == "."
        || name == ".."
        || name.chars().any(bad_char)
    {
        return Err(Error::InvalidArgument {
            field,
            value: name.to_string(),
            expected,
        });
    }
    Ok(())
}

/// Checks a new interface name.
pub(crate) fn validate_new_ifname(name: &str) -> Result<(), Error> {
    validate_ifname(
        name,
        "interface name",
        MAX_IFNAME_LEN,
        "1 to 15 bytes without '/', ':', whitespace or NUL, not \".\" or \"..\"",
    )
}

/// Checks an alternative name, or a name used to look a link up.
pub(crate) fn validate_altname(name: &str, field: &'static str) -> Result<(), Error> {
    validate_ifname(
        name,
        field,
        MAX_ALTNAME_LEN,
        "1 to 127 bytes without '/', ':', whitespace or NUL, not \".\" or \"..\"",
    )
}

/// An Ethernet MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// Reads the first six bytes of a hardware address, if it has exactly
    /// six.
    pub fn from_slice(bytes: &[u8]) -> Option<MacAddr> {
        <[u8; 6]>::try_from(bytes).ok().map(MacAddr)
    }

    /// The six bytes.
    pub fn octets(&self) -> [u8; 6] {
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

    /// Parses `aa:bb:cc:dd:ee:ff` (either case; `-` separators too).
    fn from_str(s: &str) -> Result<MacAddr, Error> {
        let invalid = || Error::InvalidArgument {
            field: "MAC address",
            value: s.to_string(),
            expected: "six two-digit hex octets separated by ':', e.g. 02:00:00:00:00:01",
        };
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for octet in &mut out {
            let part = parts.next().ok_or_else(invalid)?;
            if part.len() != 2 {
                return Err(invalid());
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| invalid())?;
        }
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(MacAddr(out))
    }
}

/// Route and address scope (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// Global (`RT_SCOPE_UNIVERSE`, 0).
    #[default]
    Universe,
    /// Site-local (`RT_SCOPE_SITE`, 200).
    Site,
    /// On-link (`RT_SCOPE_LINK`, 253).
    Link,
    /// This host only (`RT_SCOPE_HOST`, 254).
    Host,
    /// Nowhere (`RT_SCOPE_NOWHERE`, 255).
    Nowhere,
    /// Any other value.
    Other(u8),
}

impl From<u8> for Scope {
    fn from(v: u8) -> Scope {
        match v {
            0 => Scope::Universe,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            v => Scope::Other(v),
        }
    }
}

impl From<Scope> for u8 {
    fn from(s: Scope) -> u8 {
        match s {
            Scope::Universe => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mac_parses_and_prints() {
        let mac: MacAddr = "02:AB:cd:00:01:ff".parse().unwrap();
        assert_eq!(mac.0, [0x02, 0xab, 0xcd, 0x00, 0x01, 0xff]);
        assert_eq!(mac.to_string(), "02:ab:cd:00:01:ff");
        assert_eq!("02-ab-cd-00-01-ff".parse::<MacAddr>().unwrap(), mac);
        assert!(mac.is_valid_unicast());
        for bad in [
            "",
            "02:ab:cd:00:01",
            "02:ab:cd:00:01:ff:00",
            "2:ab:cd:00:01:ff",
            "zz:ab:cd:00:01:ff",
        ] {
            match bad.parse::<MacAddr>() {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "MAC address"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn mac_classification() {
        assert!(MacAddr([0; 6]).is_zero());
        assert!(!MacAddr([0; 6]).is_valid_unicast());
        assert!(MacAddr([1, 0, 0x5e, 0, 0, 1]).is_multicast());
        assert_eq!(MacAddr::from_slice(&[1, 2, 3]), None);
    }

    #[test]
    fn interface_names() {
        for good in ["eth0", "net1", "a", "x".repeat(15).as_str(), "veth-1.2_3"] {
            validate_new_ifname(good).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "tab\t", &"x".repeat(16)] {
            assert!(validate_new_ifname(bad).is_err(), "{bad:?}");
        }
        validate_altname(&"y".repeat(127), "alternative name").unwrap();
        assert!(validate_altname(&"y".repeat(128), "alternative name").is_err());
    }

    #[test]
    fn link_ref_display() {
        assert_eq!(LinkRef::from(3).to_string(), "#3");
        assert_eq!(LinkRef::from("eth0").to_string(), "eth0");
    }

    proptest! {
        #[test]
        fn mac_display_parse_round_trip(bytes: [u8; 6]) {
            let mac = MacAddr(bytes);
            prop_assert_eq!(mac.to_string().parse::<MacAddr>().unwrap(), mac);
        }

        #[test]
        fn scope_round_trips(v: u8) {
            prop_assert_eq!(u8::from(Scope::from(v)), v);
        }

        #[test]
        fn mac_parse_never_panics(s in "\\PC*") {
            let _ = s.parse::<MacAddr>();
        }
    }
}
