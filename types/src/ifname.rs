//! Interface names.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{bytes, Error, IfNameRule};

/// A network interface name the kernel would give a link.
///
/// The rules are the kernel's `dev_valid_name()`, on bytes: 1 to 15 bytes
/// ([`IfName::MAX_LEN`]), not `.` or `..`, and no `/`, `:`, NUL or
/// whitespace byte, where whitespace is the kernel's `isspace()`: bytes 9
/// to 13, 32 and 0xA0 (so UTF-8 text whose encoding holds 0xA0, such as
/// `à`, is refused as the kernel refuses it). `%` is refused too: the
/// kernel reads a new name holding it as a pattern (`net%d` becomes the
/// first free `net0`, `net1`...), so a link never carries one and would not
/// get the name asked for.
///
/// A name need not be UTF-8: the kernel takes bytes, and a pod may name its
/// links so. [`IfName::new`] takes text or bytes; [`to_str`](IfName::to_str)
/// gives the text when there is one, and [`Display`](fmt::Display) writes
/// bytes that are not UTF-8 as `\xNN`. An `IfName` is 16 bytes and `Copy`.
///
/// ```
/// use netplumb_types::IfName;
/// let name: IfName = "enp1s0f0v3".parse()?;
/// assert_eq!(name, "enp1s0f0v3");
/// assert_eq!(name.to_str(), Some("enp1s0f0v3"));
/// assert!("eth0:1".parse::<IfName>().is_err());
///
/// let odd = IfName::new(b"pod\xff")?;
/// assert_eq!(odd.to_str(), None);
/// assert_eq!(odd.to_string(), "pod\\xff");
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct IfName {
    len: u8,
    bytes: [u8; IfName::MAX_LEN],
}

impl IfName {
    /// The longest name the kernel accepts (`IFNAMSIZ - 1`).
    pub const MAX_LEN: usize = 15;

    /// Checks `name` (text or bytes) against the kernel's rules. The error
    /// ([`Error::IfName`]) says which rule it breaks.
    pub fn new(name: impl AsRef<[u8]>) -> Result<IfName, Error> {
        let name = name.as_ref();
        match rule_broken(name, IfName::MAX_LEN)
            .or_else(|| name.contains(&b'%').then_some(IfNameRule::Percent))
        {
            Some(rule) => Err(Error::IfName {
                value: bytes::escaped(name),
                rule,
            }),
            None => {
                let mut bytes = [0; IfName::MAX_LEN];
                bytes[..name.len()].copy_from_slice(name);
                // The length was checked against MAX_LEN just above.
                Ok(IfName {
                    len: name.len() as u8,
                    bytes,
                })
            }
        }
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The name as text, when it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }
}

/// The first of the kernel's `dev_valid_name()` rules that `name` breaks,
/// given at most `max` bytes: not empty, not `.` or `..`, and no `/`, `:`,
/// NUL or whitespace byte. Alternative names follow the same rules at 127
/// bytes, and may hold `%`.
pub(crate) fn rule_broken(name: &[u8], max: usize) -> Option<IfNameRule> {
    if name.is_empty() {
        return Some(IfNameRule::Empty);
    }
    if name.len() > max {
        return Some(IfNameRule::TooLong);
    }
    if name == b"." || name == b".." {
        return Some(IfNameRule::Reserved);
    }
    // Bytes 9..=13, 32 and 0xA0 are the kernel's isspace() set.
    name.iter().find_map(|b| match b {
        b'/' => Some(IfNameRule::Slash),
        b':' => Some(IfNameRule::Colon),
        0 => Some(IfNameRule::Nul),
        9..=13 | b' ' | 0xa0 => Some(IfNameRule::Whitespace),
        _ => None,
    })
}

impl PartialEq for IfName {
    fn eq(&self, other: &IfName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for IfName {}

impl PartialOrd for IfName {
    fn partial_cmp(&self, other: &IfName) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for IfName {
    fn cmp(&self, other: &IfName) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl Hash for IfName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state)
    }
}

impl PartialEq<str> for IfName {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for IfName {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<IfName> for str {
    fn eq(&self, other: &IfName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<IfName> for &str {
    fn eq(&self, other: &IfName) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::write_escaped(f, self.as_bytes(), false)
    }
}

impl fmt::Debug for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::write_escaped(f, self.as_bytes(), true)
    }
}

impl FromStr for IfName {
    type Err = Error;

    fn from_str(name: &str) -> Result<IfName, Error> {
        IfName::new(name)
    }
}

impl TryFrom<&str> for IfName {
    type Error = Error;

    fn try_from(name: &str) -> Result<IfName, Error> {
        IfName::new(name)
    }
}

impl TryFrom<String> for IfName {
    type Error = Error;

    fn try_from(name: String) -> Result<IfName, Error> {
        IfName::new(name)
    }
}

impl TryFrom<&[u8]> for IfName {
    type Error = Error;

    fn try_from(name: &[u8]) -> Result<IfName, Error> {
        IfName::new(name)
    }
}

impl AsRef<[u8]> for IfName {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Serialize for IfName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        bytes::serialize(self.as_bytes(), serializer)
    }
}

impl<'de> Deserialize<'de> for IfName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<IfName, D::Error> {
        let bytes = bytes::deserialize(deserializer)?;
        IfName::new(bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ordinary_names_are_accepted() {
        for name in [
            "eth0",
            "enp1s0f0v12",
            "a",
            "net1",
            "vf-0_1.2",
            "123456789012345",
            "ü",
            "...",
        ] {
            let parsed: IfName = name.parse().unwrap();
            assert_eq!(parsed, name);
            assert_eq!(parsed.to_str(), Some(name));
            assert_eq!(parsed.to_string(), name);
        }
    }

    #[test]
    fn what_the_kernel_refuses_is_refused_naming_the_rule() {
        for (name, rule, needle) in [
            (&b""[..], IfNameRule::Empty, "empty"),
            (b"1234567890123456", IfNameRule::TooLong, "15 bytes"),
            ("üüüüüüüü".as_bytes(), IfNameRule::TooLong, "15 bytes"),
            (b".", IfNameRule::Reserved, "reserved"),
            (b"..", IfNameRule::Reserved, "reserved"),
            (b"a/b", IfNameRule::Slash, "'/'"),
            (b"eth0:1", IfNameRule::Colon, "':'"),
            (b"a b", IfNameRule::Whitespace, "whitespace"),
            (b"a\tb", IfNameRule::Whitespace, "whitespace"),
            (b"a\x0bb", IfNameRule::Whitespace, "whitespace"),
            ("à".as_bytes(), IfNameRule::Whitespace, "whitespace"),
            (b"\xa0", IfNameRule::Whitespace, "whitespace"),
            (b"a\0", IfNameRule::Nul, "NUL"),
            (b"net%d", IfNameRule::Percent, "'%'"),
            (b"100%", IfNameRule::Percent, "'%'"),
        ] {
            let err = IfName::new(name).unwrap_err();
            assert!(
                matches!(&err, Error::IfName { rule: r, .. } if *r == rule),
                "{name:?}: {err:?}"
            );
            let text = err.to_string();
            assert!(text.contains(needle), "{name:?}: {text}");
            assert!(text.contains("is not a valid interface name: "), "{text}");
            assert!(
                text.ends_with("without '/', ':', '%', NUL or whitespace"),
                "{text}"
            );
        }
    }

    #[test]
    fn names_that_are_not_utf8_are_kept_as_bytes() {
        let name = IfName::new(b"pod\xff\xfe").unwrap();
        assert_eq!(name.as_bytes(), b"pod\xff\xfe");
        assert_eq!(name.to_str(), None);
        assert_eq!(name.to_string(), "pod\\xff\\xfe");
        assert_eq!(format!("{name:?}"), "\"pod\\xff\\xfe\"");
        let err = IfName::new(b"\xff:").unwrap_err();
        assert!(err.to_string().starts_with("\"\\\\xff:\" is not"), "{err}");
    }

    #[test]
    fn stored_as_text_or_as_bytes_and_read_back_through_the_rules() {
        let name: IfName = "net1".parse().unwrap();
        assert_eq!(serde_json::to_string(&name).unwrap(), r#""net1""#);
        assert_eq!(serde_json::from_str::<IfName>(r#""net1""#).unwrap(), name);
        let odd = IfName::new(b"a\xff").unwrap();
        assert_eq!(serde_json::to_string(&odd).unwrap(), "[97,255]");
        assert_eq!(serde_json::from_str::<IfName>("[97,255]").unwrap(), odd);
        for bad in [r#""a/b""#, "[47]", "7", r#""""#] {
            assert!(serde_json::from_str::<IfName>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn order_and_equality_follow_the_bytes() {
        let a: IfName = "a".parse().unwrap();
        let ab: IfName = "ab".parse().unwrap();
        let b: IfName = "b".parse().unwrap();
        assert!(a < ab && ab < b);
        assert_eq!(a, "a");
        assert_eq!("a", a);
        assert_ne!(a, "ab");
    }

    proptest! {
        #[test]
        fn accepted_exactly_by_the_byte_rules(bytes in proptest::collection::vec(any::<u8>(), 0..20)) {
            let ok = !bytes.is_empty()
                && bytes.len() <= IfName::MAX_LEN
                && bytes != b"." && bytes != b".."
                && !bytes.iter().any(|b| b"/:% \t\n\x0b\x0c\r\0\xa0".contains(b));
            match IfName::new(&bytes) {
                Ok(name) => {
                    prop_assert!(ok);
                    prop_assert_eq!(name.as_bytes(), &bytes[..]);
                    let json = serde_json::to_string(&name).unwrap();
                    prop_assert_eq!(serde_json::from_str::<IfName>(&json).unwrap(), name);
                }
                Err(_) => prop_assert!(!ok),
            }
        }

        #[test]
        fn display_of_text_parses_back(name in "[a-zA-Z0-9_.@-]{1,15}") {
            prop_assume!(name != "." && name != "..");
            let parsed: IfName = name.parse().unwrap();
            prop_assert_eq!(parsed.to_string().parse::<IfName>().unwrap(), parsed);
        }
    }
}
