//! PCI addresses (netplumb-types, as configs and sysfs write them) and
//! hardware addresses (netplumb-vf, as sysfs writes them): parsing never
//! panics, and what parses prints back, in canonical form, to an equal
//! value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_types::{Error, MacAddr, PciAddr};
use netplumb_vf::HwAddr;

fn check_pci(text: &str) {
    match text.parse::<PciAddr>() {
        Ok(addr) => {
            let printed = addr.to_string();
            assert_eq!(printed.parse::<PciAddr>().ok(), Some(addr));
            assert_eq!(printed, printed.to_ascii_lowercase());
            assert_eq!(
                PciAddr::new(addr.domain(), addr.bus(), addr.device(), addr.function()).ok(),
                Some(addr),
                "the parts are in range"
            );
            assert_eq!(addr.with_routing_id(addr.routing_id()), addr);
            let json = serde_json::to_string(&addr).unwrap();
            assert_eq!(serde_json::from_str::<PciAddr>(&json).unwrap(), addr);
        }
        Err(err) => assert!(
            matches!(&err, Error::PciAddr { value, .. } if value == text),
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
            // An Ethernet address reads the same as a MacAddr.
            if let Some(mac) = MacAddr::from_slice(addr.as_bytes()) {
                assert_eq!(text.parse::<MacAddr>().ok(), Some(mac));
                assert_eq!(addr.to_mac(), Some(mac));
            }
        }
        Err(err) => assert!(
            matches!(&err, netplumb_vf::Error::InvalidHwAddr { input } if input == text),
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
