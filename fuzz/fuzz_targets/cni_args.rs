//! `CNI_ARGS` and the rest of the environment: parsing never panics, and
//! parsed arguments print back to an equal value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::{CniArgs, Env};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(args) = text.parse::<CniArgs>() {
        assert_eq!(
            args.to_string()
                .parse::<CniArgs>()
                .expect("printed form parses"),
            args
        );
    }
    // The same bytes as a whole environment: NAME=value lines.
    let vars = text.lines().filter_map(|l| l.split_once('='));
    let _ = Env::from_vars(vars);
});
