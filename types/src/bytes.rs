//! What the byte-string values ([`IfName`](crate::IfName),
//! [`Alias`](crate::Alias)) share: how they print, and how they are stored.
//!
//! The kernel takes names and aliases as bytes, not text. Valid UTF-8
//! prints as it is; any other byte prints as `\xNN`, so nothing is lost in
//! a message. Stored (serde), a value is its text when it is UTF-8 and an
//! array of byte values when it is not, and either is read back.

use std::fmt::{self, Write};

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Serializer;

/// Writes `bytes` as text, with each byte that is not part of valid UTF-8
/// as `\xNN`. With `quoted`, as a Rust string literal (`"..."` with escapes).
pub(crate) fn write_escaped(f: &mut fmt::Formatter<'_>, bytes: &[u8], quoted: bool) -> fmt::Result {
    if quoted {
        f.write_char('"')?;
    }
    for chunk in bytes.utf8_chunks() {
        if quoted {
            for c in chunk.valid().chars() {
                write!(f, "{}", c.escape_debug())?;
            }
        } else {
            f.write_str(chunk.valid())?;
        }
        for b in chunk.invalid() {
            write!(f, "\\x{b:02x}")?;
        }
    }
    if quoted {
        f.write_char('"')?;
    }
    Ok(())
}

/// Bytes that are mostly text, such as a name or an alias read from the
/// kernel, displayed as that text with each byte that is not part of valid
/// UTF-8 written as `\xNN`, as [`IfName`](crate::IfName) displays itself.
///
/// ```
/// use netplumb_types::Escaped;
/// assert_eq!(Escaped(b"pod\xff").to_string(), "pod\\xff");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(pub &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, self.0, false)
    }
}

/// `bytes` as text, escaped as [`Escaped`] writes it.
pub(crate) fn escaped(bytes: &[u8]) -> String {
    Escaped(bytes).to_string()
}

/// Serializes `bytes` as a string when they are UTF-8, else as a sequence
/// of byte values.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serializer.serialize_str(text),
        Err(_) => serializer.collect_seq(bytes),
    }
}

/// Reads what [`serialize`] writes: a string, or a sequence of byte values.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    struct TextOrBytes;

    impl<'de> Visitor<'de> for TextOrBytes {
        type Value = Vec<u8>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string, or an array of byte values")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Vec<u8>, E> {
            Ok(text.as_bytes().to_vec())
        }

        fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Vec<u8>, E> {
            Ok(bytes.to_vec())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(256));
            while let Some(b) = seq.next_element::<u8>()? {
                out.push(b);
            }
            Ok(out)
        }
    }

    deserializer.deserialize_any(TextOrBytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_bytes_print_as_hex_escapes() {
        assert_eq!(escaped(b"eth0"), "eth0");
        assert_eq!(escaped(b"a\xffb"), "a\\xffb");
        assert_eq!(escaped("ü".as_bytes()), "ü");
        assert_eq!(escaped(b"\xc3"), "\\xc3");
    }
}
