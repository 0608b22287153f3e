//! The `sriov` plugin binary driven as a runtime drives it, against the
//! lab's real kernel and emulated igb VFs. Run them with
//! `cargo xtask lab lab_sriov`; `cargo test` skips them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Barrier;
use std::time::Duration;

use common::{
    assert_as_before, check_result_shape, claim_owner, driver_of, exec, interface, lab_pfs, lab_vf,
    lab_vm_nic, rebind, snapshot, unique, wait_for, wait_in_host, Attachment, Lab, Network, Pod,
};
use netplumb_netns::MacAddr;
use netplumb_vf::{PciAddr, VfNetdev, VfState};
use serde_json::{json, Value};

const POD_MAC: &str = "02:00:5e:10:00:21";

fn mac(text: &str) -> MacAddr {
    text.parse().unwrap()
}

/// The VF among `candidates` whose netdev has left the host namespace.
fn moved_vf(lab: &Lab, candidates: &[VfState]) -> PciAddr {
    let moved: Vec<PciAddr> = candidates
        .iter()
        .map(|s| s.vf.addr)
        .filter(|addr| matches!(lab.host.sysfs().vf(*addr).unwrap().netdev, VfNetdev::Moved))
        .collect();
    assert_eq!(moved.len(), 1, "VFs moved out of the host: {moved:?}");
    moved[0]
}

/// Seed 003's configuration (a VF of the PF `master`, host-local IPAM) as
/// a cluster would have it here: its PF the lab's, its subnet a
/// documentation one, its journal and leases in the test's directory.
fn seed_003(lab: &Lab, master: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cniconf/tests/data/seed-003-sriov-master.json");
    let mut conf: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(conf["type"], "sriov");
    assert!(
        conf.get("cniVersion").is_none(),
        "the seed names no version"
    );
    conf["master"] = json!(master);
    conf["ipam"]["subnet"] = json!("203.0.113.0/26");
    conf["ipam"]["gateway"] = json!("203.0.113.1");
    conf["ipam"]["dataDir"] = json!(lab.ipam_dir());
    conf["dataDir"] = json!(lab.data_dir());
    conf
}

/// What a pod may do to its interface while it has it: flags, MTU, MAC,
/// altnames, and down.
fn pod_changes_its_interface(pod: &Pod, ifname: &str, new_mac: Option<&str>) {
    pod.ip(&["link", "set", ifname, "promisc", "on", "allmulticast", "on"]);
    pod.ip(&["link", "set", ifname, "mtu", "1400"]);
    pod.ip(&[
        "link",
        "property",
        "add",
        "dev",
        ifname,
        "altname",
        &unique("podalt"),
    ]);
    if let Some(new_mac) = new_mac {
        pod.ip(&["link", "set", ifname, "address", new_mac]);
    }
    pod.ip(&["link", "set", ifname, "down"]);
}

#[test]
#[ignore = "lab"]
fn lab_sriov_seed_003_master_config_adds_checks_and_deletes_twice() {
    let mut lab = Lab::new();
    let pf = lab_pfs()[0];
    let before: Vec<VfState> = (0..7)
        .map(|i| lab.guard(&lab_vf(&lab.host, 0, i)))
        .collect();
    let pod = Pod::new("s3");
    let att = Attachment::new(&pod, "net1");
    // A runtime gives each plugin of a network the list's name and version.
    let net = Network::list("mynet", "1.0.0", vec![seed_003(&lab, &pf.to_string())]);

    let result = net.added(&att);
    check_result_shape(&result, "1.0.0");
    let vf = moved_vf(&lab, &before);
    let (index, iface) = interface(&result, "net1");
    let nl = pod.ns().netlink().unwrap();
    let link = nl.link("net1").unwrap();
    assert_eq!(
        nl.device_of(&link).unwrap(),
        Some(vf.to_string()),
        "{link:?}"
    );
    assert_eq!(iface["sandbox"], json!(pod.path()));
    assert_eq!(iface["mac"], json!(link.mac.unwrap().to_string()));
    let ip = &result["ips"][0];
    assert_eq!(ip["interface"], json!(index));
    assert_eq!(ip["gateway"], "203.0.113.1");
    let address = ip["address"].as_str().unwrap();
    assert!(
        address.starts_with("203.0.113.") && address.ends_with("/26"),
        "{result}"
    );
    assert!(pod.ip(&["addr", "show", "net1"]).contains(address));
    assert!(pod
        .ip(&["route", "show", "default"])
        .contains("via 203.0.113.1 dev net1"));
    assert_eq!(result["routes"], json!([{"dst": "0.0.0.0/0"}]));
    assert!(claim_owner(vf).unwrap().contains(&att.container_id));
    assert!(lab.record("mynet", &att).exists());
    assert_eq!(lab.leases("mynet").len(), 1);

    net.checked(&att, &result);
    // No administrative MAC was asked for: the pod may change its own.
    pod_changes_its_interface(&pod, "net1", Some("02:00:5e:10:00:33"));

    net.deleted(&att, Some(&result));
    net.deleted(&att, Some(&result));
    for state in &before {
        lab.assert_nothing_left(state, "mynet", &att, Some(&pod));
    }
    assert_eq!(lab.leases("mynet"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_device_id_config_puts_back_every_setting_the_pf_and_the_pod_changed() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 2);
    lab.guard(&vf);
    // An altname of the host's, which the pod removes.
    let host_name = vf.netdev_name().unwrap().to_string();
    let host_alt = unique("hostalt");
    common::ip(&[
        "link", "property", "add", "dev", &host_name, "altname", &host_alt,
    ]);
    let before = snapshot(&lab.host, vf.addr);
    let pod = Pod::new("dv");
    let att = Attachment::new(&pod, "net1");
    let conf = lab.sriov(
        "0.4.0",
        "dev-net",
        json!({
            "deviceID": vf.addr.to_string(),
            "vlan": 100, "vlanQoS": 3, "spoofchk": "off", "trust": "on",
            "max_tx_rate": 100, "mac": POD_MAC,
            "ipam": lab.host_local(json!([[{"subnet": "198.51.100.0/24"}]])),
        }),
    );
    let net = Network::single(conf);

    let result = net.added(&att);
    check_result_shape(&result, "0.4.0");
    let config = lab.host.vf_config(&vf.id()).unwrap();
    assert_eq!((config.vlan.id(), config.vlan.qos()), (100, 3));
    assert_eq!((config.spoofchk, config.trust), (Some(false), Some(true)));
    assert_eq!(config.max_tx_rate, 100);
    assert_eq!(config.mac, mac(POD_MAC));
    let link = pod.ns().netlink().unwrap().link("net1").unwrap();
    assert_eq!(link.mac, Some(mac(POD_MAC)));
    assert!(link.is_up());
    assert_eq!(interface(&result, "net1").1["mac"], POD_MAC);
    net.checked(&att, &result);

    // Some kernels (5.10; not 6.1 or 6.12) keep a moved netdev's altnames
    // in the namespace it came from: the pod sees the altname on net1 but
    // cannot look it up or remove it there.
    if common::try_ip(&["-n", &pod.name, "link", "show", "dev", &host_alt]).is_ok() {
        pod.ip(&[
            "link", "property", "del", "dev", "net1", "altname", &host_alt,
        ]);
    }
    pod_changes_its_interface(&pod, "net1", None);
    net.deleted(&att, Some(&result));
    net.deleted(&att, Some(&result));
    lab.assert_nothing_left(&before, "dev-net", &att, Some(&pod));
    assert_eq!(lab.leases("dev-net"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_vm_nic_moves_in_with_its_mac_and_back_and_refuses_pf_side_settings() {
    let mut lab = Lab::new();
    let nic = lab.host.sysfs().vf_by_netdev(&lab_vm_nic()).unwrap();
    let before = lab.guard(&nic);
    let host_mtu = before.netdev.as_ref().unwrap().mtu;
    let pod = Pod::new("vm");
    let att = Attachment::new(&pod, "net1");
    let fields = json!({"deviceID": nic.addr.to_string(), "mac": POD_MAC});
    let net = Network::single(lab.sriov("1.1.0", "vm-net", fields.clone()));

    let result = net.added(&att);
    check_result_shape(&result, "1.1.0");
    let (_, iface) = interface(&result, "net1");
    assert_eq!(iface["mac"], POD_MAC);
    assert_eq!(iface["pciID"], json!(nic.addr.to_string()));
    assert_eq!(iface["mtu"], json!(host_mtu));
    let nl = pod.ns().netlink().unwrap();
    let link = nl.link("net1").unwrap();
    assert_eq!(nl.device_of(&link).unwrap(), Some(nic.addr.to_string()));
    assert_eq!((link.mac, link.mtu), (Some(mac(POD_MAC)), host_mtu));
    assert!(link.is_up());
    net.checked(&att, &result);
    net.deleted(&att, Some(&result));
    net.deleted(&att, Some(&result));
    lab.assert_nothing_left(&before, "vm-net", &att, Some(&pod));

    // A VM's NIC has no PF to take a VLAN.
    let mut with_vlan = fields;
    with_vlan["vlan"] = json!(100);
    let refused = Network::single(lab.sriov("1.1.0", "vm-net", with_vlan));
    let att = Attachment::new(&pod, "net1");
    let (code, msg) = refused.add(&att).unwrap_err().error();
    assert_eq!(code, 7, "{msg}");
    assert!(msg.contains("vlan"), "{msg}");
    lab.assert_nothing_left(&before, "vm-net", &att, Some(&pod));
    refused.deleted(&att, None);
}

#[test]
#[ignore = "lab"]
fn lab_sriov_dpdk_vf_gets_pf_side_settings_and_device_info_until_del() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 6);
    let original = lab.guard(&vf);
    rebind(vf.addr, Some("vfio-pci")).unwrap();
    assert_eq!(driver_of(vf.addr).as_deref(), Some("vfio-pci"));
    let before = snapshot(&lab.host, vf.addr);
    assert_eq!(before.netdev, None);
    let pf_addr = lab.host.sysfs().vf(vf.addr).unwrap().pf.unwrap().addr;
    let pod = Pod::new("dk");
    let att = Attachment::new(&pod, "net1");
    let info = lab.dir.join("devinfo").join("net1.json");
    let net = Network::single(lab.sriov(
        "1.1.0",
        "dpdk-net",
        json!({
            "deviceID": vf.addr.to_string(),
            "vlan": 200, "spoofchk": "off", "trust": "on", "max_tx_rate": 50,
            "mac": POD_MAC,
            "runtimeConfig": {"CNIDeviceInfoFile": info},
        }),
    ));

    let result = net.added(&att);
    check_result_shape(&result, "1.1.0");
    let (_, iface) = interface(&result, "net1");
    assert_eq!(iface["pciID"], json!(vf.addr.to_string()));
    assert_eq!(iface["mac"], POD_MAC);
    assert_eq!(iface["sandbox"], json!(pod.path()));
    let config = lab.host.vf_config(&vf.id()).unwrap();
    assert_eq!(config.vlan.id(), 200);
    assert_eq!((config.spoofchk, config.trust), (Some(false), Some(true)));
    assert_eq!((config.max_tx_rate, config.mac), (50, mac(POD_MAC)));
    assert_eq!(driver_of(vf.addr).as_deref(), Some("vfio-pci"), "not moved");
    pod.assert_empty();
    let written: Value = serde_json::from_slice(&std::fs::read(&info).unwrap()).unwrap();
    assert_eq!(written["type"], "pci");
    assert_eq!(written["pci"]["pci-address"], json!(vf.addr.to_string()));
    assert_eq!(written["pci"]["pf-pci-address"], json!(pf_addr.to_string()));
    net.checked(&att, &result);

    net.deleted(&att, Some(&result));
    net.deleted(&att, Some(&result));
    assert_as_before(&lab.host, &before);
    assert_eq!(claim_owner(vf.addr), None);
    assert!(!lab.record("dpdk-net", &att).exists());
    assert!(!info.exists(), "the device-info file is left");

    // Back to igbvf, as the lab found it.
    rebind(vf.addr, None).unwrap();
    wait_in_host(&lab.host, vf.addr);
    lab.host.restore(&original).unwrap();
    assert_as_before(&lab.host, &original);
}

/// A `deviceID` configuration with PF-side settings, a MAC and host-local
/// addresses: what every DEL case starts from.
fn full_conf(lab: &Lab, network: &str, vf: PciAddr, vlan: u16) -> Value {
    lab.sriov(
        "1.0.0",
        network,
        json!({
            "deviceID": vf.to_string(),
            "vlan": vlan, "spoofchk": "off", "trust": "on", "mac": POD_MAC,
            "ipam": lab.host_local(json!([[{"subnet": "192.0.2.0/24"}]])),
        }),
    )
}

#[test]
#[ignore = "lab"]
fn lab_sriov_del_without_add_succeeds_and_changes_nothing() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 3);
    let before = lab.guard(&vf);
    let pod = Pod::new("na");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(full_conf(&lab, "none-net", vf.addr, 100));
    net.deleted(&att, None);
    net.deleted(&att, None);
    lab.assert_nothing_left(&before, "none-net", &att, Some(&pod));
    assert_eq!(lab.journal_files("none-net"), Vec::<String>::new());
    // Nor does one for a namespace that never existed, or none at all.
    for netns in ["/run/netns/netplumb-never-was", ""] {
        let att = Attachment {
            netns: netns.into(),
            ..att.clone()
        };
        net.deleted(&att, None);
    }
    lab.assert_nothing_left(&before, "none-net", &att, Some(&pod));
}

#[test]
#[ignore = "lab"]
fn lab_sriov_del_after_the_netns_is_gone_puts_the_vf_back() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 4);
    let before = lab.guard(&vf);
    let mut pod = Pod::new("ng");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(full_conf(&lab, "gone-net", vf.addr, 100));
    let result = net.added(&att);
    // The pod ends before its DEL; the kernel hands the VF back on its own.
    pod.delete();
    net.deleted(&att, Some(&result));
    lab.assert_nothing_left(&before, "gone-net", &att, None);
    assert_eq!(lab.leases("gone-net"), Vec::<String>::new());
    // A runtime may repeat it without the namespace.
    let att = Attachment {
        netns: "".into(),
        ..att
    };
    net.deleted(&att, Some(&result));
    lab.assert_nothing_left(&before, "gone-net", &att, None);
}

#[test]
#[ignore = "lab"]
fn lab_sriov_del_after_the_vf_was_rebound_puts_its_pf_side_back() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 5);
    let before = lab.guard(&vf);
    let pod = Pod::new("rb");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(full_conf(&lab, "rebound-net", vf.addr, 100));
    let result = net.added(&att);
    // A userspace driver takes the VF while the pod has it: its netdev goes.
    rebind(vf.addr, Some("vfio-pci")).unwrap();
    pod.assert_empty();

    net.deleted(&att, Some(&result));
    let now = lab.host.vf_config(&vf.id()).unwrap();
    let mut want = before.config.clone().unwrap();
    // The VF's own MAC is its netdev's, which is gone: the PF leaves the
    // entry unlocked for the next driver.
    want.mac = before.admin_mac_to_restore();
    assert_eq!(now, want);
    assert_eq!(claim_owner(vf.addr), None);
    assert!(!lab.record("rebound-net", &att).exists());
    assert_eq!(lab.leases("rebound-net"), Vec::<String>::new());
    net.deleted(&att, Some(&result));

    // Back to igbvf, the netdev is put back as it was.
    rebind(vf.addr, None).unwrap();
    wait_in_host(&lab.host, vf.addr);
    lab.host.restore(&before).unwrap();
    assert_as_before(&lab.host, &before);
}

#[test]
#[ignore = "lab"]
fn lab_sriov_del_after_the_vf_is_gone_succeeds() {
    let mut lab = Lab::new();
    let pf = lab_pfs()[1];
    let before: Vec<VfState> = (0..7)
        .map(|i| lab.guard(&lab_vf(&lab.host, 1, i)))
        .collect();
    lab.num_vfs.push((pf, 7));
    let vf = before[6].vf.addr;
    let pod = Pod::new("vg");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(full_conf(&lab, "vfgone-net", vf, 100));
    let result = net.added(&att);
    // The PF drops to 6 VFs (through 0): VF 6 and its netdev in the pod go.
    lab.host.sysfs().set_num_vfs(&pf, 6).unwrap();
    assert!(lab.host.sysfs().vf(vf).is_err());
    pod.assert_empty();

    net.deleted(&att, Some(&result));
    net.deleted(&att, Some(&result));
    assert_eq!(claim_owner(vf), None);
    assert!(!lab.record("vfgone-net", &att).exists());
    assert_eq!(lab.leases("vfgone-net"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_del_with_the_journal_record_missing_succeeds_and_releases_the_address() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 5);
    lab.guard(&vf);
    let pod = Pod::new("jm");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(full_conf(&lab, "lost-net", vf.addr, 100));
    let result = net.added(&att);
    assert_eq!(lab.leases("lost-net").len(), 1);
    std::fs::remove_file(lab.record("lost-net", &att)).unwrap();

    // Without the record nothing says what the VF was, so it is left with
    // the pod (and the guard puts it back once the namespace goes): what
    // is left to do is IPAM's.
    net.deleted(&att, Some(&result));
    assert_eq!(lab.leases("lost-net"), Vec::<String>::new());
    net.deleted(&att, Some(&result));
    assert_eq!(lab.journal_files("lost-net"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_del_with_a_changed_config_puts_back_what_add_changed() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 1);
    let before = lab.guard(&vf);
    let pod = Pod::new("cc");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(full_conf(&lab, "changed-net", vf.addr, 100));
    let result = net.added(&att);
    // The network's definition changed while the pod ran.
    let mut changed = full_conf(&lab, "changed-net", vf.addr, 300);
    changed["mac"] = json!("02:00:5e:10:00:99");
    changed["trust"] = json!("off");
    let changed = Network::single(changed);
    changed.deleted(&att, Some(&result));
    lab.assert_nothing_left(&before, "changed-net", &att, Some(&pod));
    assert_eq!(lab.leases("changed-net"), Vec::<String>::new());
    changed.deleted(&att, Some(&result));
}

/// Pod B's VF as B configured it: in B's namespace, PF-side settings and
/// MAC as asked.
fn assert_held_as_configured(lab: &Lab, pod: &Pod, vf: &netplumb_vf::Vf, vlan: u16, pod_mac: &str) {
    let config = lab.host.vf_config(&vf.id()).unwrap();
    assert_eq!(config.vlan.id(), vlan);
    assert_eq!(config.mac, mac(pod_mac));
    assert_eq!(config.trust, Some(false));
    let link = pod.ns().netlink().unwrap().link("net1").unwrap();
    assert_eq!(link.mac, Some(mac(pod_mac)));
    assert!(link.is_up());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_late_del_after_a_reboot_leaves_the_vf_of_the_pod_that_has_it_now() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 4);
    let before = lab.guard(&vf);
    let mut pod_a = Pod::new("oa");
    let pod_b = Pod::new("ob");
    let (att_a, att_b) = (
        Attachment::new(&pod_a, "net1"),
        Attachment::new(&pod_b, "net1"),
    );
    let net_a = Network::single(full_conf(&lab, "own-net", vf.addr, 100));
    let result_a = net_a.added(&att_a);

    // The node reboots: A's sandbox is gone, the VF is as the driver makes
    // it and the claims on /run are gone; A's journal on disk stays.
    pod_a.delete();
    wait_in_host(&lab.host, vf.addr);
    lab.host.restore(&before).unwrap();
    std::fs::remove_file(format!("/run/netplumb/vfs/{}.json", vf.addr)).unwrap();
    assert!(lab.record("own-net", &att_a).exists());

    let mut conf_b = full_conf(&lab, "own-net", vf.addr, 200);
    conf_b["mac"] = json!("02:00:5e:10:00:b0");
    conf_b["trust"] = json!("off");
    let net_b = Network::single(conf_b);
    let result_b = net_b.added(&att_b);
    assert_held_as_configured(&lab, &pod_b, &vf, 200, "02:00:5e:10:00:b0");

    // The late DEL of A: it succeeds, says why it leaves the VF alone, and
    // only A's record goes.
    let late = exec("sriov", "DEL", &att_a, &net_a.conf(0, Some(&result_a)));
    late.ok();
    assert!(
        late.stderr.contains("is not this attachment's any more"),
        "{late}"
    );
    assert!(!lab.record("own-net", &att_a).exists());
    assert!(lab.record("own-net", &att_b).exists());
    assert!(claim_owner(vf.addr).unwrap().contains(&att_b.container_id));
    assert_held_as_configured(&lab, &pod_b, &vf, 200, "02:00:5e:10:00:b0");
    net_b.checked(&att_b, &result_b);

    net_b.deleted(&att_b, Some(&result_b));
    lab.assert_nothing_left(&before, "own-net", &att_b, Some(&pod_b));
    assert_eq!(lab.leases("own-net"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_vf_of_a_dead_pod_taken_by_another_is_theirs_and_comes_back_as_found() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 0);
    let before = lab.guard(&vf);
    let mut pod_a = Pod::new("da");
    let pod_b = Pod::new("db");
    let (att_a, att_b) = (
        Attachment::new(&pod_a, "net1"),
        Attachment::new(&pod_b, "net1"),
    );
    let net_a = Network::single(full_conf(&lab, "dead-net", vf.addr, 100));
    let result_a = net_a.added(&att_a);

    // A's sandbox dies without a DEL: its claim is dead, and the kernel
    // hands the VF back as A left it.
    pod_a.delete();
    wait_in_host(&lab.host, vf.addr);
    let mut conf_b = full_conf(&lab, "dead-net", vf.addr, 200);
    conf_b["mac"] = json!("02:00:5e:10:00:b0");
    conf_b["trust"] = json!("off");
    let net_b = Network::single(conf_b);
    let result_b = net_b.added(&att_b);
    assert_held_as_configured(&lab, &pod_b, &vf, 200, "02:00:5e:10:00:b0");

    net_a.deleted(&att_a, Some(&result_a));
    assert!(!lab.record("dead-net", &att_a).exists());
    assert!(claim_owner(vf.addr).unwrap().contains(&att_b.container_id));
    assert_held_as_configured(&lab, &pod_b, &vf, 200, "02:00:5e:10:00:b0");

    net_b.deleted(&att_b, Some(&result_b));
    lab.assert_nothing_left(&before, "dead-net", &att_b, Some(&pod_b));
    assert_eq!(lab.leases("dead-net"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_gc_undoes_a_dead_attachment_without_touching_the_vf_its_holder_has_now() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 0);
    let before = lab.guard(&vf);
    let mut pod_a = Pod::new("ga");
    let pod_b = Pod::new("gb");
    let (att_a, att_b) = (
        Attachment::new(&pod_a, "net1"),
        Attachment::new(&pod_b, "net1"),
    );
    let conf = |vlan: u16, trust: &str, pod_mac: &str| {
        lab.sriov(
            "1.1.0",
            "gc-net",
            json!({
                "deviceID": vf.addr.to_string(),
                "vlan": vlan, "trust": trust, "mac": pod_mac,
            }),
        )
    };
    let net_a = Network::single(conf(100, "on", POD_MAC));
    net_a.added(&att_a);
    pod_a.delete();
    wait_in_host(&lab.host, vf.addr);
    let net_b = Network::single(conf(200, "off", "02:00:5e:10:00:b0"));
    let result_b = net_b.added(&att_b);

    // The runtime knows only B: GC undoes A, whose VF is B's now.
    let mut gc = conf(100, "on", POD_MAC);
    gc["cni.dev/valid-attachments"] =
        json!([{"containerID": att_b.container_id, "ifname": "net1"}]);
    exec("sriov", "GC", &att_b, &gc).ok();
    assert!(!lab.record("gc-net", &att_a).exists());
    assert!(lab.record("gc-net", &att_b).exists());
    assert_held_as_configured(&lab, &pod_b, &vf, 200, "02:00:5e:10:00:b0");
    net_b.checked(&att_b, &result_b);

    net_b.deleted(&att_b, Some(&result_b));
    lab.assert_nothing_left(&before, "gc-net", &att_b, Some(&pod_b));
    assert_eq!(lab.journal_files("gc-net"), Vec::<String>::new());
}

/// Runs an ADD of `net` that must fail with `code`, and checks that it
/// left nothing: the VF as before, no claim, no record, nothing in the pod,
/// no address taken; a DEL after it (as a runtime sends) succeeds.
fn assert_failed_add_leaves_nothing(
    lab: &Lab,
    before: &VfState,
    net: &Network,
    code: u64,
) -> String {
    let pod = Pod::new("fa");
    let att = Attachment::new(&pod, "net1");
    let (got, msg) = net.add(&att).unwrap_err().error();
    assert_eq!(got, code, "{msg}");
    lab.assert_nothing_left(before, &net.name, &att, Some(&pod));
    assert_eq!(lab.journal_files(&net.name), Vec::<String>::new());
    net.deleted(&att, None);
    lab.assert_nothing_left(before, &net.name, &att, Some(&pod));
    msg
}

#[test]
#[ignore = "lab"]
fn lab_sriov_failed_adds_leave_nothing_behind() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 2);
    let before = lab.guard(&vf);
    let base = |network: &str, extra: Value| {
        let mut conf = full_conf(&lab, network, vf.addr, 100);
        for (k, v) in extra.as_object().unwrap() {
            conf[k] = v.clone();
        }
        Network::single(conf)
    };

    // No IPAM plugin of that name in CNI_PATH.
    let missing = base(
        "ipam-missing",
        json!({"ipam": {"type": "netplumb-no-such-ipam"}}),
    );
    let msg = assert_failed_add_leaves_nothing(&lab, &before, &missing, 4);
    assert!(msg.contains("netplumb-no-such-ipam"), "{msg}");

    // IPAM runs and fails: its one address is taken.
    let ipam = lab.host_local(json!([[{
        "subnet": "192.0.2.0/24", "rangeStart": "192.0.2.9", "rangeEnd": "192.0.2.9"
    }]]));
    let exhausted = base("ipam-full", json!({ "ipam": ipam }));
    let taken = lab.ipam_dir().join("ipam-full").join("192.0.2.9");
    std::fs::create_dir_all(taken.parent().unwrap()).unwrap();
    std::fs::write(&taken, "someone-else\r\nnet1").unwrap();
    // host-local's own code (Go's generic 999) reaches the runtime.
    let msg = assert_failed_add_leaves_nothing(&lab, &before, &exhausted, 999);
    assert!(msg.contains("host-local"), "{msg}");
    assert!(
        taken.exists(),
        "the other attachment's address was released"
    );

    // igb refuses link_state: code 7, naming it, with the kernel's text.
    let refused = base("refused-net", json!({"link_state": "enable"}));
    let msg = assert_failed_add_leaves_nothing(&lab, &before, &refused, 7);
    assert!(msg.contains("link_state"), "{msg}");
    assert!(msg.contains("Operation not supported"), "{msg}");
}

/// Waits for carrier on the pod's `net1`.
fn wait_carrier(pod: &Pod) {
    let nl = pod.ns().netlink().unwrap();
    wait_for(
        &format!("carrier in {}", pod.name),
        Duration::from_secs(20),
        || nl.link("net1").unwrap().is_lower_up(),
    );
}

#[test]
#[ignore = "lab"]
fn lab_sriov_pods_on_vfs_of_both_pfs_ping_over_ipv4_and_ipv6() {
    let mut lab = Lab::new();
    let vfs = [lab_vf(&lab.host, 0, 3), lab_vf(&lab.host, 1, 3)];
    let before: Vec<VfState> = vfs.iter().map(|vf| lab.guard(vf)).collect();
    let pods = [Pod::new("pa"), Pod::new("pb")];
    let ipam = lab.host_local(json!([
        [{"subnet": "192.0.2.0/24"}],
        [{"subnet": "2001:db8:1::/64"}]
    ]));
    let mut atts = Vec::new();
    let mut addresses = Vec::new();
    let mut results = Vec::new();
    for (i, (vf, pod)) in vfs.iter().zip(&pods).enumerate() {
        let conf = lab.sriov(
            "1.0.0",
            "ping-net",
            json!({
                "deviceID": vf.addr.to_string(),
                "mac": format!("02:00:5e:10:01:0{i}"),
                "ipam": ipam,
            }),
        );
        let net = Network::single(conf);
        let att = Attachment::new(pod, "net1");
        let result = net.added(&att);
        let ips: Vec<String> = result["ips"]
            .as_array()
            .unwrap()
            .iter()
            .map(|ip| {
                ip["address"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(ips.len(), 2, "{result}");
        addresses.push(ips);
        atts.push((net, att));
        results.push(result);
    }
    for pod in &pods {
        wait_carrier(pod);
    }
    for (from, to) in [(0, 1), (1, 0)] {
        for addr in &addresses[to] {
            wait_for(
                &format!("a ping from {} to {addr}", pods[from].name),
                Duration::from_secs(20),
                || pods[from].pings(addr),
            );
        }
    }
    for ((net, att), result) in atts.iter().zip(&results) {
        net.deleted(att, Some(result));
    }
    for ((state, (_, att)), pod) in before.iter().zip(&atts).zip(&pods) {
        lab.assert_nothing_left(state, "ping-net", att, Some(pod));
    }
    assert_eq!(lab.leases("ping-net"), Vec::<String>::new());
}

/// The MAC `peer`'s neighbour table has for `address`.
fn neighbour_mac(peer: &Pod, address: std::net::IpAddr) -> Option<MacAddr> {
    peer.ns()
        .netlink()
        .unwrap()
        .neighbours()
        .unwrap()
        .into_iter()
        .find(|n| n.address == address)
        .and_then(|n| n.mac)
}

#[test]
#[ignore = "lab"]
fn lab_sriov_add_tells_a_peer_the_pods_new_mac_without_traffic_from_the_peer() {
    let mut lab = Lab::new();
    let (vf, peer_vf) = (lab_vf(&lab.host, 0, 4), lab_vf(&lab.host, 1, 4));
    let before = [lab.guard(&vf), lab.guard(&peer_vf)];
    let (pod, peer) = (Pod::new("an"), Pod::new("ap"));
    let peer_net = Network::single(lab.sriov(
        "1.0.0",
        "peer-net",
        json!({
            "deviceID": peer_vf.addr.to_string(),
            "mac": "02:00:5e:10:02:01",
            "ipam": {"type": "static", "addresses": [
                {"address": "192.0.2.200/24"}, {"address": "2001:db8:2::200/64"}
            ]},
        }),
    ));
    let peer_att = Attachment::new(&peer, "net1");
    let peer_result = peer_net.added(&peer_att);
    // The peer knows the pod's addresses at an old MAC, as after the pod's
    // previous incarnation; nothing in it sends to them.
    let (v4, v6) = ("192.0.2.100", "2001:db8:2::100");
    let old = "02:00:5e:10:02:99";
    for addr in [v4, v6] {
        peer.ip(&[
            "neigh", "replace", addr, "lladdr", old, "dev", "net1", "nud", "stale",
        ]);
    }

    let net = Network::single(lab.sriov(
        "1.0.0",
        "announce-net",
        json!({
            "deviceID": vf.addr.to_string(),
            "mac": POD_MAC,
            "ipam": {"type": "static", "addresses": [
                {"address": "192.0.2.100/24"}, {"address": "2001:db8:2::100/64"}
            ]},
        }),
    ));
    let att = Attachment::new(&pod, "net1");
    let result = net.added(&att);
    for addr in [v4, v6] {
        let addr = addr.parse().unwrap();
        wait_for(
            &format!("the peer's entry for {addr} to take the pod's MAC"),
            Duration::from_secs(5),
            || neighbour_mac(&peer, addr) == Some(mac(POD_MAC)),
        );
    }
    net.deleted(&att, Some(&result));
    peer_net.deleted(&peer_att, Some(&peer_result));
    lab.assert_nothing_left(&before[0], "announce-net", &att, Some(&pod));
    lab.assert_nothing_left(&before[1], "peer-net", &peer_att, Some(&peer));
}

#[test]
#[ignore = "lab"]
fn lab_sriov_fourteen_adds_at_once_on_seven_vfs_give_seven_vfs_and_seven_code_11() {
    let mut lab = Lab::new();
    let pf = lab_pfs()[1];
    let before: Vec<VfState> = (0..7)
        .map(|i| lab.guard(&lab_vf(&lab.host, 1, i)))
        .collect();
    let pods: Vec<Pod> = (0..14).map(|_| Pod::new("cc")).collect();
    let atts: Vec<Attachment> = pods.iter().map(|p| Attachment::new(p, "net1")).collect();
    let net = Network::single(lab.sriov("1.1.0", "busy-net", json!({"master": pf.to_string()})));

    let start = Barrier::new(atts.len());
    let outcomes: Vec<Result<Value, common::Outcome>> = std::thread::scope(|scope| {
        let threads: Vec<_> = atts
            .iter()
            .map(|att| {
                let (net, start) = (&net, &start);
                scope.spawn(move || {
                    start.wait();
                    net.add(att)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    let mut winners = Vec::new();
    let mut got = BTreeSet::new();
    for ((outcome, att), pod) in outcomes.iter().zip(&atts).zip(&pods) {
        match outcome {
            Ok(result) => {
                let pci = interface(result, "net1").1["pciID"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                assert!(claim_owner(pci.parse().unwrap())
                    .unwrap()
                    .contains(&att.container_id));
                got.insert(pci);
                winners.push((att, result));
            }
            Err(out) => {
                let (code, msg) = out.error();
                assert_eq!(code, 11, "{msg}");
                pod.assert_empty();
                assert!(!lab.record("busy-net", att).exists(), "{msg}");
            }
        }
    }
    assert_eq!((winners.len(), got.len()), (7, 7), "{got:?}");
    assert_eq!(
        lab.journal_files("busy-net").len(),
        7 * 2,
        "a record and a lock each"
    );

    let start = Barrier::new(winners.len());
    std::thread::scope(|scope| {
        for (att, result) in &winners {
            let (net, start) = (&net, &start);
            scope.spawn(move || {
                start.wait();
                net.deleted(att, Some(result));
            });
        }
    });
    for (state, (att, _)) in before.iter().zip(&winners) {
        lab.assert_nothing_left(state, "busy-net", att, None);
    }
    for pod in &pods {
        pod.assert_empty();
    }
    assert_eq!(lab.journal_files("busy-net"), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_sriov_results_are_valid_in_every_spec_version() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 5);
    let before = lab.guard(&vf);
    for version in ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] {
        let network = format!("v{}", version.replace('.', ""));
        let mut fields = json!({
            "deviceID": vf.addr.to_string(),
            "mac": POD_MAC,
            "dns": {"nameservers": ["192.0.2.53"], "search": ["lab.example"]},
        });
        // Debian's host-local speaks up to 1.0.0.
        if version != "1.1.0" {
            fields["ipam"] = lab.host_local(json!([
                [{"subnet": "192.0.2.0/24", "gateway": "192.0.2.1"}],
                [{"subnet": "2001:db8:3::/64"}]
            ]));
            fields["ipam"]["routes"] = json!([{"dst": "0.0.0.0/0"}]);
        }
        let net = Network::single(lab.sriov(version, &network, fields));
        let pod = Pod::new("ver");
        let att = Attachment::new(&pod, "net1");
        let result = net.added(&att);
        let parsed = check_result_shape(&result, version);
        let (index, iface) = interface(&result, "net1");
        assert_eq!(iface["sandbox"], json!(pod.path()), "{version}");
        assert_eq!(iface["mac"], POD_MAC, "{version}");
        let link = pod.ns().netlink().unwrap().link("net1").unwrap();
        if version == "1.1.0" {
            assert_eq!(iface["mtu"], json!(link.mtu));
            assert_eq!(iface["pciID"], json!(vf.addr.to_string()));
            assert_eq!(parsed.dns.nameservers, vec!["192.0.2.53".to_owned()]);
        } else {
            assert_eq!(parsed.ips.len(), 2, "{result}");
            for ip in &result["ips"].as_array().unwrap()[..] {
                assert_eq!(ip["interface"], json!(index), "{version}");
            }
            assert_eq!(result["routes"], json!([{"dst": "0.0.0.0/0"}]), "{version}");
            assert!(pod
                .ip(&["route", "show", "default"])
                .contains("via 192.0.2.1 dev net1"));
            assert_eq!(result["dns"]["nameservers"], json!(["192.0.2.53"]));
        }
        if version.starts_with("0.3.") {
            // CHECK came with 0.4.0.
            let (code, msg) = net.check(&att, &result).unwrap_err().error();
            assert_eq!(code, 1, "{msg}");
        } else {
            net.checked(&att, &result);
        }
        net.deleted(&att, Some(&result));
        lab.assert_nothing_left(&before, &network, &att, Some(&pod));
        assert_eq!(lab.leases(&network), Vec::<String>::new(), "{version}");
    }
}

#[test]
#[ignore = "lab"]
fn lab_sriov_then_tuning_in_one_conflist_adds_checks_and_deletes() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 1);
    let before = lab.guard(&vf);
    let pod = Pod::new("tu");
    let att = Attachment::new(&pod, "net1");
    let sriov = json!({
        "type": "sriov",
        "deviceID": vf.addr.to_string(),
        "vlan": 100,
        "dataDir": lab.data_dir(),
        "ipam": lab.host_local(json!([[{"subnet": "198.51.100.0/24"}]])),
    });
    let tuning_mac = "02:00:5e:10:03:01";
    let tuning = json!({
        "type": "tuning",
        "mac": tuning_mac,
        "mtu": 1400,
        "sysctl": {"net.ipv4.conf.net1.arp_notify": "1"},
    });
    let net = Network::list("tuned-net", "1.0.0", vec![sriov, tuning]);

    let result = net.added(&att);
    check_result_shape(&result, "1.0.0");
    let (index, iface) = interface(&result, "net1");
    assert_eq!(iface["mac"], tuning_mac, "tuning's MAC in the final result");
    assert_eq!(result["ips"][0]["interface"], json!(index));
    let link = pod.ns().netlink().unwrap().link("net1").unwrap();
    assert_eq!((link.mac, link.mtu), (Some(mac(tuning_mac)), 1400));
    let arp_notify = common::ip(&[
        "netns",
        "exec",
        &pod.name,
        "cat",
        "/proc/sys/net/ipv4/conf/net1/arp_notify",
    ]);
    assert_eq!(arp_notify.trim(), "1");
    net.checked(&att, &result);

    net.deleted(&att, Some(&result));
    net.deleted(&att, Some(&result));
    lab.assert_nothing_left(&before, "tuned-net", &att, Some(&pod));
    assert_eq!(lab.leases("tuned-net"), Vec::<String>::new());
}
