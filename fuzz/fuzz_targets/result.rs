//! Results: parsing never panics, every version round-trips, and converting
//! keeps what both versions hold.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::{CniResult, CniVersion};

fuzz_target!(|data: &[u8]| {
    let Ok(result) = CniResult::from_slice(data) else {
        return;
    };
    for a in CniVersion::ALL {
        let in_a = result.to_version(a);
        let parsed = CniResult::from_slice(&in_a.to_vec()).expect("printed result parses");
        assert_eq!(parsed, in_a);
        for b in CniVersion::ALL {
            assert_eq!(
                in_a.to_version(b),
                result.to_version(a.min(b)).to_version(b)
            );
        }
    }
});
