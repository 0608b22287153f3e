//! Interface aliases.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{bytes, Error};

/// An interface alias (`ip link set DEV alias TEXT`): at most 255 bytes
/// ([`Alias::MAX_LEN`]) without NUL, text or not. Empty means no alias:
/// setting an empty alias removes the link's.
///
/// The kernel sends it back as it was set, without a terminating NUL, and
/// counts a NUL against its limit; so does this type.
///
/// ```
/// use netplumb_types::Alias;
/// let alias = Alias::new("uplink to rack 7")?;
/// assert_eq!(alias.as_bytes(), b"uplink to rack 7");
/// assert!(Alias::new(vec![b'x'; 256]).is_err());
/// # Ok::<(), netplumb_types::Error>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Alias(Box<[u8]>);

impl Alias {
    /// The longest alias the kernel keeps (`IFALIASZ - 1`).
    pub const MAX_LEN: usize = 255;

    /// Checks `alias` (text or bytes): at most 255 bytes, no NUL.
    pub fn new(alias: impl AsRef<[u8]>) -> Result<Alias, Error> {
        let alias = alias.as_ref();
        let has_nul = alias.contains(&0);
        if alias.len() > Alias::MAX_LEN || has_nul {
            return Err(Error::Alias {
                len: alias.len(),
                has_nul,
            });
        }
        Ok(Alias(alias.into()))
    }

    /// The alias's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The alias as text, when it is UTF-8.
    pub fn to_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }

    /// Whether it is empty (no alias).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::write_escaped(f, &self.0, false)
    }
}

impl fmt::Debug for Alias {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        bytes::write_escaped(f, &self.0, true)
    }
}

impl std::str::FromStr for Alias {
    type Err = Error;

    fn from_str(alias: &str) -> Result<Alias, Error> {
        Alias::new(alias)
    }
}

impl AsRef<[u8]> for Alias {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for Alias {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        bytes::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Alias {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Alias, D::Error> {
        let bytes = bytes::deserialize(deserializer)?;
        Alias::new(bytes).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_255_bytes_without_nul() {
        assert_eq!(Alias::new(vec![b'a'; 255]).unwrap().as_bytes().len(), 255);
        let long = Alias::new(vec![b'a'; 256]).unwrap_err();
        assert_eq!(
            long.to_string(),
            "an alias of 256 bytes is not valid: expected at most 255 bytes without NUL"
        );
        let nul = Alias::new(b"a\0b").unwrap_err();
        assert!(nul.to_string().contains("holding NUL"), "{nul}");
        assert!(Alias::new("").unwrap().is_empty());
    }

    #[test]
    fn bytes_that_are_not_text_survive_storage() {
        let alias = Alias::new(b"host \xff name").unwrap();
        assert_eq!(alias.to_string(), "host \\xff name");
        let json = serde_json::to_string(&alias).unwrap();
        assert_eq!(serde_json::from_str::<Alias>(&json).unwrap(), alias);
        let text = Alias::new("to the pod").unwrap();
        assert_eq!(serde_json::to_string(&text).unwrap(), r#""to the pod""#);
        let too_long = serde_json::to_string(&"x".repeat(256)).unwrap();
        assert!(serde_json::from_str::<Alias>(&too_long).is_err());
    }
}
