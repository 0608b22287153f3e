//! Alternative interface names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{bytes, ifname, Error};

/// An alternative interface name (`ip link property add DEV altname
/// NAME`), or any name a link can be looked up by: the kernel's
/// `dev_valid_name()` rules at up to 127 bytes ([`AltName::MAX_LEN`]),
/// where `%` is an ordinary byte. Every [`IfName`](crate::IfName) is one.
///
/// Like an `IfName` it is bytes, not necessarily text; it prints bytes
/// that are not UTF-8 as `\xNN` and is stored as text or as byte values.
///
/// ```
/// use netplumb_types::AltName;
/// let name: AltName = "enp1s0f0np0-uplink-of-rack-7".parse()?;
/// assert_eq!(name.to_str(), Some("enp1s0f0np0-uplink-of-rack-7"));
/// assert!("uplink 7".parse::<AltName>().is_err());
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AltName(Box<[u8]>);

impl AltName {
    /// The longest alternative name the kernel accepts (`ALTIFNAMSIZ - 1`).
    pub const MAX_LEN: usize = 127;

    /// Checks `name` (text or bytes) against the kernel's rules.
    pub fn new(name: impl AsRef<[u8]>) -> Result<AltName, Error> {
        let name = name.as_ref();
        match ifname::rule_broken(name, AltName::MAX_LEN) {
            Some(rule) => Err(Error::AltName {
                value: bytes::escaped(name),
                rule,
            }),
            None => Ok(AltName(name.into())),
        }
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The name as text, when it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl From<crate::IfName> for AltName {
    fn from(name: crate::IfName) -> AltName {
        AltName(name.as_bytes().into())
    }
}

impl PartialEq<str> for AltName {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other.as_bytes()
    }
}

impl fmt::Display for AltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::write_escaped(f, &self.0, false)
    }
}

impl fmt::Debug for AltName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::write_escaped(f, &self.0, true)
    }
}

impl FromStr for AltName {
    type Err = Error;

    fn from_str(name: &str) -> Result<AltName, Error> {
        AltName::new(name)
    }
}

impl AsRef<[u8]> for AltName {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for AltName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for AltName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<AltName, D::Error> {
        let bytes = bytes::deserialize(deserializer)?;
        AltName::new(bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_rules_at_127_bytes_with_percent() {
        AltName::new("y".repeat(127)).unwrap();
        AltName::new("uplink-50%").unwrap();
        let err = AltName::new("y".repeat(128)).unwrap_err();
        assert!(err.to_string().contains("longer than 127 bytes"), "{err}");
        for bad in ["", ".", "a b", "a/b", "a:b", "à"] {
            assert!(AltName::new(bad).is_err(), "{bad:?}");
        }
        let name: crate::IfName = "net1".parse().unwrap();
        assert_eq!(AltName::from(name), *"net1");
    }

    #[test]
    fn stored_as_text_or_bytes() {
        let odd = AltName::new(b"x\xff").unwrap();
        let json = serde_json::to_string(&odd).unwrap();
        assert_eq!(serde_json::from_str::<AltName>(&json).unwrap(), odd);
        assert!(serde_json::from_str::<AltName>(r#""a b""#).is_err());
    }
}
