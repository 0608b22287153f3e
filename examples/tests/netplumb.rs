//! The `netplumb` tool run as a program on fake sysfs trees, with a
//! journal and claims in temporary directories.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use netplumb_plugin::journal::{Journal, Key, Record};
use netplumb_vf::testing::{FakeNic, FakeSysfs, FakeVf, FakeVfNetdev};
use serde_json::{json, Value};

const PF: &str = "0000:3b:00.0";

/// A fake node: a PF with three VFs (one with its netdev in a pod, one
/// DPDK), a plain NIC, and a journal and claims directory.
struct Node {
    fake: FakeSysfs,
    data: PathBuf,
    claims: PathBuf,
}

impl Node {
    fn new() -> Node {
        let fake = FakeSysfs::new().unwrap();
        let mut pf = FakeNic::pf(PF.parse().unwrap(), "ens1f0", 7, 3);
        let vfs = &mut pf.sriov.as_mut().unwrap().vfs;
        vfs[1].netdev = FakeVfNetdev::Moved;
        vfs[2] = FakeVf {
            driver: Some("vfio-pci".to_owned()),
            netdev: FakeVfNetdev::None,
        };
        fake.add(&pf).unwrap();
        fake.add(&FakeNic::plain("0000:00:19.0".parse().unwrap(), "eno1"))
            .unwrap();
        let data = fake.path("data");
        let claims = fake.path("claims");
        Node { fake, data, claims }
    }

    /// VF `index`'s address (the fake PF's VFs are two functions apart).
    fn vf(&self, index: u32) -> String {
        let pf = FakeNic::pf(PF.parse().unwrap(), "ens1f0", 7, 3);
        pf.vf_addr(index).unwrap().to_string()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_netplumb"))
            .args(args)
            .arg("--sysfs")
            .arg(self.fake.root())
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--claims")
            .arg(&self.claims)
            .output()
            .unwrap()
    }

    /// An sriov attachment holding VF `index`, in the namespace at
    /// `netns` (this process's own when it is there: a live pod).
    fn attach(&self, network: &str, container: &str, ifname: &str, index: u32, netns: &Path) {
        let (dev, ino) = match fs::metadata(netns) {
            Ok(meta) => (meta.dev(), meta.ino()),
            Err(_) => (1, 1),
        };
        let holder = json!({
            "ns": {"path": netns, "dev": dev, "ino": ino},
            "owner": format!("{network}/{container}/{ifname}"),
        });
        let record: Record = serde_json::from_value(json!({
            "format": 1, "plugin": "sriov", "network": network,
            "containerId": container, "ifname": ifname, "netns": netns,
            "steps": [{"step": "claim", "claim": {"vf": self.vf(index), "holder": holder}}],
            "result": {"cniVersion": "1.1.0", "ips": [{"address": "192.0.2.10/24"}]},
        }))
        .unwrap();
        let journal = Journal::open(&self.data).unwrap();
        let key = Key::new(
            network,
            &container.parse().unwrap(),
            ifname.parse().unwrap(),
        )
        .unwrap();
        journal.save(&key, &record).unwrap();
        let vfs = self.claims.join("vfs");
        fs::create_dir_all(&vfs).unwrap();
        fs::write(
            vfs.join(format!("{}.json", self.vf(index))),
            holder.to_string(),
        )
        .unwrap();
    }

    fn numvfs(&self) -> String {
        fs::read_to_string(
            self.fake
                .device_dir(PF.parse().unwrap())
                .join("sriov_numvfs"),
        )
        .unwrap()
        .trim()
        .to_owned()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn live() -> PathBuf {
    PathBuf::from("/proc/self/ns/net")
}

#[test]
fn list_is_an_aligned_table_naming_who_holds_each_vf() {
    let node = Node::new();
    node.attach("sriov-net1", "c0ffee", "net1", 1, &live());
    node.attach("sriov-net1", "deadpod", "net1", 0, &node.fake.path("gone"));
    let out = node.run(&["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("PF  "), "{stdout}");
    for column in [
        "PCI",
        "DRIVER",
        "VF",
        "NETDEV",
        "MAC",
        "VLAN",
        "SPOOFCHK",
        "TRUST",
        "LINK",
        "RATE",
        "NETWORK",
        "CONTAINER",
        "IFNAME",
    ] {
        assert!(lines[0].contains(column), "{column}: {stdout}");
    }
    // Every row's network column starts where the header's does.
    let at = lines[0].find("NETWORK").unwrap();
    let row = |pci: &str| *lines.iter().find(|l| l.contains(pci)).unwrap();
    assert!(
        row(&node.vf(1))[at..].starts_with("sriov-net1  c0ffee"),
        "{stdout}"
    );
    // VF 0's pod is gone: its claim holds nothing any more.
    assert!(row(&node.vf(0))[at..].starts_with("-"), "{stdout}");
    assert!(row(&node.vf(1)).contains("(in a pod)"));
    assert!(row(&node.vf(2)).contains("(userspace)"));
    assert!(row(&node.vf(0)).contains("ens1f0v0"));
    assert!(row(PF).contains("3/7"), "{stdout}");
    assert!(row("0000:00:19.0").contains("eno1"));
    assert_eq!(lines.len(), 6, "{stdout}");
}

#[test]
fn list_json_has_the_operators_field_names_and_the_attachment() {
    let node = Node::new();
    node.attach("sriov-net1", "c0ffee", "net1", 1, &live());
    let out = node.run(&["list", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pf = json["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["pciAddress"] == PF)
        .unwrap();
    assert_eq!(
        (
            pf["name"].as_str(),
            pf["totalvfs"].as_u64(),
            pf["numVfs"].as_u64()
        ),
        (Some("ens1f0"), Some(7), Some(3))
    );
    let vfs = pf["Vfs"].as_array().unwrap();
    assert_eq!(vfs[1]["vfID"], 1);
    assert_eq!(vfs[1]["pciAddress"], node.vf(1).as_str());
    assert_eq!(
        vfs[1]["attachment"],
        json!({"network": "sriov-net1", "containerID": "c0ffee", "ifname": "net1"})
    );
    assert!(vfs[0].get("attachment").is_none());
    let pretty = node.run(&["list", "--json", "--pretty"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&pretty.stdout).unwrap(),
        json
    );
}

#[test]
fn show_lists_attachments_and_tells_one_containers_story() {
    let node = Node::new();
    node.attach("sriov-net1", "c0ffee", "net1", 1, &live());
    node.attach("sriov-net2", "c0ffee", "net2", 0, &live());
    node.attach("sriov-net1", "deadpod", "net1", 0, &node.fake.path("gone"));
    let out = node.run(&["show"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.starts_with("NETWORK "), "{stdout}");
    assert_eq!(stdout.lines().count(), 4, "{stdout}");
    assert!(stdout.contains("(gone)"), "{stdout}");

    for id in ["c0ffee", "c0f"] {
        let out = node.run(&["show", id]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let story = text(&out.stdout);
        assert!(
            story.contains("net1 in network sriov-net1 (plugin sriov), container c0ffee"),
            "{story}"
        );
        assert!(story.contains("net2 in network sriov-net2"), "{story}");
        assert!(
            story.contains(&format!("1. claimed VF {}", node.vf(1))),
            "{story}"
        );
        assert!(story.contains("addresses: 192.0.2.10/24"), "{story}");
        assert!(!story.contains("deadpod"), "{story}");
    }
    let out = node.run(&["show", "nosuch"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no attachment of container \"nosuch\""));
}

#[test]
fn gc_dry_run_names_the_attachments_whose_pod_is_gone_and_changes_nothing() {
    let node = Node::new();
    node.attach("sriov-net1", "c0ffee", "net1", 1, &live());
    node.attach("sriov-net1", "deadpod", "net1", 0, &node.fake.path("gone"));
    let before = fs::read_dir(node.data.join("attachments/sriov-net1"))
        .unwrap()
        .count();
    let out = node.run(&["gc", "--dry-run"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("container deadpod net1"), "{stdout}");
    assert!(
        stdout.contains(&format!("VF {} back to the host", node.vf(0))),
        "{stdout}"
    );
    assert!(!stdout.contains("c0ffee"), "{stdout}");
    assert_eq!(
        fs::read_dir(node.data.join("attachments/sriov-net1"))
            .unwrap()
            .count(),
        before
    );
    let refused = node.run(&["gc"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(text(&refused.stderr).contains("gc needs --dry-run"));
}

#[test]
fn enable_sets_the_count() {
    // A PF with no VFs yet.
    let fake = FakeSysfs::new().unwrap();
    fake.add(&FakeNic::pf(PF.parse().unwrap(), "ens1f0", 7, 0))
        .unwrap();
    let node = Node {
        data: fake.path("data"),
        claims: fake.path("claims"),
        fake,
    };
    let out = node.run(&["enable", "ens1f0", "4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ens1f0: 4 VFs (were 0)\n");
    assert_eq!(node.numvfs(), "4");
}

#[test]
fn enable_refuses_to_change_a_pf_whose_vfs_are_held_with_status_3() {
    let node = Node::new();
    node.attach("sriov-net1", "c0ffee", "net1", 0, &live());
    for count in ["1", "7", "0"] {
        let out = node.run(&["enable", "ens1f0", count]);
        assert_eq!(out.status.code(), Some(3), "{count}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        let held = format!(
            "{}: held by network sriov-net1 container c0ffee as net1",
            node.vf(0)
        );
        assert!(stderr.contains(&held), "{stderr}");
        let moved = format!("{}: its netdev is in another network namespace", node.vf(1));
        assert!(stderr.contains(&moved), "{stderr}");
        assert!(stderr.contains("Nothing was changed."), "{stderr}");
        assert_eq!(node.numvfs(), "3");
    }
    // The same count is no change: nothing is destroyed, so it is done.
    let out = node.run(&["enable", "ens1f0", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ens1f0: 3 VFs already\n");
}

#[test]
fn enable_errors_say_what_to_do() {
    let node = Node::new();
    let out = node.run(&["enable", "eno1", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("`netplumb list` shows the PFs"),
        "{}",
        text(&out.stderr)
    );
    let out = node.run(&["enable", "nosuch0", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("nosuch0"),
        "{}",
        text(&out.stderr)
    );
    let out = node.run(&["enable", "ens1f0", "9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("ens1f0 supports at most 7 VFs (sriov_totalvfs), not 9"));
    assert_eq!(node.numvfs(), "3");
    // A copied tree has no kernel to take settings: refused, nothing changed.
    let out = node.run(&["enable", "ens1f0", "4", "--spoofchk", "off"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--sysfs reads a copied tree"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(node.numvfs(), "3");
}

#[test]
fn every_command_has_help_and_bad_usage_is_status_2() {
    let node = Node::new();
    for (args, starts) in [
        (&["--help"][..], "usage: netplumb [OPTIONS]"),
        (&["list", "--help"][..], "usage: netplumb list"),
        (&["enable", "-h"][..], "usage: netplumb enable"),
        (&["show", "--help"][..], "usage: netplumb show"),
        (&["gc", "--help"][..], "usage: netplumb gc"),
    ] {
        let out = node.run(args);
        assert!(out.status.success(), "{args:?}");
        assert!(
            text(&out.stdout).starts_with(starts),
            "{args:?}: {}",
            text(&out.stdout)
        );
    }
    let out = node.run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("unknown command \"frobnicate\""));
}

#[test]
fn an_empty_node_says_so() {
    let fake = FakeSysfs::new().unwrap();
    fs::create_dir_all(fake.path("bus/pci/devices")).unwrap();
    let node = Node {
        data: fake.path("data"),
        claims: fake.path("claims"),
        fake,
    };
    let out = node.run(&["list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "no network PCI device found\n");
    let out = node.run(&["show"]);
    assert!(text(&out.stdout).starts_with("no attachments in the journal under"));
    // Reading created nothing.
    assert!(!node.data.exists() && !node.claims.exists());
}
