//! Interface names and MAC addresses, as netplumb-netns parses them: parsing
//! never panics, a name is accepted exactly when the kernel's rules accept
//! it, and a MAC address prints back to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_netns::{Error, IfName, MacAddr, MAX_IFNAME_LEN};

/// The kernel's rules for a new interface name (`dev_valid_name()`, and
/// `%` which it reads as a pattern), written out independently of the
/// parser so that the two can disagree.
fn kernel_accepts(name: &str) -> bool {
    // The kernel's isspace() works on bytes: 9..=13, space and 0xA0.
    let bad_byte = |b: u8| matches!(b, 0 | b'/' | b':' | b'%' | 9..=13 | b' ' | 0xa0);
    (1..=MAX_IFNAME_LEN).contains(&name.len())
        && name != "."
        && name != ".."
        && !name.bytes().any(bad_byte)
}

/// Whether `err` is the parser's refusal of `text` as `field`.
fn refuses(err: &Error, field: &str, text: &str) -> bool {
    matches!(err, Error::InvalidArgument { field: f, value, .. } if *f == field && value == text)
}

fn check_ifname(text: &str) {
    match IfName::new(text) {
        Ok(name) => {
            assert!(kernel_accepts(text), "accepted a name the kernel refuses");
            assert_eq!(name.as_str(), text);
            assert_eq!(name.to_string(), text);
            assert_eq!(text.parse::<IfName>().ok(), Some(name));
        }
        Err(err) => {
            assert!(!kernel_accepts(text), "refused a valid name: {err}");
            assert!(
                refuses(&err, "interface name", text),
                "the error names the field and the value: {err:?}"
            );
        }
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
            refuses(&err, "MAC address", text),
            "the error names the field and the value: {err:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_ifname(text);
    check_mac(text);
});
