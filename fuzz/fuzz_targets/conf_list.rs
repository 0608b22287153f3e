//! Configuration lists: parsing never panics, lists round-trip, and each
//! plugin's effective config is built or refused cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::{NetConf, NetConfList};

fuzz_target!(|data: &[u8]| {
    if let Ok(conf) = NetConf::from_slice(data) {
        let again = NetConf::from_slice(&conf.to_vec()).expect("canonical form parses");
        assert_eq!(again, conf);
    }
    if let Ok(list) = NetConfList::from_slice(data) {
        let again = NetConfList::from_slice(&list.to_vec()).expect("canonical form parses");
        assert_eq!(again, list);
        let _ = list.version();
        for i in 0..list.plugins.len() {
            if let Ok(conf) = list.plugin_conf(i) {
                assert_eq!(
                    NetConf::from_slice(&conf.to_vec()).expect("plugin config parses"),
                    conf
                );
            }
        }
    }
});
