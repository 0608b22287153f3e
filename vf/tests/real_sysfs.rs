//! Discovery on this machine's own /sys, read-only.
//!
//! Development machines have no SR-IOV (their virtio NICs show as plain
//! NICs); the lab has igb PFs with VFs. The checks hold on both: the
//! inventory reads without error, and every netdev and VF it reports is
//! found the same way by each single lookup.

use std::fs;

use netplumb_vf::{Error, IfName, Sysfs};

#[test]
fn real_sysfs_inventory_agrees_with_single_lookups() {
    let sysfs = Sysfs::default();
    let inventory = sysfs.inventory().expect("inventory of /sys");
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    for nic in &inventory.interfaces {
        assert_eq!(nic.num_vfs as usize, nic.vfs.len(), "{}", nic.addr);
        if let Some(name) = nic.name() {
            match sysfs.pf(name) {
                Ok(pf) => assert!(pf.is_sriov() && pf.addr == nic.addr),
                Err(Error::NotPf { .. }) => assert!(!nic.is_sriov()),
                Err(e) => panic!("{name}: {e}"),
            }
        }
        for vf in &nic.vfs {
            assert_eq!(&sysfs.vf(vf.addr).unwrap(), vf);
            let index = vf.index().unwrap();
            if let Some(pf_name) = vf.pf_name() {
                assert_eq!(&sysfs.vf_by_index(pf_name, index).unwrap(), vf);
            }
            if let Some(name) = vf.netdev_name() {
                assert_eq!(&sysfs.vf_by_netdev(name).unwrap(), vf);
            }
        }
    }
}

#[test]
fn every_real_netdev_is_a_vf_a_pf_or_not_pci() {
    let sysfs = Sysfs::default();
    let inventory = sysfs.inventory().unwrap();
    for entry in fs::read_dir("/sys/class/net").unwrap() {
        let name = entry.unwrap().file_name();
        // Only netdev names can be asked about; sysfs may hold other files
        // here (bonding_masters fits the rules, others need not).
        let Some(Ok(name)) = name.to_str().map(str::parse::<IfName>) else {
            continue;
        };
        match sysfs.vf_by_netdev(&name) {
            // A VF's own netdev, or a plain NIC taken as a VF seen in a VM.
            Ok(vf) => assert!(
                vf.netdev_name() == Some(&name)
                    || inventory.interfaces.iter().any(|n| n.addr == vf.addr),
                "{name}: {vf:?}"
            ),
            Err(Error::NotPci { .. }) => {}
            Err(Error::NotVf { addr, .. }) => {
                assert!(inventory
                    .interfaces
                    .iter()
                    .any(|n| n.addr == addr && n.is_sriov()));
            }
            // The netdev went away while the test ran.
            Err(Error::NoSuchNetdev { .. }) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
}
