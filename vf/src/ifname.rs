//! Network interface names.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Longest name the kernel accepts: `IFNAMSIZ` (16) less the terminating NUL.
pub const IFNAME_MAX_LEN: usize = 15;

/// A network interface name that the kernel would accept.
///
/// The rules are the kernel's `dev_valid_name()`: 1 to 15 bytes, not `.` or
/// `..`, and no `/`, `:`, NUL or whitespace byte. The kernel's whitespace
/// test works on bytes and counts 0xA0 as a space, so UTF-8 text whose
/// encoding holds that byte (`à`, for one) is refused here as it is there.
///
/// ```
/// use netplumb_vf::IfName;
/// let name: IfName = "enp1s0f0v3".parse().unwrap();
/// assert_eq!(name.as_str(), "enp1s0f0v3");
/// assert!("eth0:1".parse::<IfName>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName(String);

impl IfName {
    /// Checks `name` against the kernel's rules.
    pub fn new(name: impl Into<String>) -> Result<Self, Error> {
        let name = name.into();
        match violation(&name) {
            None => Ok(Self(name)),
            Some(reason) => Err(Error::InvalidIfName {
                input: name,
                reason,
            }),
        }
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The first kernel rule `name` breaks, if any.
fn violation(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("it is empty");
    }
    if name.len() > IFNAME_MAX_LEN {
        return Some("it is longer than 15 bytes");
    }
    if name == "." || name == ".." {
        return Some("\".\" and \"..\" are reserved");
    }
    // Bytes 9..=13, 32 and 0xA0 are the kernel's isspace() set.
    name.bytes().find_map(|b| match b {
        b'/' => Some("it contains '/'"),
        b':' => Some("it contains ':'"),
        0 => Some("it contains a NUL byte"),
        9..=13 | b' ' | 0xa0 => Some("it contains whitespace"),
        _ => None,
    })
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

impl AsRef<str> for IfName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_names() {
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
    fn rejects_what_the_kernel_rejects() {
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
        ] {
            let err = name.parse::<IfName>().unwrap_err().to_string();
            assert!(err.contains(needle), "{name:?}: {err}");
        }
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(name in "[a-zA-Z0-9_.@-]{1,15}") {
            prop_assume!(name != "." && name != "..");
            let parsed: IfName = name.parse().unwrap();
            prop_assert_eq!(parsed.to_string().parse::<IfName>().unwrap(), parsed);
        }

        #[test]
        fn parse_never_panics_and_accepted_names_obey_the_rules(s in "\\PC{0,20}") {
            if let Ok(name) = s.parse::<IfName>() {
                let bytes = name.as_str().as_bytes();
                prop_assert!(!bytes.is_empty() && bytes.len() <= IFNAME_MAX_LEN);
                prop_assert!(!bytes.iter().any(|b| b"/: \t\n\x0b\x0c\r\0\xa0".contains(b)));
            }
        }
    }
}
