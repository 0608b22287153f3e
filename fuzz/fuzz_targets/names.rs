//! Interface names, alternative names, aliases and MAC addresses, as
//! netplumb-types parses them for every crate: parsing never panics, a
//! name is accepted exactly when the kernel's rules accept it, and what is
//! accepted reads back unchanged, through its text and through serde.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_types::{Alias, AltName, Error, IfName, MacAddr};

/// The kernel's rules for a name (`dev_valid_name()`), at `max` bytes,
/// written out independently of the parser so that the two can disagree.
fn kernel_accepts(name: &[u8], max: usize) -> bool {
    // The kernel's isspace() works on bytes: 9..=13, space and 0xA0.
    let bad_byte = |b: &u8| matches!(b, 0 | b'/' | b':' | 9..=13 | b' ' | 0xa0);
    (1..=max).contains(&name.len()) && name != b"." && name != b".." && !name.iter().any(bad_byte)
}

fn check_ifname(bytes: &[u8]) {
    // '%' makes a new name a pattern: never a name a link gets.
    let accepts = kernel_accepts(bytes, 15) && !bytes.contains(&b'%');
    match IfName::new(bytes) {
        Ok(name) => {
            assert!(accepts, "accepted a name the kernel refuses");
            assert_eq!(name.as_bytes(), bytes);
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(serde_json::from_str::<IfName>(&json).unwrap(), name);
            if let Ok(text) = std::str::from_utf8(bytes) {
                assert_eq!(name.to_str(), Some(text));
                assert_eq!(name.to_string(), text);
                assert_eq!(text.parse::<IfName>().unwrap(), name);
            } else {
                assert_eq!(name.to_str(), None);
            }
        }
        Err(err) => {
            assert!(!accepts, "refused a valid name: {err}");
            assert!(matches!(err, Error::IfName { .. }), "{err:?}");
        }
    }
}

fn check_altname(bytes: &[u8]) {
    match AltName::new(bytes) {
        Ok(name) => {
            assert!(kernel_accepts(bytes, 127), "accepted a name the kernel refuses");
            assert_eq!(name.as_bytes(), bytes);
            let json = serde_json::to_string(&name).unwrap();
            assert_eq!(serde_json::from_str::<AltName>(&json).unwrap(), name);
        }
        Err(err) => assert!(!kernel_accepts(bytes, 127), "refused a valid name: {err}"),
    }
}

fn check_alias(bytes: &[u8]) {
    match Alias::new(bytes) {
        Ok(alias) => {
            assert!(bytes.len() <= 255 && !bytes.contains(&0));
            let json = serde_json::to_string(&alias).unwrap();
            assert_eq!(serde_json::from_str::<Alias>(&json).unwrap(), alias);
        }
        Err(_) => assert!(bytes.len() > 255 || bytes.contains(&0)),
    }
}

fn check_mac(text: &str) {
    match text.parse::<MacAddr>() {
        Ok(mac) => {
            let printed = mac.to_string();
            assert_eq!(printed.parse::<MacAddr>().ok(), Some(mac));
            // Only the case of the digits and '-' for ':' may differ.
            assert_eq!(printed, text.to_ascii_lowercase().replace('-', ":"));
            assert_eq!(MacAddr::from_slice(&mac.octets()), Some(mac));
        }
        Err(err) => assert!(
            matches!(&err, Error::MacAddr { value } if value == text),
            "the error holds the input: {err:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    check_ifname(data);
    check_altname(data);
    check_alias(data);
    if let Ok(text) = std::str::from_utf8(data) {
        check_mac(text);
    }
});
