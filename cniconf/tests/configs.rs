//! Real-world configurations (see tests/data/README.md), one test per
//! validation rule, and one malformed input of each kind.

use netplumb_cniconf::{
    codes, BondConf, BondMode, CniArgs, CniVersion, Error, FailOverMac, IfName, LogLevel, NetConf,
    NetConfList, SriovConf, VfLinkState, VfSelector, VlanProto, XmitHashPolicy,
};
use serde_json::{json, Value};

fn data(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

// ---- seeds ----

#[test]
fn seed_002_macvlan_conflist_with_whereabouts() {
    let mut list =
        NetConfList::from_slice(&data("seed-002-macvlan-whereabouts.conflist.json")).unwrap();
    assert_eq!(list.cni_version.as_deref(), Some("0.3.1"));
    assert_eq!(list.name, None);
    assert_eq!(list.version().unwrap(), CniVersion::V0_3_1);
    assert_eq!(list.plugins.len(), 1);
    // Without a name the runtime cannot run the list; Multus names it after
    // the attachment definition.
    assert_eq!(
        list.plugin_conf(0).unwrap_err().to_string(),
        "name: missing, expected the network's name"
    );
    list.name = Some("macvlan-conf".into());
    let conf = list.plugin_conf(0).unwrap();
    assert_eq!(conf.name, "macvlan-conf");
    assert_eq!(conf.plugin_type, "macvlan");
    assert_eq!(conf.cni_version, Some(CniVersion::V0_3_1));
    assert_eq!(conf.capabilities.get("ips"), Some(&true));
    assert_eq!(conf.extra["master"], "eth0");
    assert_eq!(conf.extra["mode"], "bridge");
    let ipam = conf.ipam.unwrap();
    assert_eq!(ipam.plugin_type, "whereabouts");
    assert_eq!(ipam.extra["range"], "192.168.20.0/24");
    assert_eq!(ipam.extra["range_start"], "192.168.20.10");
    assert_eq!(ipam.extra["gateway"], "192.168.20.1");
}

#[test]
fn seed_003_sriov_by_master() {
    let conf = SriovConf::from_slice(&data("seed-003-sriov-master.json")).unwrap();
    assert_eq!(conf.net.name, "mynet");
    assert_eq!(conf.net.plugin_type, "sriov");
    assert_eq!(conf.net.cni_version, None);
    assert_eq!(conf.net.result_version(), CniVersion::V0_3_0);
    assert_eq!(conf.master.unwrap(), "enp1s0f1");
    assert_eq!(conf.device_id, None);
    assert_eq!(
        conf.vf_selector().unwrap(),
        VfSelector::FreeVfOf("enp1s0f1".parse().unwrap())
    );
    let ipam = conf.net.ipam.as_ref().unwrap();
    assert_eq!(ipam.plugin_type, "host-local");
    assert_eq!(ipam.extra["subnet"], "10.55.206.0/26");
    assert_eq!(ipam.extra["routes"], json!([{"dst": "0.0.0.0/0"}]));
    assert_eq!(conf.vlan, None);
}

#[test]
fn seed_004_bond_attachment_definition() {
    let conf = BondConf::from_slice(&data("seed-004-bond.json")).unwrap();
    assert_eq!(conf.net.name, "bond-net1");
    assert_eq!(conf.net.cni_version, Some(CniVersion::V0_3_1));
    assert_eq!(conf.options.mode, BondMode::ActiveBackup);
    assert_eq!(conf.options.miimon, Some(100));
    assert_eq!(conf.options.fail_over_mac, Some(FailOverMac::Active));
    assert!(conf.links_in_container);
    assert_eq!(conf.mtu, Some(1500));
    assert_eq!(conf.links, ["net1", "net2"]);
    assert_eq!(
        conf.net.ipam.as_ref().unwrap().extra["gateway"],
        "10.56.217.1"
    );
    // Strict out: canonical names and numbers, in the forms bond-cni reads.
    let out = conf.to_json();
    assert_eq!(out["mode"], "active-backup");
    assert_eq!(out["miimon"], "100");
    assert_eq!(out["failOverMac"], 1);
    assert_eq!(BondConf::from_slice(&conf.to_vec()).unwrap(), conf);
}

// ---- the plugins' own README examples ----

#[test]
fn readme_sriov_with_ipam() {
    let conf = SriovConf::from_slice(&data("readme-sriov-ipam.json")).unwrap();
    assert_eq!(conf.device_id.unwrap().to_string(), "0000:03:02.0");
    assert_eq!(conf.vlan, Some(2222));
    assert_eq!(
        conf.net.ipam.as_ref().unwrap().extra["rangeEnd"],
        "10.56.217.181"
    );
    assert!(matches!(
        conf.vf_selector().unwrap(),
        VfSelector::Device {
            expected_pf: None,
            ..
        }
    ));
}

#[test]
fn readme_sriov_dpdk() {
    let conf = SriovConf::from_slice(&data("readme-sriov-dpdk.json")).unwrap();
    assert_eq!(conf.net.name, "sriov-dpdk");
    assert_eq!(conf.vlan, Some(1000));
    assert_eq!(conf.net.ipam, None);
}

#[test]
fn readme_sriov_every_field() {
    let conf = SriovConf::from_slice(&data("readme-sriov-all-fields.json")).unwrap();
    assert_eq!(conf.mac.unwrap().to_string(), "ca:fe:c0:ff:ee:00");
    assert_eq!(
        (conf.vlan, conf.vlan_qos, conf.vlan_proto),
        (Some(1000), Some(4), Some(VlanProto::Dot1Ad))
    );
    assert_eq!((conf.min_tx_rate, conf.max_tx_rate), (Some(100), Some(200)));
    assert_eq!((conf.spoofchk, conf.trust), (Some(false), Some(true)));
    assert_eq!(conf.link_state, Some(VfLinkState::Enable));
    assert_eq!(conf.plugin.log_level, Some(LogLevel::Debug));
    assert_eq!(conf.plugin.log_file.as_deref(), Some("/tmp/sriov.log"));
    let out = conf.to_json();
    assert_eq!(out["spoofchk"], "off");
    assert_eq!(out["vlanProto"], "802.1ad");
    assert_eq!(SriovConf::from_slice(&conf.to_vec()).unwrap(), conf);
}

#[test]
fn readme_sriov_vf_flags_example_is_missing_a_comma() {
    let err = SriovConf::from_slice(&data("readme-sriov-vf-flags-missing-comma.json")).unwrap_err();
    assert_eq!(err.code(), codes::DECODING_FAILURE);
    assert!(
        err.to_string()
            .starts_with("network configuration is not valid JSON"),
        "{err}"
    );
    assert!(err.to_string().contains("line 10"), "{err}");
}

#[test]
fn readme_sriov_bond_port_gets_its_device_at_runtime() {
    let mut conf = SriovConf::from_slice(&data("readme-sriov-bond-port.json")).unwrap();
    assert_eq!(conf.spoofchk, Some(false));
    let err = conf.vf_selector().unwrap_err();
    assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
    assert!(err.to_string().starts_with("deviceID: missing"), "{err}");
    // Multus adds the device plugin's allocation before running the plugin.
    conf.device_id = Some("0000:03:02.1".parse().unwrap());
    assert!(matches!(
        conf.vf_selector().unwrap(),
        VfSelector::Device { .. }
    ));
}

#[test]
fn readme_bond_standalone_delegate() {
    let outer = NetConf::from_slice(&data("readme-bond-standalone-delegate.json")).unwrap();
    assert_eq!(outer.plugin_type, "flannel");
    // flannel hands its delegate the network's name.
    let mut delegate = outer.extra["delegate"].clone();
    delegate["name"] = outer.name.clone().into();
    let conf = BondConf::from_slice(delegate.to_string().as_bytes()).unwrap();
    assert_eq!(conf.options.mode, BondMode::ActiveBackup);
    assert_eq!(conf.options.miimon, Some(100));
    assert!(!conf.links_in_container);
    assert_eq!(conf.links[1], "ens3f2d1");
}

#[test]
fn readme_bond_net1() {
    let conf = BondConf::from_slice(&data("readme-bond-net1.json")).unwrap();
    assert_eq!(conf.net.name, "bond-net1");
    assert_eq!(conf.options.fail_over_mac, Some(FailOverMac::Active));
}

#[test]
fn e2e_bond_balance_xor_with_hash_policy() {
    let mut v: Value = serde_json::from_slice(&data("e2e-bond-mode2-layer2plus3.json")).unwrap();
    v["name"] = "bond-mode2-layer2plus3".into();
    let conf = BondConf::from_slice(v.to_string().as_bytes()).unwrap();
    assert_eq!(conf.options.mode, BondMode::BalanceXor);
    assert_eq!(conf.options.xmit_hash_policy, Some(XmitHashPolicy::Layer23));
    assert_eq!(conf.ifname.unwrap(), "bond0");
    assert_eq!(conf.mtu, Some(1300));
    assert_eq!(conf.net.cni_version, Some(CniVersion::V1_1_0));
}

// ---- sriov rules, one test each ----

fn sriov(extra: Value) -> Result<SriovConf, Error> {
    let mut v =
        json!({"cniVersion": "1.0.0", "name": "n", "type": "sriov", "deviceID": "0000:03:02.0"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    SriovConf::from_slice(v.to_string().as_bytes())
}

fn sriov_err(extra: Value) -> String {
    let err = sriov(extra).unwrap_err();
    assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG, "{err}");
    err.to_string()
}

#[test]
fn sriov_vlan_range() {
    assert_eq!(sriov(json!({"vlan": 4094})).unwrap().vlan, Some(4094));
    assert_eq!(
        sriov_err(json!({"vlan": 5000})),
        "vlan: 5000 is out of range, expected 0-4094"
    );
    assert_eq!(
        sriov_err(json!({"vlan": -1})),
        "vlan: -1 is out of range, expected 0-4094"
    );
}

#[test]
fn sriov_qos_range() {
    assert_eq!(
        sriov_err(json!({"vlan": 10, "vlanQoS": 8})),
        "vlanQoS: 8 is out of range, expected 0-7"
    );
}

#[test]
fn sriov_qos_needs_vlan() {
    assert_eq!(
        sriov_err(json!({"vlanQoS": 1})),
        "vlanQoS: is set without vlan, expected vlan to be set too"
    );
}

#[test]
fn sriov_proto_needs_vlan() {
    assert_eq!(
        sriov_err(json!({"vlanProto": "802.1q"})),
        "vlanProto: is set without vlan, expected vlan to be set too"
    );
}

#[test]
fn sriov_nonzero_qos_needs_nonzero_vlan() {
    assert!(sriov(json!({"vlan": 0, "vlanQoS": 0})).is_ok());
    assert_eq!(
        sriov_err(json!({"vlan": 0, "vlanQoS": 3})),
        "vlanQoS: is non-zero while vlan is 0, expected a non-zero vlan"
    );
}

#[test]
fn sriov_802_1ad_needs_nonzero_vlan() {
    assert_eq!(
        sriov_err(json!({"vlan": 0, "vlanProto": "802.1ad"})),
        "vlanProto: is 802.1ad while vlan is 0, expected a non-zero vlan"
    );
}

#[test]
fn sriov_vlan_proto_values() {
    for (text, proto) in [
        ("802.1q", VlanProto::Dot1Q),
        ("802.1Q", VlanProto::Dot1Q),
        ("802.1ad", VlanProto::Dot1Ad),
        ("802.1AD", VlanProto::Dot1Ad),
    ] {
        assert_eq!(
            sriov(json!({"vlan": 5, "vlanProto": text}))
                .unwrap()
                .vlan_proto,
            Some(proto)
        );
    }
    // Written lowercase, as sriov-cni compares it.
    let c = sriov(json!({"vlan": 5, "vlanProto": "802.1Q"})).unwrap();
    assert_eq!(c.to_json()["vlanProto"], "802.1q");
    assert_eq!(
        sriov_err(json!({"vlan": 5, "vlanProto": "802.1x"})),
        "vlanProto: \"802.1x\" is not a valid VLAN protocol: expected 802.1Q or 802.1ad"
    );
    let mut c = c;
    c.vlan_proto = Some(VlanProto::Other(0x9100));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "vlanProto: 0x9100 is not a protocol a VF takes, expected 802.1q or 802.1ad"
    );
}

#[test]
fn sriov_spoofchk_and_trust_values() {
    let c = sriov(json!({"spoofchk": "on", "trust": false})).unwrap();
    assert_eq!((c.spoofchk, c.trust), (Some(true), Some(false)));
    // Any case: "ON" means on (sriov-cni would read it as off).
    let c = sriov(json!({"spoofchk": "ON", "trust": "Off"})).unwrap();
    assert_eq!((c.spoofchk, c.trust), (Some(true), Some(false)));
    assert_eq!(c.to_json()["spoofchk"], "on");
    assert_eq!(
        sriov_err(json!({"spoofchk": "1"})),
        "spoofchk: \"1\" is not allowed, expected one of \"off\", \"on\""
    );
    assert_eq!(
        sriov_err(json!({"spoofchk": "yes"})),
        "spoofchk: \"yes\" is not allowed, expected one of \"off\", \"on\""
    );
    assert_eq!(
        sriov_err(json!({"trust": "enabled"})),
        "trust: \"enabled\" is not allowed, expected one of \"off\", \"on\""
    );
}

#[test]
fn sriov_link_state_values() {
    assert_eq!(
        sriov(json!({"link_state": "disable"})).unwrap().link_state,
        Some(VfLinkState::Disable)
    );
    let c = sriov(json!({"link_state": "Enable"})).unwrap();
    assert_eq!(c.link_state, Some(VfLinkState::Enable));
    assert_eq!(c.to_json()["link_state"], "enable");
    assert_eq!(
        sriov_err(json!({"link_state": "up"})),
        "link_state: \"up\" is not a valid VF link state: expected auto, enable or disable"
    );
    let mut c = c;
    c.link_state = Some(VfLinkState::Other(3));
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "link_state: 3 is not a state a VF is set to, expected auto, enable or disable"
    );
}

#[test]
fn sriov_min_rate_not_above_max() {
    assert!(sriov(json!({"min_tx_rate": 100, "max_tx_rate": 100})).is_ok());
    assert!(
        sriov(json!({"min_tx_rate": 100, "max_tx_rate": 0})).is_ok(),
        "max 0 means no limit"
    );
    assert_eq!(
        sriov_err(json!({"min_tx_rate": 200, "max_tx_rate": 100})),
        "min_tx_rate: 200 is above max_tx_rate 100, expected at most 100"
    );
}

#[test]
fn sriov_mac_syntax() {
    assert!(sriov_err(json!({"mac": "ca:fe"})).starts_with("mac: \"ca:fe\" is not a MAC address"));
    assert!(sriov_err(json!({"mac": "ca:fe-c0:ff:ee:00"}))
        .starts_with("mac: \"ca:fe-c0:ff:ee:00\" is not a MAC address"));
    let err = sriov(json!({"runtimeConfig": {"mac": "zz"}})).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("runtimeConfig.mac: \"zz\" is not a MAC address"),
        "{err}"
    );
}

#[test]
fn sriov_device_id_syntax() {
    assert!(sriov_err(json!({"deviceID": "eth0"}))
        .starts_with("deviceID: \"eth0\" is not a PCI address"));
    assert!(
        sriov_err(json!({"runtimeConfig": {"deviceID": "0000:03:02"}}))
            .starts_with("runtimeConfig.deviceID: \"0000:03:02\" is not a PCI address")
    );
}

#[test]
fn sriov_master_is_an_interface_name() {
    assert!(
        sriov_err(json!({"master": "a-name-that-is-too-long"})).starts_with(
            "master: \"a-name-that-is-too-long\" is not a valid interface name: it is longer than \
         15 bytes"
        )
    );
    assert!(sriov_err(json!({"master": "enp%d"}))
        .starts_with("master: \"enp%d\" is not a valid interface name: it contains '%'"));
}

#[test]
fn sriov_log_level_values() {
    let c = sriov(json!({"logLevel": "Warning"})).unwrap();
    assert_eq!(
        (c.plugin.log_level, c.plugin.unknown_log_level.as_deref()),
        (Some(LogLevel::Warning), None)
    );
    assert_eq!(c.to_json()["logLevel"], "warning");
}

#[test]
fn sriov_unknown_log_level_reads_as_info_and_is_kept() {
    // sriov-cni accepts an unknown level and stays at its default, info.
    let c = sriov(json!({"logLevel": "verbose"})).unwrap();
    assert_eq!(c.plugin.log_level, Some(LogLevel::Info));
    assert_eq!(LogLevel::default(), LogLevel::Info);
    assert_eq!(c.plugin.unknown_log_level.as_deref(), Some("verbose"));
    assert_eq!(c.to_json()["logLevel"], "verbose");
    assert_eq!(SriovConf::from_slice(&c.to_vec()).unwrap(), c);
    // Built in code, the two fields must agree.
    let mut c = c;
    c.plugin.unknown_log_level = Some("debug".into());
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .starts_with("logLevel: \"debug\" is kept as an unknown level"));
}

#[test]
fn sriov_ipam_must_not_be_sriov_itself() {
    assert_eq!(
        sriov_err(json!({"ipam": {"type": "sriov"}})),
        "ipam.type: \"sriov\" is this plugin itself and would run itself without end, \
         expected an IPAM plugin such as \"host-local\""
    );
}

#[test]
fn sriov_data_dir_is_absolute() {
    assert_eq!(
        sriov(json!({"dataDir": "/var/lib/x"}))
            .unwrap()
            .plugin
            .data_dir
            .unwrap()
            .to_str(),
        Some("/var/lib/x")
    );
    assert!(sriov_err(json!({"dataDir": "state"}))
        .starts_with("dataDir: \"state\" is not an absolute path"));
}

#[test]
fn sriov_runtime_device_id_wins() {
    let c = sriov(json!({"master": "enp1s0f1", "runtimeConfig": {"deviceID": "0000:03:02.5"}}))
        .unwrap();
    assert_eq!(
        c.vf_selector().unwrap(),
        VfSelector::Device {
            pci: "0000:03:02.5".parse().unwrap(),
            expected_pf: Some("enp1s0f1".parse().unwrap())
        }
    );
}

#[test]
fn sriov_mac_precedence() {
    let args: CniArgs = "MAC=02:00:00:00:00:02".parse().unwrap();
    let c = sriov(json!({"mac": "02:00:00:00:00:01"})).unwrap();
    assert_eq!(
        c.effective_mac(&CniArgs::default())
            .unwrap()
            .unwrap()
            .to_string(),
        "02:00:00:00:00:01"
    );
    assert_eq!(
        c.effective_mac(&args).unwrap().unwrap().to_string(),
        "02:00:00:00:00:02"
    );
    let c =
        sriov(json!({"mac": "02:00:00:00:00:01", "runtimeConfig": {"mac": "02:00:00:00:00:03"}}))
            .unwrap();
    assert_eq!(
        c.effective_mac(&args).unwrap().unwrap().to_string(),
        "02:00:00:00:00:03"
    );
    let bad: CniArgs = "MAC=nope".parse().unwrap();
    let err = sriov(json!({})).unwrap().effective_mac(&bad).unwrap_err();
    assert_eq!(err.code(), codes::INVALID_ENV);
    assert!(
        err.to_string().starts_with("CNI_ARGS: MAC: \"nope\""),
        "{err}"
    );
}

#[test]
fn sriov_validate_checks_values_set_in_code() {
    let mut c = sriov(json!({})).unwrap();
    c.vlan = Some(4095);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "vlan: 4095 is out of range, expected 0-4094"
    );
}

// ---- bond rules, one test each ----

fn bond(extra: Value) -> Result<BondConf, Error> {
    let mut v = json!({"cniVersion": "1.0.0", "name": "n", "type": "bond", "mode": "active-backup",
                       "miimon": 100, "links": [{"name": "net1"}, {"name": "net2"}]});
    for (k, x) in extra.as_object().unwrap() {
        if x.is_null() {
            v.as_object_mut().unwrap().remove(k);
        } else {
            v[k] = x.clone();
        }
    }
    BondConf::from_slice(v.to_string().as_bytes())
}

fn bond_err(extra: Value) -> String {
    let err = bond(extra).unwrap_err();
    assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG, "{err}");
    err.to_string()
}

#[test]
fn bond_mode_names_and_numbers() {
    let names = [
        "balance-rr",
        "active-backup",
        "balance-xor",
        "broadcast",
        "802.3ad",
        "balance-tlb",
        "balance-alb",
    ];
    for (n, name) in names.iter().enumerate() {
        let by_name = bond(json!({"mode": name})).unwrap().options.mode;
        assert_eq!(by_name.name(), *name);
        assert_eq!(by_name.number() as usize, n);
        assert_eq!(bond(json!({"mode": n})).unwrap().options.mode, by_name);
        assert_eq!(
            bond(json!({"mode": n.to_string()})).unwrap().options.mode,
            by_name
        );
    }
    // The aliases the bonding mode's parser takes.
    for lacp in [json!("lacp"), json!("LACP"), json!("ieee802.3ad"), json!(4)] {
        let c = bond(json!({"mode": lacp})).unwrap();
        assert_eq!(c.options.mode, BondMode::Ieee8023ad, "{lacp}");
        assert_eq!(c.to_json()["mode"], "802.3ad");
    }
    assert!(bond_err(json!({"mode": 7}))
        .starts_with("mode: \"7\" is not a valid bonding mode: expected balance-rr"));
    assert!(bond_err(json!({"mode": "round-robin"})).ends_with("balance-tlb, balance-alb, or 0-6"));
    assert_eq!(
        bond_err(json!({"mode": null})),
        "mode: missing, expected a bonding mode such as \"active-backup\" or 1"
    );
    let err = bond(json!({"mode": true})).unwrap_err();
    assert_eq!(err.code(), codes::DECODING_FAILURE);
    assert_eq!(
        err.to_string(),
        "mode: expected a string or a number, found true"
    );
}

#[test]
fn bond_numbers_may_be_strings() {
    let c =
        bond(json!({"miimon": "250", "mtu": "9000", "updelay": "500", "downdelay": 500})).unwrap();
    assert_eq!(
        (
            c.options.miimon,
            c.mtu,
            c.options.updelay,
            c.options.downdelay
        ),
        (Some(250), Some(9000), Some(500), Some(500))
    );
    assert_eq!(
        bond_err(json!({"miimon": "fast"})),
        "miimon: \"fast\" is not a whole number, expected 0-2147483647"
    );
}

#[test]
fn bond_miimon_is_required() {
    assert!(bond_err(json!({"miimon": null})).starts_with("miimon: missing"));
}

#[test]
fn bond_fail_over_mac_values() {
    for (v, want) in [
        (json!(0), FailOverMac::None),
        (json!("1"), FailOverMac::Active),
        (json!("follow"), FailOverMac::Follow),
        (json!("Active"), FailOverMac::Active),
    ] {
        assert_eq!(
            bond(json!({"failOverMac": v}))
                .unwrap()
                .options
                .fail_over_mac,
            Some(want)
        );
    }
    assert!(bond_err(json!({"failOverMac": 3}))
        .starts_with("failOverMac: \"3\" is not a valid fail_over_mac policy"));
}

#[test]
fn bond_needs_two_links() {
    assert_eq!(
        bond_err(json!({"links": [{"name": "net1"}]})),
        "links: 1 given, expected at least two"
    );
    assert!(bond_err(json!({"links": null})).starts_with("links: missing"));
}

#[test]
fn bond_links_are_interface_names() {
    assert!(
        bond_err(json!({"links": [{"name": "net1"}, {"name": "bad/name"}]})).starts_with(
            "links[1].name: \"bad/name\" is not a valid interface name: it contains '/'"
        )
    );
    assert!(
        bond_err(json!({"links": [{"name": "net1"}, {"name": "net%d"}]}))
            .starts_with("links[1].name: \"net%d\" is not a valid interface name: it contains '%'")
    );
    assert!(
        bond_err(json!({"links": [{"name": "net1"}, {}]})).starts_with("links[1].name: missing")
    );
    let c = bond(json!({"links": ["net1", "net3"]})).unwrap();
    assert_eq!(c.links[1], "net3");
}

#[test]
fn bond_links_are_distinct() {
    assert_eq!(
        bond_err(json!({"links": [{"name": "net1"}, {"name": "net1"}]})),
        "links: \"net1\" is listed twice, expected distinct ports"
    );
}

#[test]
fn bond_primary_is_one_of_the_links() {
    assert_eq!(
        bond(json!({"primary": "net2"}))
            .unwrap()
            .options
            .primary
            .unwrap(),
        "net2"
    );
    assert_eq!(
        bond_err(json!({"primary": "net3"})),
        "primary: \"net3\" is not one of the ports, expected one of net1, net2"
    );
}

#[test]
fn bond_primary_needs_a_mode_with_a_primary() {
    assert_eq!(
        bond_err(json!({"primary": "net1", "mode": "balance-rr"})),
        "primary: does not apply to mode balance-rr, expected mode active-backup, balance-tlb \
         or balance-alb"
    );
}

#[test]
fn bond_xmit_hash_policy_values_and_modes() {
    for policy in [json!("layer3+4"), json!("layer34"), json!(1), json!("1")] {
        let c = bond(json!({"mode": "802.3ad", "xmitHashPolicy": policy})).unwrap();
        assert_eq!(
            c.options.xmit_hash_policy,
            Some(XmitHashPolicy::Layer34),
            "{policy}"
        );
        assert_eq!(c.to_json()["xmitHashPolicy"], "layer3+4");
    }
    assert!(
        bond_err(json!({"mode": "802.3ad", "xmitHashPolicy": "layer9"}))
            .starts_with("xmitHashPolicy: \"layer9\" is not a valid xmit_hash_policy: expected")
    );
    // The kernel takes a policy in every mode; it only has no effect.
    let c = bond(json!({"xmitHashPolicy": "layer2"})).unwrap();
    assert_eq!(
        (c.options.mode, c.options.xmit_hash_policy),
        (BondMode::ActiveBackup, Some(XmitHashPolicy::Layer2))
    );
}

#[test]
fn bond_tlb_dynamic_lb_needs_tlb_or_alb() {
    assert_eq!(
        bond(json!({"mode": "balance-tlb", "tlbDynamicLb": 1}))
            .unwrap()
            .options
            .tlb_dynamic_lb,
        Some(true)
    );
    assert!(bond_err(json!({"tlbDynamicLb": 1}))
        .starts_with("tlbDynamicLb: does not apply to mode active-backup"));
    assert!(bond_err(json!({"mode": "balance-tlb", "tlbDynamicLb": 2}))
        .starts_with("tlbDynamicLb: the number 2 is not allowed"));
}

#[test]
fn bond_all_slaves_active_is_0_or_1() {
    assert_eq!(
        bond(json!({"allSlavesActive": 1}))
            .unwrap()
            .options
            .all_slaves_active,
        Some(true)
    );
    assert_eq!(
        bond(json!({"allSlavesActive": false}))
            .unwrap()
            .options
            .all_slaves_active,
        Some(false)
    );
    assert_eq!(
        bond_err(json!({"allSlavesActive": 5})),
        "allSlavesActive: the number 5 is not allowed, \
         expected a JSON boolean true/false or the number 0/1"
    );
    assert_eq!(
        bond_err(json!({"allSlavesActive": "true"})),
        "allSlavesActive: the string \"true\" is not allowed, \
         expected a JSON boolean true/false or the number 0/1"
    );
}

#[test]
fn bond_mtu_range() {
    assert_eq!(
        bond(json!({"mtu": 0})).unwrap().mtu,
        None,
        "0 means the default, as in bond-cni"
    );
    assert_eq!(bond(json!({"mtu": "9000"})).unwrap().mtu, Some(9000));
    // One message, whatever the value.
    for (value, shown) in [
        (json!(67), "67"),
        (json!(70000), "70000"),
        (json!(-1), "-1"),
        (json!("-5"), "-5"),
        (json!("99999999999999999999"), "99999999999999999999"),
    ] {
        assert_eq!(
            bond_err(json!({"mtu": value})),
            format!("mtu: {shown} is out of range, expected 68-65535 (or 0 for the default)")
        );
    }
    let mut c = bond(json!({})).unwrap();
    c.mtu = Some(70000);
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "mtu: 70000 is out of range, expected 68-65535 (or 0 for the default)"
    );
}

#[test]
fn bond_ipam_must_not_be_bond_itself() {
    assert_eq!(
        bond_err(json!({"ipam": {"type": "bond", "subnet": "192.0.2.0/24"}})),
        "ipam.type: \"bond\" is this plugin itself and would run itself without end, \
         expected an IPAM plugin such as \"host-local\""
    );
}

#[test]
fn bond_delays_need_miimon() {
    assert_eq!(
        bond_err(json!({"miimon": 0, "updelay": 200})),
        "updelay: 200 needs link monitoring, but miimon is 0 in mode active-backup; \
         expected miimon above 0"
    );
    assert_eq!(
        bond_err(json!({"miimon": 0, "downdelay": 200})),
        "downdelay: 200 needs link monitoring, but miimon is 0 in mode active-backup; \
         expected miimon above 0"
    );
    // A delay of 0 is the kernel's default, and needs no monitoring.
    let c = bond(json!({"miimon": 0, "updelay": 0, "downdelay": "0"})).unwrap();
    assert_eq!((c.options.updelay, c.options.downdelay), (Some(0), Some(0)));
}

#[test]
fn bond_delays_are_multiples_of_miimon() {
    assert!(bond(json!({"miimon": 100, "updelay": 300, "downdelay": 200})).is_ok());
    assert_eq!(
        bond_err(json!({"miimon": 100, "updelay": 150})),
        "updelay: 150 is not a multiple of miimon 100, which the kernel would round it down \
         to (100)"
    );
    assert!(bond_err(json!({"miimon": 100, "downdelay": 50}))
        .starts_with("downdelay: 50 is not a multiple of miimon 100"));
}

#[test]
fn bond_validate_checks_options_set_in_code() {
    let good = bond(json!({})).unwrap();
    let mut c = good.clone();
    c.options.miimon = None;
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .starts_with("miimon: missing"));
    let mut c = good.clone();
    c.options.updelay = Some(250);
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .starts_with("updelay: 250 is not a multiple of miimon 100"));
    let mut c = good.clone();
    c.options.miimon = Some(u32::MAX);
    assert!(c
        .validate()
        .unwrap_err()
        .to_string()
        .starts_with("miimon: 4294967295 is out of range"));
    // A name the kernel takes, but JSON cannot carry as it is.
    let mut c = good;
    c.links[1] = IfName::new(b"net\xff").unwrap();
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "links[1].name: \"net\\xff\" is not UTF-8, expected a name in text, as JSON carries it"
    );
}

#[test]
fn bond_ifname_is_an_interface_name() {
    assert!(bond_err(json!({"ifname": "bond 0"}))
        .starts_with("ifname: \"bond 0\" is not a valid interface name: it contains whitespace"));
}

#[test]
fn bond_unknown_fields_survive() {
    let c = bond(json!({"vendor": {"x": [1]}})).unwrap();
    assert_eq!(c.to_json()["vendor"], json!({"x": [1]}));
}

// ---- one malformed input of each kind ----

#[test]
fn malformed_bad_json_is_code_6() {
    let err = BondConf::from_slice(b"{\"mode\": ").unwrap_err();
    assert_eq!(err.code(), codes::DECODING_FAILURE);
    assert!(
        err.to_string()
            .starts_with("network configuration is not valid JSON"),
        "{err}"
    );
}

#[test]
fn malformed_wrong_type_is_code_6_naming_the_field() {
    let err = bond(json!({"linksInContainer": "yes"})).unwrap_err();
    assert_eq!(err.code(), codes::DECODING_FAILURE);
    assert_eq!(
        err.to_string(),
        "linksInContainer: expected true or false, found the string \"yes\""
    );
    let err = sriov(json!({"vlan": [1]})).unwrap_err();
    assert_eq!(err.to_string(), "vlan: expected a number, found a list");
}

#[test]
fn malformed_out_of_range_is_code_7_naming_the_field() {
    assert_eq!(
        sriov_err(json!({"vlan": 5000})),
        "vlan: 5000 is out of range, expected 0-4094"
    );
}

#[test]
fn malformed_missing_env_is_code_4_naming_the_variable() {
    let err = netplumb_cniconf::Env::from_vars([
        ("CNI_COMMAND", "CHECK"),
        ("CNI_CONTAINERID", "c"),
        ("CNI_IFNAME", "net1"),
    ])
    .unwrap_err();
    assert_eq!(err.code(), codes::INVALID_ENV);
    assert_eq!(err.to_string(), "CNI_NETNS is not set; CHECK needs it");
}

#[test]
fn malformed_unsupported_version_is_code_1() {
    let err = sriov(json!({"cniVersion": "0.1.0"})).unwrap_err();
    assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
    let reply = err.to_reply(CniVersion::LATEST).to_json();
    assert_eq!(reply["code"], 1);
    assert!(reply["msg"]
        .as_str()
        .unwrap()
        .starts_with("cniVersion: \"0.1.0\" is not supported"));
}

// ---- key case: Go's encoding/json matches struct keys in any case ----

#[test]
fn sriov_keys_match_in_any_case_as_in_sriov_cni() {
    let conf = SriovConf::from_slice(
        br#"{"CNIVersion": "1.0.0", "Name": "n", "TYPE": "sriov", "deviceId": "0000:03:02.0",
             "Vlan": 100, "VLANQOS": 2, "SpoofChk": "off", "IPAM": {"Type": "host-local"},
             "RuntimeConfig": {"MAC": "02:00:00:00:00:09"}, "Vendor": 1}"#,
    )
    .unwrap();
    assert_eq!(conf.net.cni_version, Some(CniVersion::V1_0_0));
    assert_eq!(conf.net.name, "n");
    assert_eq!(conf.device_id.unwrap().to_string(), "0000:03:02.0");
    assert_eq!((conf.vlan, conf.vlan_qos), (Some(100), Some(2)));
    assert_eq!(conf.spoofchk, Some(false));
    assert_eq!(conf.net.ipam.as_ref().unwrap().plugin_type, "host-local");
    let rc = conf.net.runtime_config.as_ref().unwrap();
    assert_eq!(rc.mac.unwrap().to_string(), "02:00:00:00:00:09");
    // Unknown keys stay as written; known ones are written canonically.
    assert_eq!(conf.net.extra.keys().collect::<Vec<_>>(), ["Vendor"]);
    let out = conf.to_json();
    assert_eq!(
        (out["vlan"].clone(), out["deviceID"].clone()),
        (json!(100), json!("0000:03:02.0"))
    );
    assert!(out.get("Vlan").is_none());
    assert_eq!(SriovConf::from_slice(&conf.to_vec()).unwrap(), conf);
}

#[test]
fn bond_keys_match_in_any_case_as_in_bond_cni() {
    let conf = BondConf::from_slice(
        br#"{"cniVersion": "0.3.1", "name": "b", "type": "bond", "MODE": "active-backup",
             "MIIMON": "100", "FailOverMac": 1, "LINKS": [{"name": "net1"}, {"name": "net2"}]}"#,
    )
    .unwrap();
    assert_eq!(conf.options.mode, BondMode::ActiveBackup);
    assert_eq!(conf.options.miimon, Some(100));
    assert_eq!(conf.options.fail_over_mac, Some(FailOverMac::Active));
    assert_eq!(conf.links.len(), 2);
    assert!(conf.net.extra.is_empty());
}

#[test]
fn a_key_spelled_two_ways_is_an_error_naming_both() {
    let err = sriov(json!({"vlan": 1, "VLAN": 2})).unwrap_err();
    assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
    assert_eq!(
        err.to_string(),
        "vlan: is given twice, as \"VLAN\" and as \"vlan\", expected one of them"
    );
    let err = bond(json!({"Miimon": 100})).unwrap_err();
    assert_eq!(
        err.to_string(),
        "miimon: is given twice, as \"Miimon\" and as \"miimon\", expected one of them"
    );
    let err = NetConf::from_slice(br#"{"name": "a", "Name": "b", "type": "t"}"#).unwrap_err();
    assert!(err.to_string().starts_with("name: is given twice"), "{err}");
}

#[test]
fn list_keys_match_exactly_as_libcni_reads_them() {
    // libcni reads a list's own keys from a plain map.
    let err = NetConfList::from_slice(br#"{"name": "l", "Plugins": [{"type": "a"}]}"#).unwrap_err();
    assert!(err.to_string().starts_with("plugins: missing"), "{err}");
    // Each plugin is a configuration: its keys match in any case.
    let list = NetConfList::from_slice(
        br#"{"cniVersion": "1.0.0", "name": "l", "plugins": [{"Type": "a", "IPAM": {"type": "b"}}]}"#,
    )
    .unwrap();
    let conf = list.plugin_conf(0).unwrap();
    assert_eq!(conf.plugin_type, "a");
    assert_eq!(conf.ipam.unwrap().plugin_type, "b");
}

#[test]
fn multus_s_pci_bus_id_and_device_info_file_are_read() {
    let conf = SriovConf::from_slice(
        br#"{
            "cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov",
            "pciBusID": "0000:01:10.2",
            "runtimeConfig": {"CNIDeviceInfoFile": "/var/run/k8s.cni.cncf.io/devinfo/cni/n-c1_net1"}
        }"#,
    )
    .unwrap();
    let pci: netplumb_cniconf::PciAddr = "0000:01:10.2".parse().unwrap();
    assert_eq!(
        conf.vf_selector().unwrap(),
        netplumb_cniconf::VfSelector::Device {
            pci,
            expected_pf: None
        }
    );
    assert_eq!(
        conf.net
            .runtime_config
            .as_ref()
            .unwrap()
            .device_info_file
            .as_deref(),
        Some(std::path::Path::new(
            "/var/run/k8s.cni.cncf.io/devinfo/cni/n-c1_net1"
        ))
    );
    // deviceID wins over pciBusID.
    let both = SriovConf::from_slice(
        br#"{"cniVersion": "1.0.0", "name": "n", "type": "sriov",
             "pciBusID": "0000:01:10.2", "deviceID": "0000:01:10.3"}"#,
    )
    .unwrap();
    assert!(matches!(
        both.vf_selector().unwrap(),
        netplumb_cniconf::VfSelector::Device { pci, .. } if pci.function() == 3
    ));
}

#[test]
fn a_bond_config_takes_the_same_logging_and_data_directory_as_sriov() {
    let conf = netplumb_cniconf::BondConf::from_slice(
        br#"{
            "cniVersion": "1.0.0", "name": "bond-net", "type": "bond",
            "mode": "active-backup", "miimon": "100",
            "links": [{"name": "net1"}, {"name": "net2"}],
            "logLevel": "debug", "logFile": "/var/log/netplumb-bond.log",
            "dataDir": "/var/lib/cni/netplumb-bond"
        }"#,
    )
    .unwrap();
    assert_eq!(conf.plugin.log_level, Some(LogLevel::Debug));
    assert_eq!(
        conf.plugin.log_file.as_deref(),
        Some("/var/log/netplumb-bond.log")
    );
    let back = netplumb_cniconf::BondConf::from_slice(&conf.to_vec()).unwrap();
    assert_eq!(back, conf);
    let relative = netplumb_cniconf::BondConf::from_slice(
        br#"{"cniVersion": "1.0.0", "name": "b", "type": "bond", "mode": "1", "miimon": "100",
             "links": [{"name": "a"}, {"name": "b"}], "dataDir": "relative"}"#,
    )
    .unwrap_err();
    assert_eq!(relative.code(), 7);
    assert!(relative.to_string().starts_with("dataDir: "), "{relative}");
}
