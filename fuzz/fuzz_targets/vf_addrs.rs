//! PCI and hardware addresses, as netplumb-vf parses them from sysfs and
//! configs: parsing never panics, and what parses prints back, in canonical
//! form, to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_vf::{Error, HwAddr, MacAddr, PciAddr};

fn check_pci(text: &str) {
    match text.parse::<PciAddr>() {
        Ok(addr) => {
            let printed = addr.to_string();
            assert_eq!(printed.parse::<PciAddr>().ok(), Some(addr));
            assert_eq!(printed, printed.to_ascii_lowercase());
            assert_eq!(
                PciAddr::new(addr.domain(), addr.bus(), addr.device(), addr.function()),
                Some(addr),
                "the parts are in range"
            );
            assert_eq!(addr.with_routing_id(addr.routing_id()), addr);
        }
        Err(err) => assert!(
            matches!(&err, Error::InvalidPciAddr { input, .. } if input == text),
            "the error holds the input: {err:?}"
        ),
    }
}

fn check_hwaddr(text: &str) {
    match text.parse::<HwAddr>() {
        Ok(addr) => {
            assert!((1..=32).contains(&addr.as_bytes().len()));
            let printed = addr.to_string();
            assert_eq!(printed.parse::<HwAddr>().ok(), Some(addr.clone()));
            // Only the case of the digits may differ.
            assert_eq!(printed, text.to_ascii_lowercase());
            // An Ethernet address reads the same through netns's parser.
            if let Some(mac) = MacAddr::from_slice(addr.as_bytes()) {
                assert_eq!(text.parse::<MacAddr>().ok(), Some(mac));
            }
        }
        Err(err) => assert!(
            matches!(&err, Error::InvalidHwAddr { input } if input == text),
            "the error holds the input: {err:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check_pci(text);
    check_hwaddr(text);
});
