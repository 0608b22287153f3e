//! Discovery against the lab's real kernel: two igb PFs (82576) with 7 VFs
//! each, and an e1000e NIC standing in for a VF passed into a VM. Run them
//! with `cargo xtask lab`.

mod common;

use std::fs;
use std::path::Path;

use common::{host, lab_pfs, lab_var, lab_vf, Pod, Restore};
use netplumb_vf::{AttachSpec, IfName, Sysfs, VfNetdev};

#[test]
#[ignore = "lab"]
fn lab_igb_pfs_show_seven_vfs_each() {
    let sysfs = Sysfs::default();
    for pf_name in lab_pfs() {
        let pf = sysfs.pf(&pf_name).unwrap();
        assert_eq!(pf.driver.as_deref(), Some("igb"), "{pf_name}");
        assert_eq!(
            (pf.total_vfs, pf.num_vfs, pf.vfs.len()),
            (7, 7, 7),
            "{pf_name}"
        );
        for (index, vf) in (0u32..).zip(&pf.vfs) {
            // 82576: First VF Offset 128, VF Stride 2.
            let rid = u32::from(pf.addr.routing_id()) + 128 + 2 * index;
            assert_eq!(
                vf.addr,
                pf.addr.with_routing_id(rid as u16),
                "{pf_name} VF {index}"
            );
            assert_eq!(vf.driver.as_deref(), Some("igbvf"));
            assert_eq!(vf.pf_name(), Some(&pf_name));
            let VfNetdev::Host(netdev) = &vf.netdev else {
                panic!("{pf_name} VF {index}: {:?}", vf.netdev)
            };
            assert_eq!(&sysfs.vf_by_netdev(&netdev.name).unwrap(), vf);
            assert_eq!(&sysfs.vf_by_index(&pf_name, index).unwrap(), vf);
            assert_eq!(&sysfs.vf(vf.addr).unwrap(), vf);
        }
        let err = sysfs.vf_by_index(&pf_name, 7).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "PF {pf_name} has no VF 7 (numvfs 7): /sys/bus/pci/devices/{}/virtfn7 \
                 does not exist",
                pf.addr
            )
        );
    }
}

#[test]
#[ignore = "lab"]
fn lab_vm_nic_is_a_vf_without_pf() {
    let name: IfName = lab_var("NETPLUMB_LAB_VMNIC").parse().unwrap();
    let sysfs = Sysfs::default();
    let vf = sysfs.vf_by_netdev(&name).unwrap();
    assert_eq!(vf.pf, None);
    assert_eq!(vf.driver.as_deref(), Some("e1000e"));
    assert_eq!(vf.netdev_name(), Some(&name));
    let inventory = sysfs.inventory().unwrap();
    let nic = inventory
        .interfaces
        .iter()
        .find(|n| n.addr == vf.addr)
        .unwrap();
    assert!(!nic.is_sriov());
}

#[test]
#[ignore = "lab"]
fn lab_inventory_lists_both_pfs() {
    let inventory = Sysfs::default().inventory().unwrap();
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    for pf_name in lab_pfs() {
        let nic = inventory
            .interfaces
            .iter()
            .find(|n| n.name() == Some(&pf_name))
            .unwrap_or_else(|| panic!("{pf_name} missing from {inventory:?}"));
        assert_eq!(nic.vfs.len(), 7);
        assert!(nic
            .netdev
            .as_ref()
            .unwrap()
            .speed_mbps
            .is_some_and(|s| s > 0));
    }
}

/// A netdev moved into another namespace leaves its device's `net/` in the
/// host's sysfs, empty: that is what tells a moved netdev from a VF whose
/// driver has made none (no `net/` at all).
#[test]
#[ignore = "lab"]
fn lab_moved_netdev_leaves_an_empty_net_dir() {
    let host = host();
    let pod = Pod::new("mv");
    let vf = lab_vf(&host, 1, 5);
    let mut guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    let host_name = before.netdev.as_ref().unwrap().name.to_string();
    let net = Path::new("/sys/bus/pci/devices")
        .join(vf.addr.to_string())
        .join("net");
    let entries = || -> Vec<String> {
        fs::read_dir(&net)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(entries(), std::slice::from_ref(&host_name));

    let spec = AttachSpec::new("net1".parse().unwrap());
    let undo = host.attach(&before, pod.ns(), &spec).unwrap();
    guard.attached = Some(undo.clone());
    assert!(net.is_dir(), "{} is gone", net.display());
    assert_eq!(entries(), Vec::<String>::new());
    assert_eq!(host.sysfs().vf(vf.addr).unwrap().netdev, VfNetdev::Moved);

    host.detach(&undo).unwrap();
    guard.attached = None;
    assert_eq!(entries(), [host_name]);
    assert!(matches!(
        host.sysfs().vf(vf.addr).unwrap().netdev,
        VfNetdev::Host(_)
    ));
}

/// A workspace example, where the lab puts them.
fn example(name: &str) -> std::path::PathBuf {
    Path::new(&lab_var("NETPLUMB_LAB_EXAMPLES")).join(name)
}

#[test]
#[ignore = "lab"]
fn lab_the_move_vf_example_moves_a_vf_and_back() {
    let host = host();
    let vf = lab_vf(&host, 1, 5);
    let before = host.snapshot(&vf).unwrap();
    let out = std::process::Command::new(example("move_vf"))
        .arg(vf.addr.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("net1 mtu 1400 up true"), "{stdout}");
    assert!(stdout.contains("restored as recorded"), "{stdout}");
    common::assert_as_before(&host, &before);
}

#[test]
#[ignore = "lab"]
fn lab_the_list_vfs_example_lists_every_vf() {
    let out = std::process::Command::new(example("list_vfs"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let host = host();
    for pf in 0..2 {
        for index in 0..7 {
            let vf = lab_vf(&host, pf, index);
            assert!(
                stdout.contains(&vf.addr.to_string()),
                "{}: {stdout}",
                vf.addr
            );
        }
    }
}
