//! Error replies printed by other plugins: parsing never panics, a parsed
//! reply prints back to an equal one, and as a delegated plugin's error it
//! keeps its code.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::{Error, ErrorReply};

fuzz_target!(|data: &[u8]| {
    let Ok(reply) = ErrorReply::from_slice(data) else {
        return;
    };
    let again = ErrorReply::from_slice(&reply.to_vec()).expect("printed reply parses");
    assert_eq!(again, reply);
    let err = Error::Delegated {
        plugin: "ipam".into(),
        reply: reply.clone(),
    };
    assert_eq!(err.code(), reply.code);
});
