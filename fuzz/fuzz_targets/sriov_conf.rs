//! `sriov` configs: parsing never panics, and what parses survives a round
//! trip through its canonical form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::SriovConf;

fuzz_target!(|data: &[u8]| {
    if let Ok(conf) = SriovConf::from_slice(data) {
        conf.validate().expect("a parsed config passes validate");
        let _ = conf.vf_selector();
        let _ = conf.net.prev_result();
        let again = SriovConf::from_slice(&conf.to_vec()).expect("canonical form parses");
        assert_eq!(again, conf);
    }
});
