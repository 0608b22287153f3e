//! Results: parsing never panics, and converting to every version does what
//! the spec says, checked field by field rather than against the converter.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netplumb_cniconf::serde_json::Value;
use netplumb_cniconf::{CniResult, CniVersion};

/// The objects of the list under `key`, or none.
fn objects(json: &Value, key: &str) -> Vec<Value> {
    json.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fuzz_target!(|data: &[u8]| {
    let Ok(result) = CniResult::from_slice(data) else {
        return;
    };
    assert_eq!(result.to_version(result.cni_version), result);
    for v in CniVersion::ALL {
        let r = result.to_version(v);
        assert_eq!(r.cni_version, v);
        let printed = r.to_vec();
        let parsed = CniResult::from_slice(&printed).expect("printed result parses");
        assert_eq!(parsed, r);

        // What every version holds survives.
        assert_eq!((&r.ips, &r.dns), (&result.ips, &result.dns));
        let kept = |x: &CniResult| {
            let interfaces: Vec<_> = x
                .interfaces
                .iter()
                .map(|i| (i.name.clone(), i.mac.clone(), i.sandbox.clone()))
                .collect();
            let routes: Vec<_> = x.routes.iter().map(|r| (r.dst, r.gw)).collect();
            (interfaces, routes)
        };
        assert_eq!(kept(&r), kept(&result));

        // ips[].version is on the wire exactly below 1.0.
        let json = r.to_json();
        for (ip, out) in result.ips.iter().zip(objects(&json, "ips")) {
            let family = if ip.address.is_ipv4() { "4" } else { "6" };
            let expected = (v < CniVersion::V1_0_0).then(|| Value::from(family));
            assert_eq!(out.get("version").cloned(), expected);
        }

        if v < CniVersion::V1_1_0 {
            // The 1.1-only fields are gone, from the value and the wire ...
            for i in &r.interfaces {
                assert_eq!((i.mtu, &i.socket_path, &i.pci_id), (None, &None, &None));
            }
            for route in &r.routes {
                let extras = (route.mtu, route.advmss, route.priority, route.table);
                assert_eq!((extras, route.scope), ((None, None, None, None), None));
            }
            for i in objects(&json, "interfaces") {
                assert!(["mtu", "socketPath", "pciID"]
                    .iter()
                    .all(|k| i.get(*k).is_none()));
            }
            for route in objects(&json, "routes") {
                let keys = ["mtu", "advmss", "priority", "table", "scope"];
                assert!(keys.iter().all(|k| route.get(*k).is_none()));
            }
        }
        // ... and going back up restores all the lower version held,
        // inventing nothing.
        let up = parsed.to_version(CniVersion::LATEST);
        assert_eq!(
            up,
            CniResult {
                cni_version: CniVersion::LATEST,
                ..r
            }
        );
    }
});
