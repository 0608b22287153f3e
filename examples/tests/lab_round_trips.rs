//! What one ADD and one DEL of each plugin ask of the kernel, pinned: the
//! netlink round trips and sysfs reads the plugin process counts itself
//! and logs at debug level (`netplumb_plugin::Cost`), for the
//! configurations `cargo xtask bench` times. A change that adds a request
//! fails here, so that it shows in review with its reason; then the
//! numbers here and in BENCHMARKS.md change with it. Run them with
//! `cargo xtask lab lab_round_trips`; `cargo test` skips them.

mod common;

use std::path::Path;

use common::{assert_as_before, exec, ip, lab_vf, snapshot, Attachment, Lab, Pod};
use netplumb_netns::testing::kernel_at_least;
use netplumb_plugin::Cost;
use serde_json::{json, Value};

/// The VF of each PF these tests take.
const VF: u32 = 6;

/// The cost `command` logged in `log`.
fn logged(log: &Path, command: &str) -> Cost {
    let text = std::fs::read_to_string(log).unwrap();
    Cost::from_log(&text, command)
        .unwrap_or_else(|| panic!("no {command} cost in {}:\n{text}", log.display()))
}

/// Runs ADD and DEL of `plugin` with `conf`, logging at debug level, and
/// returns what each cost.
fn add_and_del(lab: &Lab, plugin: &str, att: &Attachment, mut conf: Value) -> [Cost; 2] {
    let log = lab.dir.join(format!("{plugin}.log"));
    conf["logLevel"] = json!("debug");
    conf["logFile"] = json!(log);
    exec(plugin, "ADD", att, &conf).ok();
    exec(plugin, "DEL", att, &conf).ok();
    [logged(&log, "ADD"), logged(&log, "DEL")]
}

/// The running kernel's series, as the pins below tell them apart: 6.12
/// is what `cargo xtask bench` measures; the others cost what the
/// README's kernel requirements say.
fn series() -> &'static str {
    if kernel_at_least(6, 12) {
        "6.12"
    } else if kernel_at_least(6, 1) {
        "6.1"
    } else {
        "5.10"
    }
}

fn cost(netlink_round_trips: u64, sysfs_reads: u64) -> Cost {
    Cost {
        netlink_round_trips,
        sysfs_reads,
    }
}

#[test]
#[ignore = "lab"]
fn lab_round_trips_of_an_sriov_add_and_del_are_pinned() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, VF);
    let before = lab.guard(&vf);
    let pod = Pod::new("rt-sriov");
    let att = Attachment::new(&pod, "net1");
    // The benchmark's configuration: deviceID, VLAN, MAC, spoof check
    // and trust, no IPAM.
    let conf = lab.sriov(
        "1.0.0",
        "rt-sriov",
        json!({
            "deviceID": vf.addr.to_string(), "vlan": 100, "mac": "02:00:5e:10:00:31",
            "spoofchk": "off", "trust": "on",
        }),
    );
    let costs = add_and_del(&lab, "sriov", &att, conf);
    assert_as_before(&lab.host, &before);
    // DEL on 6.12 takes one more look at the VF (3 requests, 17 sysfs
    // reads) than on 6.1; 5.10 asks the driver which device the VF's netdev
    // in the pod sits on and reads the link again (one request more).
    let del = match series() {
        "6.12" => cost(15, 51),
        "6.1" => cost(12, 34),
        _ => cost(13, 34),
    };
    assert_eq!(
        costs,
        [cost(8, 17), del],
        "sriov ADD and DEL on {}: {} and {}",
        series(),
        costs[0],
        costs[1]
    );
}

#[test]
#[ignore = "lab"]
fn lab_round_trips_of_a_bond_add_and_del_are_pinned() {
    let mut lab = Lab::new();
    let pod = Pod::new("rt-bond");
    // The ports in the pod already, as the benchmark has them: moved in
    // by hand, and back the same way.
    let mut ports = Vec::new();
    for (pf, port) in [(0, "net1"), (1, "net2")] {
        let vf = lab_vf(&lab.host, pf, VF);
        lab.guard(&vf);
        let host_name = snapshot(&lab.host, vf.addr)
            .netdev
            .unwrap()
            .name
            .to_string();
        ip(&["link", "set", &host_name, "netns", &pod.name, "name", port]);
        ports.push((host_name, port));
    }
    let att = Attachment::new(&pod, "bond0");
    // Seed 004's options without its IPAM.
    let conf = json!({
        "cniVersion": "0.3.1", "name": "rt-bond", "type": "bond",
        "mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
        "miimon": "100", "mtu": 1500,
        "links": [{"name": "net1"}, {"name": "net2"}], "dataDir": lab.data_dir(),
    });
    let costs = add_and_del(&lab, "bond", &att, conf);
    for (host_name, port) in &ports {
        pod.ip(&["link", "set", port, "netns", "1", "name", host_name]);
    }
    // Before 6.3 the new bond's index is looked up (one request); before
    // 5.16 each port's device is asked of its driver and the link read again,
    // once to tell VFs apart and once to record them (four), and DEL does the
    // same for each link in the pod: lo, net1, net2 (three).
    let expected = match series() {
        "6.12" => [cost(7, 28), cost(3, 0)],
        "6.1" => [cost(8, 28), cost(3, 0)],
        _ => [cost(12, 28), cost(6, 0)],
    };
    assert_eq!(
        costs,
        expected,
        "bond ADD and DEL on {}: {} and {}",
        series(),
        costs[0],
        costs[1]
    );
}
