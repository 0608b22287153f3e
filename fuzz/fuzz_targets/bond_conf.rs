//! `bond` configs: parsing never panics, and what parses survives a round
//! trip through its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::BondConf;

fuzz_target!(|data: &[u8]| {
    if let Ok(conf) = BondConf::from_slice(data) {
        conf.validate().expect("a parsed config passes validate");
        let again = BondConf::from_slice(&conf.to_vec()).expect("canonical form parses");
        assert_eq!(again, conf);
    }
});
