//! Lab test: IPAM delegation to Debian's real `host-local` plugin.

use std::path::PathBuf;

use netplumb_cniconf::skel::{self, Limits};
use netplumb_cniconf::{CniVersion, Env, Error};
use serde_json::json;

/// The directory holding Debian's CNI plugins, inside the lab.
fn lab_cni_path() -> String {
    assert!(
        std::env::var_os("NETPLUMB_LAB").is_some(),
        "NETPLUMB_LAB is not set: run this test through `cargo xtask lab`"
    );
    std::env::var("NETPLUMB_LAB_CNI_PATH").expect("the lab sets NETPLUMB_LAB_CNI_PATH")
}

fn env(command: &str, cni_path: &str) -> Env {
    Env::from_vars([
        ("CNI_COMMAND", command.to_string()),
        (
            "CNI_CONTAINERID",
            format!("lab-cniconf-{}", std::process::id()),
        ),
        // host-local never enters the namespace; a path that is not one is
        // enough, and keeps this test off every real namespace.
        (
            "CNI_NETNS",
            "/run/netns/netplumb-lab-cniconf-none".to_string(),
        ),
        ("CNI_IFNAME", "net1".to_string()),
        ("CNI_PATH", cni_path.to_string()),
    ])
    .unwrap()
}

#[test]
#[ignore = "lab"]
fn lab_host_local_is_delegated_in_every_version_it_speaks() {
    let cni_path = lab_cni_path();
    let data_dir = PathBuf::from(format!("/tmp/netplumb-lab-cniconf-{}", std::process::id()));
    for version in [CniVersion::V0_3_1, CniVersion::V0_4_0, CniVersion::V1_0_0] {
        let mut conf = json!({
            "cniVersion": version.as_str(), "name": "lab-cniconf", "type": "sriov",
            "ipam": {
                "type": "host-local", "dataDir": data_dir.to_str(),
                "ranges": [[{"subnet": "198.51.100.0/24", "rangeStart": "198.51.100.10",
                             "rangeEnd": "198.51.100.20", "gateway": "198.51.100.1"}]],
                "routes": [{"dst": "0.0.0.0/0"}]
            }
        });
        let stdin = conf.to_string();

        let result = skel::delegate(
            "host-local",
            "ipam.type",
            &env("ADD", &cni_path),
            stdin.as_bytes(),
            &Limits::default(),
        )
        .unwrap()
        .expect("ADD returns a result");
        assert_eq!(result.cni_version, version);
        let ip = &result.ips[0];
        assert_eq!(ip.address.prefix(), 24);
        assert!(
            ip.address.to_string().starts_with("198.51.100."),
            "{}",
            ip.address
        );
        assert_eq!(ip.gateway, Some("198.51.100.1".parse().unwrap()));
        assert_eq!(result.routes[0].dst.to_string(), "0.0.0.0/0");
        let reserved = data_dir
            .join("lab-cniconf")
            .join(ip.address.ip().to_string());
        assert!(reserved.exists(), "{} missing", reserved.display());

        if version.supports_check() {
            conf["prevResult"] = result.to_json();
            let check = skel::delegate(
                "host-local",
                "ipam.type",
                &env("CHECK", &cni_path),
                conf.to_string().as_bytes(),
                &Limits::default(),
            );
            assert_eq!(check.unwrap(), None);
        }

        assert_eq!(
            skel::delegate(
                "host-local",
                "ipam.type",
                &env("DEL", &cni_path),
                stdin.as_bytes(),
                &Limits::default()
            )
            .unwrap(),
            None
        );
        assert!(
            !reserved.exists(),
            "{} still reserved after DEL",
            reserved.display()
        );

        if version.supports_check() {
            // Nothing is reserved any more: host-local's own error comes back.
            let err = skel::delegate(
                "host-local",
                "ipam.type",
                &env("CHECK", &cni_path),
                conf.to_string().as_bytes(),
                &Limits::default(),
            )
            .unwrap_err();
            assert!(
                matches!(err, Error::Delegated { ref plugin, .. } if plugin == "host-local"),
                "{err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
