//! Hostile `deviceID`s and `master`s, which only a real SR-IOV NIC can
//! tell apart: a PF, a NIC without SR-IOV, a VF another pod holds, a VF
//! whose netdev someone else took. The `sriov` plugin binary runs as a
//! runtime runs it; each case must be refused with the right code, name
//! what it was given, and leave every VF, PF and pod as they were. Run them
//! with `cargo xtask lab lab_hostile`; `cargo test` skips them.

mod common;

use common::{
    exec, ip, lab_pfs, lab_vf, lab_vm_nic, snapshot, try_ip, Attachment, Lab, Network, Pod,
};
use netplumb_vf::VfNetdev;
use serde_json::{json, Value};

/// What the host shows of the PFs, their VF tables and the VM NIC: none of
/// it may change.
fn host_links() -> String {
    let mut all = String::new();
    for pf in lab_pfs() {
        all.push_str(&ip(&["-d", "link", "show", "dev", &pf.to_string()]));
    }
    all.push_str(&ip(&[
        "-d",
        "link",
        "show",
        "dev",
        &lab_vm_nic().to_string(),
    ]));
    all
}

/// ADD of `conf` into a fresh pod, which must fail with `code` and a
/// message containing `needle`, leaving the host links as they were, the
/// pod empty and no journal file.
fn refused(lab: &Lab, case: &str, conf: Value, code: u64, needle: &str) {
    let before = host_links();
    let pod = Pod::new("hx");
    let att = Attachment::new(&pod, "net1");
    let out = exec("sriov", "ADD", &att, &conf);
    assert!(!out.succeeded(), "{case}: {out}");
    let (got, msg) = out.error();
    assert_eq!(got, code, "{case}: {msg}");
    assert!(msg.contains(needle), "{case}: {needle:?} not in {msg:?}");
    assert!(!out.stderr.contains("panicked"), "{case}: {out}");
    pod.assert_empty();
    let network = conf["name"].as_str().unwrap();
    assert_eq!(
        lab.journal_files(network),
        Vec::<String>::new(),
        "{case}: journal files left"
    );
    assert_eq!(host_links(), before, "{case}: the host's links changed");
}

#[test]
#[ignore = "lab"]
fn lab_hostile_a_pf_a_vm_nic_or_a_vf_is_no_master_and_a_pf_no_device() {
    let lab = Lab::new();
    let pf = lab_pfs()[0];
    let pf_addr = lab.host.sysfs().pf(&pf).unwrap().addr.to_string();
    let vf = lab_vf(&lab.host, 0, 3);
    let vf_name = vf.netdev_name().unwrap().to_string();
    let vm_nic = lab_vm_nic().to_string();
    let pf_device = "it is an SR-IOV physical function";
    #[rustfmt::skip]
    let cases: [(&str, Value, &str); 6] = [
        ("deviceID a PF", json!({"deviceID": pf_addr}), pf_device),
        ("pciBusID a PF", json!({"pciBusID": pf_addr}), pf_device),
        ("runtimeConfig.deviceID a PF", json!({"runtimeConfig": {"deviceID": pf_addr}}), pf_device),
        ("master the VM NIC", json!({"master": vm_nic}), &vm_nic),
        ("master a VF", json!({"master": vf_name}), &vf_name),
        ("master a PF that is not the VF's", json!({"deviceID": vf.addr.to_string(), "master": lab_pfs()[1].to_string()}), "master"),
    ];
    for (case, fields, needle) in cases {
        let conf = lab.sriov("1.0.0", "hostile-net", fields);
        refused(&lab, case, conf, 7, needle);
    }
    assert!(
        matches!(
            lab.host.sysfs().vf(vf.addr).unwrap().netdev,
            VfNetdev::Host(_)
        ),
        "the VF stayed in the host"
    );
}

#[test]
#[ignore = "lab"]
fn lab_hostile_a_vf_another_pod_holds_is_refused_and_stays_theirs() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 4);
    let before = lab.guard(&vf);
    let conf = lab.sriov(
        "1.0.0",
        "hostile-held",
        json!({"deviceID": vf.addr.to_string()}),
    );
    let net = Network::single(conf.clone());
    let owner = Pod::new("hxo");
    let theirs = Attachment::new(&owner, "net1");
    let result = net.added(&theirs);

    let intruder = Pod::new("hxi");
    for ifname in ["net1", "net2"] {
        let att = Attachment::new(&intruder, ifname);
        let out = exec("sriov", "ADD", &att, &conf);
        let (code, msg) = out.error();
        // Someone else holds it: the runtime may try again later.
        assert_eq!(code, 11, "{ifname}: {msg}");
        assert!(msg.contains(&vf.addr.to_string()), "{ifname}: {msg}");
        assert!(!out.stderr.contains("panicked"), "{out}");
        intruder.assert_empty();
        // The intruder's DEL, as a runtime sends it after a failed ADD,
        // must leave the owner's VF alone.
        exec("sriov", "DEL", &att, &conf).ok();
    }
    assert_eq!(owner.links(), ["lo", "net1"], "the owner keeps its VF");
    net.checked(&theirs, &result);
    net.deleted(&theirs, Some(&result));
    lab.assert_nothing_left(&before, "hostile-held", &theirs, Some(&owner));
}

#[test]
#[ignore = "lab"]
fn lab_hostile_a_vf_whose_netdev_someone_else_took_is_refused() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 5);
    let before = lab.guard(&vf);
    let name = vf.netdev_name().unwrap().to_string();
    let other = Pod::new("hxt");
    ip(&["link", "set", "dev", &name, "netns", &other.name]);
    let conf = lab.sriov(
        "1.0.0",
        "hostile-taken",
        json!({"deviceID": vf.addr.to_string()}),
    );
    let pod = Pod::new("hxp");
    let att = Attachment::new(&pod, "net1");
    let out = exec("sriov", "ADD", &att, &conf);
    let (code, msg) = out.error();
    // Whoever took it keeps no claim, so it is not told apart from a VF
    // that lost its netdev: the configuration names a VF that cannot be
    // used, 7.
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("in another network namespace"), "{msg}");
    assert!(msg.contains(&vf.addr.to_string()), "{msg}");
    pod.assert_empty();
    let mut expected = vec!["lo".to_owned(), name.clone()];
    expected.sort();
    assert_eq!(other.links(), expected);
    exec("sriov", "DEL", &att, &conf).ok();
    // Back home, for the guard to find it.
    other.ip(&["link", "set", "dev", &name, "netns", "1"]);
    common::wait_in_host(&lab.host, vf.addr);
    assert!(try_ip(&["link", "show", "dev", &name]).is_ok());
    assert_eq!(snapshot(&lab.host, vf.addr).vf, before.vf);
}

#[test]
#[ignore = "lab"]
fn lab_hostile_a_nic_with_addresses_on_the_host_is_not_moved() {
    // The node's own uplink, named as the VF: a NIC without a PF is what a
    // VF looks like inside a VM, and a VF the host uses has addresses too.
    let mut lab = Lab::new();
    let nic = lab.host.sysfs().vf_by_netdev(&lab_vm_nic()).unwrap();
    let vf = lab_vf(&lab.host, 1, 2);
    let before = [lab.guard(&nic), lab.guard(&vf)];
    for (case, dev, address) in [
        (
            "the VM NIC",
            nic.netdev_name().unwrap().to_string(),
            "203.0.113.9/24",
        ),
        (
            "a VF",
            vf.netdev_name().unwrap().to_string(),
            "2001:db8::9/64",
        ),
    ] {
        ip(&["addr", "add", address, "dev", &dev, "nodad"]);
        let conf = lab.sriov(
            "1.0.0",
            "hostile-in-use",
            json!({"deviceID": snapshot(&lab.host, lab.host.sysfs().vf_by_netdev(&dev.parse().unwrap()).unwrap().addr).vf.addr.to_string()}),
        );
        refused(&lab, case, conf, 7, "is in use there");
        assert!(
            ip(&["addr", "show", "dev", &dev]).contains(address),
            "{case}"
        );
        ip(&["addr", "del", address, "dev", &dev]);
    }
    for state in &before {
        common::assert_as_before(&lab.host, state);
    }
}
