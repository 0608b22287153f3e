//! Small readers for netlink attributes in raw replies.
//!
//! Replies are decoded here rather than through netlink-packet-route's full
//! message types: only the attributes we expose are read, so an attribute
//! the parser does not know (or mis-parses) on some kernel cannot fail a
//! whole dump.

use netlink_packet_core::NlasIterator;

/// Iterates `(type, value)` over the attributes in `bytes`.
pub(crate) fn attributes(bytes: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), String>> {
    NlasIterator::new(bytes).map(|nla| {
        nla.map(|nla| {
            let kind = nla.kind();
            let value_len = nla.value_length();
            let inner: &[u8] = nla.into_inner();
            (kind, &inner[4..4 + value_len])
        })
        .map_err(|e| e.to_string())
    })
}

pub(crate) fn u32_of(value: &[u8], name: &str) -> Result<u32, String> {
    match value.get(..4) {
        Some(&[a, b, c, d]) => Ok(u32::from_ne_bytes([a, b, c, d])),
        _ => Err(format!("{name} has {} bytes, expected 4", value.len())),
    }
}

pub(crate) fn u8_of(value: &[u8], name: &str) -> Result<u8, String> {
    value
        .first()
        .copied()
        .ok_or_else(|| format!("{name} is empty, expected 1 byte"))
}

pub(crate) fn u16_of(value: &[u8], name: &str) -> Result<u16, String> {
    match value.get(..2) {
        Some(&[a, b]) => Ok(u16::from_ne_bytes([a, b])),
        _ => Err(format!("{name} has {} bytes, expected 2", value.len())),
    }
}

/// A NUL-terminated (or unterminated) string attribute the kernel writes
/// from its own names (a link kind, a bus, a device), as text. Bytes that
/// are not UTF-8 become U+FFFD rather than fail the message: such a string
/// is only shown or compared, never sent back.
pub(crate) fn lossy_string_of(value: &[u8]) -> String {
    let text = value.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(text).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attributes_with_padding() {
        // IFLA_IFNAME "eth0\0" (len 9, padded to 12) then IFLA_MTU 1500.
        let bytes = [
            9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0, 8, 0, 4, 0, 0xdc, 0x05, 0, 0,
        ];
        let attrs: Vec<_> = attributes(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(attrs.len(), 2);
        assert_eq!(attrs[0].0, 3);
        assert_eq!(lossy_string_of(attrs[0].1), "eth0");
        assert_eq!(attrs[1].0, 4);
        assert_eq!(u32_of(attrs[1].1, "IFLA_MTU").unwrap(), 1500);
    }

    #[test]
    fn short_values_are_errors() {
        assert!(u32_of(&[1, 2], "X").is_err());
        assert!(u8_of(&[], "X").is_err());
        assert!(u16_of(&[1], "X").is_err());
        assert_eq!(lossy_string_of(&[b'a', 0xff, 0, b'b']), "a\u{fffd}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(bytes: Vec<u8>) {
            for (_, value) in attributes(&bytes).flatten() {
                let _ = u32_of(value, "X");
                let _ = lossy_string_of(value);
            }
        }
    }
}
