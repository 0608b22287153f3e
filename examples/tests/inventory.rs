//! `netplumb-inventory` run as a program on fake sysfs trees.

use std::fs;
use std::process::{Command, Output};

use netplumb_vf::testing::{FakeNic, FakeSysfs, FakeVf, FakeVfNetdev};
use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netplumb-inventory"))
        .args(args)
        .output()
        .unwrap()
}

/// One PF with a netdev VF and a DPDK VF, and a plain NIC.
fn tree() -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf("0000:3b:00.0".parse().unwrap(), "ens1f0", 7, 2);
    pf.sriov.as_mut().unwrap().vfs[1] = FakeVf {
        driver: Some("vfio-pci".to_owned()),
        netdev: FakeVfNetdev::None,
    };
    fake.add(&pf).unwrap();
    fake.add(&FakeNic::plain("0000:00:19.0".parse().unwrap(), "eno1"))
        .unwrap();
    fake
}

fn root(fake: &FakeSysfs) -> &str {
    fake.root().to_str().unwrap()
}

#[test]
fn prints_the_inventory_as_json() {
    let fake = tree();
    let out = run(&["--sysfs", root(&fake)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stderr.is_empty());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "compact JSON is one line");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let interfaces = json["interfaces"].as_array().unwrap();
    assert_eq!(interfaces.len(), 2);
    assert_eq!(interfaces[0]["name"], "eno1");
    assert!(interfaces[0].get("totalvfs").is_none());
    let pf = &interfaces[1];
    assert_eq!(pf["name"], "ens1f0");
    assert_eq!(pf["pciAddress"], "0000:3b:00.0");
    assert_eq!(
        (pf["vendor"].as_str(), pf["deviceID"].as_str()),
        (Some("8086"), Some("10c9"))
    );
    assert_eq!(
        (pf["totalvfs"].as_u64(), pf["numVfs"].as_u64()),
        (Some(7), Some(2))
    );
    let vfs = pf["Vfs"].as_array().unwrap();
    assert_eq!(vfs[0]["pciAddress"], "0000:3b:10.0");
    assert_eq!(vfs[0]["name"], "ens1f0v0");
    assert_eq!(vfs[0]["vfID"], 0);
    assert_eq!(vfs[1]["driver"], "vfio-pci");
    assert_eq!(vfs[1]["netdevState"], "userspace");
    assert!(vfs[1].get("name").is_none());
}

#[test]
fn pretty_prints_the_same_json() {
    let fake = tree();
    let compact = run(&["--sysfs", root(&fake)]);
    let pretty = run(&["--pretty", &format!("--sysfs={}", root(&fake))]);
    assert!(pretty.status.success());
    assert!(String::from_utf8_lossy(&pretty.stdout).lines().count() > 10);
    let parse = |out: &Output| serde_json::from_slice::<Value>(&out.stdout).unwrap();
    assert_eq!(parse(&pretty), parse(&compact));
}

/// The PCI addresses the JSON lists: each interface's, then its VFs'.
fn listed(stdout: &[u8]) -> Vec<String> {
    let json: Value = serde_json::from_slice(stdout).unwrap();
    let mut out = Vec::new();
    for nic in json["interfaces"].as_array().unwrap() {
        out.push(nic["pciAddress"].as_str().unwrap().to_owned());
        for vf in nic["Vfs"].as_array().into_iter().flatten() {
            out.push(vf["pciAddress"].as_str().unwrap().to_owned());
        }
    }
    out
}

#[test]
fn a_broken_device_is_left_out_and_named_on_stderr_with_status_0() {
    let fake = tree();
    let numvfs = fake
        .device_dir("0000:3b:00.0".parse().unwrap())
        .join("sriov_numvfs");
    fs::write(numvfs, "two\n").unwrap();
    let out = run(&["--sysfs", root(&fake)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(listed(&out.stdout), ["0000:00:19.0"]);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("netplumb-inventory: left out: PCI device 0000:3b:00.0: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("sriov_numvfs holds \"two\", expected a decimal number"),
        "{stderr}"
    );
}

#[test]
fn a_broken_vf_is_left_out_of_its_pf() {
    let fake = tree();
    let vf = "0000:3b:10.0".parse().unwrap();
    fs::remove_file(fake.device_dir(vf).join("vendor")).unwrap();
    let out = run(&["--sysfs", root(&fake)]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        listed(&out.stdout),
        ["0000:00:19.0", "0000:3b:00.0", "0000:3b:10.2"]
    );
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("netplumb-inventory: left out: VF 0000:3b:10.0: reading "),
        "{stderr}"
    );
}

#[test]
fn nothing_readable_is_status_1_with_every_error() {
    let fake = tree();
    for addr in ["0000:3b:00.0", "0000:00:19.0"] {
        fs::write(fake.device_dir(addr.parse().unwrap()).join("class"), "?\n").unwrap();
    }
    let out = run(&["--sysfs", root(&fake)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("netplumb-inventory: no network device could be read:\n"),
        "{stderr}"
    );
    for addr in ["0000:3b:00.0", "0000:00:19.0"] {
        assert!(
            stderr.contains(&format!("\n  PCI device {addr}: ")),
            "{stderr}"
        );
    }
}

#[test]
fn missing_root_is_an_error() {
    let fake = tree();
    let missing = fake.path("missing");
    let out = run(&["--sysfs", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing/bus/pci/devices"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let out = run(&["--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown argument \"--bogus\""));
    let help = run(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).starts_with("usage: netplumb-inventory"));
}

#[test]
fn reads_this_machines_sysfs_by_default() {
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["interfaces"].is_array());
}
