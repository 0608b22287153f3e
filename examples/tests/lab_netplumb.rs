//! The `netplumb` tool on the lab's real igb PFs: `list` reads the PFs'
//! VF tables and names the attachment the `sriov` plugin made, `show` and
//! `gc --dry-run` read the plugin's journal, and `enable` refuses to change
//! a PF whose VF a pod holds and changes nothing when run again. Run them
//! with `cargo xtask lab lab_netplumb`; `cargo test` skips them.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{lab_pfs, lab_var, lab_vf, Attachment, Lab, Network, Pod};
use netplumb_vf::VfNetdev;
use serde_json::{json, Value};

fn netplumb(lab: &Lab, args: &[&str]) -> Output {
    let bin = Path::new(&lab_var("NETPLUMB_LAB_PLUGINS")).join("netplumb");
    Command::new(bin)
        .args(args)
        .arg("--data-dir")
        .arg(lab.data_dir())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn numvfs(pf: &str) -> String {
    std::fs::read_to_string(format!("/sys/class/net/{pf}/device/sriov_numvfs"))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
#[ignore = "lab"]
fn lab_netplumb_list_show_gc_and_enable_around_a_live_attachment() {
    let mut lab = Lab::new();
    let pf = lab_pfs()[0].to_string();
    // `enable --spoofchk on` below may touch every VF of the PF.
    for index in 0..7 {
        let vf = lab_vf(&lab.host, 0, index);
        lab.guard(&vf);
    }
    let vf = lab_vf(&lab.host, 0, 2);
    let vf_addr = vf.addr.to_string();

    // Before: every VF is free, and the VF table is read.
    let out = netplumb(&lab, &["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let header = table.lines().next().unwrap();
    let at = header.find("SPOOFCHK").unwrap();
    let row = |table: &str, pci: &str| {
        table
            .lines()
            .find(|l| l.contains(pci))
            .unwrap_or_else(|| panic!("{pci} not listed:\n{table}"))
            .to_owned()
    };
    let pf_row = row(
        &table,
        &lab.host.sysfs().pf(&lab_pfs()[0]).unwrap().addr.to_string(),
    );
    assert!(pf_row.contains("7/7"), "{table}");
    let vf_row = row(&table, &vf_addr);
    assert!(vf_row.starts_with(&pf), "{table}");
    assert!(vf_row.contains("igbvf"), "{table}");
    // igb reports spoof check (on by default) and trust.
    assert!(vf_row[at..].starts_with("on "), "{table}");
    assert!(
        vf_row[header.find("NETWORK").unwrap()..].starts_with("- "),
        "{table}"
    );

    // An attachment takes the VF.
    let mut pod = Pod::new("np");
    let att = Attachment::new(&pod, "net1");
    let network = "netplumb-tool";
    let net = Network::single(lab.sriov("1.1.0", network, json!({"deviceID": vf_addr})));
    let result = net.added(&att);

    let table = text(&netplumb(&lab, &["list"]).stdout);
    let vf_row = row(&table, &vf_addr);
    assert!(vf_row.contains("(in a pod)"), "{table}");
    assert!(
        vf_row.contains(&format!("{network}  {}  net1", att.container_id)),
        "{table}"
    );
    let out = netplumb(&lab, &["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let listed = json["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|i| i["Vfs"].as_array().cloned().unwrap_or_default())
        .find(|v| v["pciAddress"] == vf_addr.as_str())
        .unwrap();
    assert_eq!(listed["vfID"], 2);
    assert_eq!(listed["spoofChk"], true);
    assert_eq!(listed["linkState"], "auto");
    assert_eq!(
        listed["attachment"],
        json!({"network": network, "containerID": att.container_id, "ifname": "net1"})
    );

    let out = netplumb(&lab, &["show", &att.container_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let story = text(&out.stdout);
    assert!(story.contains(&format!("claimed VF {vf_addr}")), "{story}");
    assert!(story.contains("into the pod as net1"), "{story}");
    assert!(story.contains("state: added"), "{story}");
    let out = netplumb(&lab, &["gc", "--dry-run"]);
    assert!(
        text(&out.stdout).starts_with("nothing to collect"),
        "{}",
        text(&out.stdout)
    );

    // The PF's VF count cannot change under the pod; the same count is done.
    let out = netplumb(&lab, &["enable", &pf, "6"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("{vf_addr}: held by network {network}")));
    assert_eq!(numvfs(&pf), "7");
    let out = netplumb(&lab, &["enable", &pf, "7", "--spoofchk", "on"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "".to_owned()
            + &format!("{pf}: 7 VFs already\n")
            + "PF-side settings: 0 of 6 VFs changed\n"
            + "left alone, in use: 1 VFs\n"
    );

    // The pod goes without a DEL: GC would take its attachment.
    pod.delete();
    let out = netplumb(&lab, &["gc", "--dry-run"]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(&att.container_id), "{stdout}");
    assert!(
        stdout.contains(&format!("VF {vf_addr} back to the host")),
        "{stdout}"
    );
    net.deleted(&att, Some(&result));
    let out = netplumb(&lab, &["show"]);
    assert!(
        text(&out.stdout).starts_with("no attachments"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
#[ignore = "lab"]
fn lab_netplumb_enable_changes_the_count_and_sets_every_new_vf_once() {
    let mut lab = Lab::new();
    let pf = lab_pfs()[1];
    // The guard puts the PF back at 7 VFs, each as it was.
    for index in 0..7 {
        let vf = lab_vf(&lab.host, 1, index);
        lab.guard(&vf);
    }
    lab.num_vfs.push((pf, 7));
    let pf = pf.to_string();
    let args = [
        "enable",
        &pf,
        "3",
        "--spoofchk",
        "off",
        "--trust",
        "on",
        "--mtu",
        "1400",
        "--wait",
        "30",
    ];

    let out = netplumb(&lab, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(
        report.contains(&format!("{pf}: 3 VFs (were 7)")),
        "{report}"
    );
    assert_eq!(numvfs(&pf), "3");
    let nic = lab.host.sysfs().pf(&pf.parse().unwrap()).unwrap();
    assert_eq!(nic.vfs.len(), 3);
    for vf in &nic.vfs {
        let config = lab.host.vf_config(&vf.id()).unwrap();
        assert_eq!(
            (config.spoofchk, config.trust),
            (Some(false), Some(true)),
            "{}",
            vf.id()
        );
        let VfNetdev::Host(netdev) = &vf.netdev else {
            panic!("{}: no netdev on the host: {:?}", vf.id(), vf.netdev);
        };
        assert_eq!(lab.host.netlink().link(netdev.name).unwrap().mtu, 1400);
    }

    // Run again: already so, nothing changes.
    let again = netplumb(&lab, &args);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let report = text(&again.stdout);
    assert!(report.contains(&format!("{pf}: 3 VFs already")), "{report}");
    assert!(
        report.contains("PF-side settings: 0 of 3 VFs changed"),
        "{report}"
    );
    assert!(
        report.contains("MTU 1400: 0 VF netdevs changed"),
        "{report}"
    );
}
