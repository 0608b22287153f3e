//! The plugins killed with SIGKILL at every crash point of ADD and of DEL
//! (`NETPLUMB_CRASH_AT`, in debug builds only), against the lab's kernel:
//! after each kill, the runtime's next DEL, or its retried ADD and then a
//! DEL, puts every VF back exactly and leaves nothing behind. Run them with
//! `cargo xtask lab lab_crash`.

mod common;

use common::{exec_with, interface, lab_vf, Attachment, Lab, Network, Outcome, Pod};
use netplumb_plugin::crash::CRASH_AT;
use serde_json::{json, Value};

/// No plugin here has this many crash points: reaching it means the count
/// is not what the loop thinks.
const MOST_POINTS: u32 = 64;

/// Runs `command` of `plugin` on `conf` with the crash point `at` armed.
fn crashing(plugin: &str, command: &str, att: &Attachment, conf: &Value, at: u32) -> Outcome {
    exec_with(
        plugin,
        command,
        att,
        conf,
        &[(CRASH_AT, at.to_string().as_str())],
    )
}

/// Whether the invocation died at crash point `at` (rather than finishing,
/// as one with fewer points does). Anything else fails the test.
fn died_at(outcome: &Outcome, at: u32) -> bool {
    match outcome.exit {
        None => {
            assert!(
                outcome.stderr.contains(&format!("crash point {at}: ")),
                "{outcome}"
            );
            true
        }
        Some(0) => false,
        Some(_) => panic!("failed instead of dying at crash point {at}: {outcome}"),
    }
}

/// An `sriov` configuration that takes every step there is: a claim by
/// device, PF-side settings, the move, host-local addresses and a
/// device-info file.
fn every_step(lab: &Lab, network: &str, vf: &netplumb_vf::Vf) -> Value {
    let info = lab.dir.join("devinfo").join(format!("{network}.json"));
    lab.sriov(
        "1.0.0",
        network,
        json!({
            "deviceID": vf.addr.to_string(),
            "vlan": 300, "spoofchk": "off", "trust": "on", "mac": "02:00:5e:10:00:41",
            "ipam": lab.host_local(json!([[{"subnet": "198.51.100.0/24"}]])),
            "runtimeConfig": {"CNIDeviceInfoFile": info},
        }),
    )
}

#[test]
#[ignore = "lab"]
fn lab_crash_sriov_add_killed_at_every_point_is_undone_by_del_or_a_retry() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 6);
    let before = lab.guard(&vf);
    let mut points = 0;
    for at in 1..=MOST_POINTS {
        for retry in [false, true] {
            let what = format!(
                "ADD killed at crash point {at}, then {}",
                match retry {
                    false => "DEL",
                    true => "ADD again and DEL",
                }
            );
            let pod = Pod::new("ck");
            let att = Attachment::new(&pod, "net1");
            let net = Network::single(every_step(&lab, "crash-add", &vf));
            let conf = net.conf(0, None);
            let killed = crashing("sriov", "ADD", &att, &conf, at);
            if !died_at(&killed, at) {
                // Past the last point: this ADD finished.
                net.deleted(&att, None);
                lab.assert_nothing_left(&before, "crash-add", &att, Some(&pod));
                points = at - 1;
                break;
            }
            if retry {
                match net.add(&att) {
                    Ok(result) => {
                        let (_, iface) = interface(&result, "net1");
                        assert_eq!(iface["mac"], "02:00:5e:10:00:41", "{what}");
                        net.checked(&att, &result);
                        net.deleted(&att, Some(&result));
                    }
                    // Killed after its result was written down, the ADD
                    // had finished: a second ADD without a DEL between is
                    // the runtime's mistake, and said so.
                    Err(again) => {
                        assert!(
                            killed
                                .stderr
                                .contains(&format!("crash point {at}: result noted")),
                            "{what}: {again}"
                        );
                        assert_eq!(again.error().0, 7, "{what}: {again}");
                        assert!(again.error().1.contains("is already attached"), "{what}");
                        net.deleted(&att, None);
                    }
                }
            } else {
                net.deleted(&att, None);
            }
            lab.assert_nothing_left(&before, "crash-add", &att, Some(&pod));
            assert_eq!(lab.leases("crash-add"), Vec::<String>::new(), "{what}");
            assert!(
                !lab.dir.join("devinfo/crash-add.json").exists(),
                "{what}: the device-info file is left"
            );
        }
        if points > 0 {
            break;
        }
    }
    eprintln!("sriov ADD: killed at each of its {points} crash points");
    assert!(points >= 10, "only {points} crash points in an ADD");
}

#[test]
#[ignore = "lab"]
fn lab_crash_sriov_del_killed_at_every_point_is_finished_by_the_next_del() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 1, 6);
    let before = lab.guard(&vf);
    let mut points = 0;
    for at in 1..=MOST_POINTS {
        let pod = Pod::new("cd");
        let att = Attachment::new(&pod, "net1");
        let net = Network::single(every_step(&lab, "crash-del", &vf));
        let result = net.added(&att);
        let conf = net.conf(0, Some(&result));
        let killed = crashing("sriov", "DEL", &att, &conf, at);
        if died_at(&killed, at) {
            net.deleted(&att, Some(&result));
        } else {
            points = at - 1;
        }
        lab.assert_nothing_left(&before, "crash-del", &att, Some(&pod));
        assert_eq!(
            lab.leases("crash-del"),
            Vec::<String>::new(),
            "DEL killed at crash point {at}"
        );
        if points > 0 {
            break;
        }
    }
    eprintln!("sriov DEL: killed at each of its {points} crash points");
    assert!(points >= 5, "only {points} crash points in a DEL");
}

/// What a bond port is in the pod: name, MAC, MTU, up, controller.
fn port_state(pod: &Pod, name: &str) -> String {
    let link = pod.ns().netlink().unwrap().link(name).unwrap();
    format!(
        "{} {:?} mtu {} up {} controller {:?}",
        link.name,
        link.mac,
        link.mtu,
        link.is_up(),
        link.controller
    )
}

#[test]
#[ignore = "lab"]
fn lab_crash_bond_add_and_del_killed_at_every_point_leave_the_ports_as_they_were() {
    let mut lab = Lab::new();
    let (a, b) = (lab_vf(&lab.host, 0, 5), lab_vf(&lab.host, 1, 5));
    let before = [lab.guard(&a), lab.guard(&b)];
    let pod = Pod::new("cb");
    let ports = [("net1", &a), ("net2", &b)];
    let mut port_nets = Vec::new();
    for (ifname, vf) in ports {
        let att = Attachment::new(&pod, ifname);
        let net = Network::single(lab.sriov(
            "1.0.0",
            &format!("crash-{ifname}"),
            json!({"deviceID": vf.addr.to_string(), "trust": "on", "spoofchk": "off"}),
        ));
        let result = net.added(&att);
        port_nets.push((net, att, result));
    }
    let ports_before: Vec<String> = ["net1", "net2"].map(|p| port_state(&pod, p)).into();
    let bond = Network::single(json!({
        "type": "bond", "cniVersion": "0.3.1", "name": "crash-bond",
        "mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
        "miimon": "100", "mtu": 1500,
        "links": [{"name": "net1"}, {"name": "net2"}],
        "dataDir": lab.data_dir(),
        "ipam": lab.host_local(json!([[{"subnet": "198.51.100.0/24"}]])),
    }));
    let back_as_before = |what: &str| {
        assert_eq!(
            ["net1", "net2"].map(|p| port_state(&pod, p)).to_vec(),
            ports_before,
            "{what}"
        );
        assert!(!pod.links().contains(&"bond0".to_string()), "{what}");
        assert_eq!(lab.leases("crash-bond"), Vec::<String>::new(), "{what}");
        assert_eq!(
            lab.journal_files("crash-bond"),
            Vec::<String>::new(),
            "{what}"
        );
    };

    let mut add_points = 0;
    for at in 1..=MOST_POINTS {
        for retry in [false, true] {
            let what = format!("bond ADD killed at crash point {at}, retried: {retry}");
            let att = Attachment::new(&pod, "bond0");
            let killed = crashing("bond", "ADD", &att, &bond.conf(0, None), at);
            if !died_at(&killed, at) {
                bond.deleted(&att, None);
                back_as_before(&what);
                add_points = at - 1;
                break;
            }
            if retry {
                match bond.add(&att) {
                    Ok(result) => bond.deleted(&att, Some(&result)),
                    Err(again) => {
                        assert!(
                            killed
                                .stderr
                                .contains(&format!("crash point {at}: result noted")),
                            "{what}: {again}"
                        );
                        bond.deleted(&att, None);
                    }
                }
            } else {
                bond.deleted(&att, None);
            }
            back_as_before(&what);
        }
        if add_points > 0 {
            break;
        }
    }

    let mut del_points = 0;
    for at in 1..=MOST_POINTS {
        let what = format!("bond DEL killed at crash point {at}");
        let att = Attachment::new(&pod, "bond0");
        let result = bond.added(&att);
        let killed = crashing("bond", "DEL", &att, &bond.conf(0, Some(&result)), at);
        if died_at(&killed, at) {
            bond.deleted(&att, Some(&result));
        } else {
            del_points = at - 1;
        }
        back_as_before(&what);
        if del_points > 0 {
            break;
        }
    }
    eprintln!("bond: killed at each of its {add_points} ADD and {del_points} DEL crash points");
    assert!(
        add_points >= 5 && del_points >= 2,
        "{add_points} {del_points}"
    );

    for (net, att, result) in port_nets.iter().rev() {
        net.deleted(att, Some(result));
    }
    for state in &before {
        common::assert_as_before(&lab.host, state);
    }
}

/// Cuts the record at `path` in half, as a disk that lost its tail would.
fn tear(path: &std::path::Path) {
    let text = std::fs::read(path).unwrap();
    std::fs::write(path, &text[..text.len() / 2]).unwrap();
}

#[test]
#[ignore = "lab"]
fn lab_crash_a_torn_record_is_a_clear_error_and_del_cleans_what_it_can() {
    let mut lab = Lab::new();
    let vf = lab_vf(&lab.host, 0, 4);
    let before = lab.guard(&vf);
    let mut pod = Pod::new("ct");
    let att = Attachment::new(&pod, "net1");
    let net = Network::single(every_step(&lab, "torn", &vf));
    let result = net.added(&att);
    let record = lab.record("torn", &att);
    tear(&record);

    let out = common::exec("sriov", "DEL", &att, &net.conf(0, Some(&result)));
    let (code, msg) = out.error();
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains(&record.display().to_string()), "{msg}");
    // IPAM is released; the record is kept for whoever looks into it.
    assert_eq!(lab.leases("torn"), Vec::<String>::new());
    assert!(record.exists());

    // Once the pod is gone, its VF is free again, as the pod left it.
    pod.delete();
    common::wait_in_host(&lab.host, vf.addr);
    let next = Pod::new("cu");
    let next_att = Attachment::new(&next, "net1");
    let result = net.added(&next_att);
    net.deleted(&next_att, Some(&result));
    assert_eq!(common::claim_owner(vf.addr), None);
    drop(before);
}

#[test]
#[ignore = "lab"]
fn lab_crash_a_torn_bond_record_still_lets_del_take_the_bond_apart() {
    let mut lab = Lab::new();
    let (a, b) = (lab_vf(&lab.host, 0, 3), lab_vf(&lab.host, 1, 3));
    let _before = [lab.guard(&a), lab.guard(&b)];
    let pod = Pod::new("cw");
    let mut ports = Vec::new();
    for (ifname, vf) in [("net1", &a), ("net2", &b)] {
        let att = Attachment::new(&pod, ifname);
        let net = Network::single(lab.sriov(
            "1.0.0",
            &format!("torn-{ifname}"),
            json!({"deviceID": vf.addr.to_string(), "trust": "on", "spoofchk": "off"}),
        ));
        let result = net.added(&att);
        ports.push((net, att, result));
    }
    let ports_before: Vec<String> = ["net1", "net2"].map(|p| port_state(&pod, p)).into();
    let bond = Network::single(json!({
        "type": "bond", "cniVersion": "1.0.0", "name": "torn-bond",
        "mode": "active-backup", "miimon": "100", "failOverMac": 1,
        "linksInContainer": true,
        "links": [{"name": "net1"}, {"name": "net2"}],
        "dataDir": lab.data_dir(),
    }));
    let att = Attachment::new(&pod, "bond0");
    let result = bond.added(&att);
    tear(&lab.record("torn-bond", &att));

    let out = common::exec("bond", "DEL", &att, &bond.conf(0, Some(&result)));
    let (code, msg) = out.error();
    assert_eq!(code, 5, "{msg}");
    assert!(msg.contains("torn-bond"), "{msg}");
    assert!(!pod.links().contains(&"bond0".to_string()), "{out}");
    assert_eq!(
        ["net1", "net2"].map(|p| port_state(&pod, p)).to_vec(),
        ports_before
    );
    for (net, att, result) in ports.iter().rev() {
        net.deleted(att, Some(result));
    }
}
