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

/// The first of the kernel's `dev_valid_name()` rules that `name` breaks,
/// given at most `max` bytes: not empty, not `.` or `..`, and no `/`, `:`,
/// NUL or whitespace byte. The kernel's whitespace test works on bytes and
/// counts 0xA0 as a space, so UTF-8 text whose encoding holds that byte
/// (`à`, for one) breaks it as well.
fn ifname_violation(name: &str, max: usize) -> Option<Violation> {
    if name.is_empty() {
        return Some(Violation::Empty);
    }
    if name.len() > max {
        return Some(Violation::TooLong);
    }
    if name == "." || name == ".." {
        return Some(Violation::Reserved);
    }
    // Bytes 9..=13, 32 and 0xA0 are the kernel's isspace() set.
    name.bytes().find_map(|b| match b {
        b'/' => Some(Violation::Slash),
        b':' => Some(Violation::Colon),
        0 => Some(Violation::Nul),
        9..=13 | b' ' | 0xa0 => Some(Violation::Whitespace),
        _ => None,
    })
}

/// The first rule a new interface name breaks: the kernel's
/// `dev_valid_name()` rules at [`MAX_IFNAME_LEN`], and no `%`. The kernel
/// takes a new name with `%` as a pattern (`x%d` becomes the first free
/// `x0`, `x1`, ...) and refuses any other `%`, so a name with `%` would
/// never be the name the link gets.
fn new_ifname_violation(name: &str) -> Option<Violation> {
    ifname_violation(name, MAX_IFNAME_LEN)
        .or_else(|| name.contains('%').then_some(Violation::Percent))
}

/// Which interface-name rule a name breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Violation {
    Empty,
    TooLong,
    Reserved,
    Slash,
    Colon,
    Nul,
    Whitespace,
    Percent,
}

/// What [`IfName::new`] says about a name: the rule broken, then all rules.
macro_rules! ifname_error {
    ($reason:literal) => {
        concat!(
            $reason,
            "; a name is 1 to 15 bytes, not \".\" or \"..\", without '/', ':', '%', NUL or whitespace"
        )
    };
}

impl Violation {
    fn explain(self) -> &'static str {
        match self {
            Violation::Empty => ifname_error!("it is empty"),
            Violation::TooLong => ifname_error!("it is longer than 15 bytes"),
            Violation::Reserved => ifname_error!("\".\" and \"..\" are reserved"),
            Violation::Slash => ifname_error!("it contains '/'"),
            Violation::Colon => ifname_error!("it contains ':'"),
            Violation::Nul => ifname_error!("it contains a NUL byte"),
            Violation::Whitespace => ifname_error!("it contains whitespace"),
            Violation::Percent => {
                ifname_error!("it contains '%', which the kernel takes as a pattern")
            }
        }
    }
}

/// A network interface name that the kernel would accept.
///
/// The rules are the kernel's `dev_valid_name()`: 1 to 15 bytes
/// ([`MAX_IFNAME_LEN`]), not `.` or `..`, and no `/`, `:`, NUL or whitespace
/// byte. The kernel's whitespace test works on bytes and counts 0xA0 as a
/// space, so UTF-8 text whose encoding holds that byte (`à`, for one) is
/// refused here as it is there. `%` is refused too: the kernel reads a new
/// name holding it as a pattern (`x%d` becomes `x0`), so the link would
/// not get the name asked for.
///
/// The verbs of [`Netlink`](crate::Netlink) take any [`LinkRef`]; an
/// `&IfName` converts into one.
///
/// ```
/// use netplumb_netns::IfName;
/// let name: IfName = "enp1s0f0v3".parse().unwrap();
/// assert_eq!(name.as_str(), "enp1s0f0v3");
/// assert!("eth0:1".parse::<IfName>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
pub struct IfName(String);

impl IfName {
    /// Checks `name` against the kernel's rules. The error
    /// ([`Error::InvalidArgument`], field `"interface name"`) says which
    /// rule it breaks.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        match new_ifname_violation(&name) {
            None => Ok(Self(name)),
            Some(violation) => Err(Error::InvalidArgument {
                field: "interface name",
                value: name,
                expected: violation.explain(),
            }),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl FromStr for IfName {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::new(s)
    }
}

impl TryFrom<String> for IfName {
    type Error = Error;

    fn try_from(name: String) -> Result<Self, Error> {
        Self::new(name)
    }
}

impl From<IfName> for String {
    fn from(name: IfName) -> String {
        name.0
    }
}

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&IfName> for LinkRef {
    fn from(name: &IfName) -> LinkRef {
        LinkRef::Name(name.0.clone())
    }
}

impl From<IfName> for LinkRef {
    fn from(name: IfName) -> LinkRef {
        LinkRef::Name(name.0)
    }
}

/// Checks a new interface name, as [`IfName::new`] does.
pub(crate) fn validate_new_ifname(name: &str) -> Result<(), Error> {
    match new_ifname_violation(name) {
        None => Ok(()),
        Some(violation) => Err(Error::InvalidArgument {
            field: "interface name",
            value: name.to_string(),
            expected: violation.explain(),
        }),
    }
}

/// Checks an alternative name, or a name used to look a link up: the
/// kernel's `dev_valid_name()` rules at [`MAX_ALTNAME_LEN`]. `%` is allowed:
/// alternative names are taken literally.
pub(crate) fn validate_altname(name: &str, field: &'static str) -> Result<(), Error> {
    match ifname_violation(name, MAX_ALTNAME_LEN) {
        None => Ok(()),
        Some(_) => Err(Error::InvalidArgument {
            field,
            value: name.to_string(),
            expected: "1 to 127 bytes without '/', ':', whitespace or NUL, not \".\" or \"..\"",
        }),
    }
}

/// An Ethernet MAC address.
///
/// With the `serde` feature it is stored as its text, and read back through
/// the parser.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(try_from = "String", into = "String")
)]
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

impl TryFrom<String> for MacAddr {
    type Error = Error;

    fn try_from(text: String) -> Result<MacAddr, Error> {
        text.parse()
    }
}

impl From<MacAddr> for String {
    fn from(mac: MacAddr) -> String {
        mac.to_string()
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
            // from_str_radix alone would take "+a" as an octet.
            if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
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
            "+a:ab:cd:00:01:ff",
            "02:ab:cd:00:01:+f",
            "-1:ab:cd:00:01:ff",
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
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a:b",
            "a b",
            "tab\t",
            &"x".repeat(16),
            "x%d",
            "50%",
        ] {
            assert!(validate_new_ifname(bad).is_err(), "{bad:?}");
        }
        validate_altname(&"y".repeat(127), "alternative name").unwrap();
        validate_altname("uplink-50%", "alternative name").unwrap();
        assert!(validate_altname(&"y".repeat(128), "alternative name").is_err());
    }

    #[test]
    fn ifname_accepts_ordinary_names() {
        for name in [
            "eth0",
            "enp1s0f0v12",
            "a",
            "net1",
            "vf-0_1.2",
            "123456789012345",
            "ü",
        ] {
            assert_eq!(name.parse::<IfName>().unwrap().as_str(), name);
        }
    }

    #[test]
    fn ifname_rejects_what_the_kernel_rejects() {
        for (name, needle) in [
            ("", "empty"),
            ("1234567890123456", "15 bytes"),
            ("üüüüüüüü", "15 bytes"),
            (".", "reserved"),
            ("..", "reserved"),
            ("a/b", "'/'"),
            ("eth0:1", "':'"),
            ("a b", "whitespace"),
            ("a\tb", "whitespace"),
            ("a\u{b}", "whitespace"),
            ("à", "whitespace"),
            ("a\0", "NUL"),
            ("net%d", "'%'"),
            ("100%", "'%'"),
        ] {
            let err = name.parse::<IfName>().unwrap_err();
            let text = err.to_string();
            assert!(text.contains(needle), "{name:?}: {text}");
            assert!(
                text.starts_with("invalid interface name "),
                "{name:?}: {text}"
            );
            assert!(
                text.ends_with("without '/', ':', '%', NUL or whitespace"),
                "{text}"
            );
        }
    }

    #[test]
    fn ifname_converts_to_a_link_ref() {
        let name: IfName = "net1".parse().unwrap();
        assert_eq!(LinkRef::from(&name), LinkRef::Name("net1".into()));
        assert_eq!(LinkRef::from(name), LinkRef::Name("net1".into()));
    }

    #[test]
    fn link_ref_display() {
        assert_eq!(LinkRef::from(3).to_string(), "#3");
        assert_eq!(LinkRef::from("eth0").to_string(), "eth0");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn names_and_macs_are_text() {
        let name: IfName = "net1".parse().unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""net1""#);
        assert_eq!(serde_json::from_str::<IfName>(r#""net1""#).unwrap(), name);
        let err = serde_json::from_str::<IfName>(r#""a/b""#).unwrap_err();
        assert!(err.to_string().contains("'/'"), "{err}");

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

    #[cfg(feature = "serde")]
    fn json_round_trips<T>(value: T)
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
    {
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value, "{json}");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn vf_enums_round_trip() {
        use crate::{VfLinkState, VlanProto};
        for proto in [VlanProto::Dot1Q, VlanProto::Dot1Ad, VlanProto::Other(7)] {
            json_round_trips(proto);
        }
        for state in [
            VfLinkState::Auto,
            VfLinkState::Disable,
            VfLinkState::Other(9),
        ] {
            json_round_trips(state);
        }
    }

    proptest! {
        #[test]
        fn mac_display_parse_round_trip(bytes: [u8; 6]) {
            let mac = MacAddr(bytes);
            prop_assert_eq!(mac.to_string().parse::<MacAddr>().unwrap(), mac);
        }

        #[test]
        fn ifname_display_then_parse_is_identity(name in "[a-zA-Z0-9_.@-]{1,15}") {
            prop_assume!(name != "." && name != "..");
            let parsed: IfName = name.parse().unwrap();
            prop_assert_eq!(parsed.to_string().parse::<IfName>().unwrap(), parsed);
        }

        #[test]
        fn ifname_parse_agrees_with_the_validators(s in "\\PC{0,20}") {
            let parsed = s.parse::<IfName>();
            prop_assert_eq!(parsed.is_ok(), validate_new_ifname(&s).is_ok());
            if let Ok(name) = parsed {
                let bytes = name.as_str().as_bytes();
                prop_assert!(!bytes.is_empty() && bytes.len() <= MAX_IFNAME_LEN);
                prop_assert!(!bytes.iter().any(|b| b"/:% \t\n\x0b\x0c\r\0\xa0".contains(b)));
            }
        }

        #[test]
        fn scope_round_trips(v: u8) {
            prop_assert_eq!(u8::from(Scope::from(v)), v);
        }

        #[test]
        fn mac_parse_never_panics(s in "\\PC*") {
            let _ = s.parse::<MacAddr>();
        }

        #[test]
        fn mac_parse_takes_exactly_six_hex_pairs(s in "([0-9a-fA-F+-]{2}[:-]){5}[0-9a-fA-F+-]{2}") {
            let pairs = s.split([':', '-']).filter(|p| p.len() == 2);
            let all_hex = pairs.clone().count() == 6
                && pairs.flat_map(str::bytes).all(|b| b.is_ascii_hexdigit());
            prop_assert_eq!(s.parse::<MacAddr>().is_ok(), all_hex, "{}", s);
        }
    }
}
