//! Randomly broken trees: discovery answers or errors, never panics, and
//! what the inventory lists agrees with every single lookup.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use netplumb_vf::testing::{FakeNetdev, FakeNic, FakeSysfs, FakeVf, FakeVfNetdev};
use netplumb_vf::{IfName, Inventory, PciAddr, Sysfs};
use proptest::prelude::*;

/// A PF with netdev, DPDK, moved and unbound VFs, a second PF in switchdev
/// mode with representors, a plain NIC with two ports and a virtio NIC:
/// every kind of entry discovery reads.
fn varied_tree() -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf("0000:01:00.0".parse().unwrap(), "enp1s0f0", 7, 4);
    let vfs = &mut pf.sriov.as_mut().unwrap().vfs;
    vfs[1] = FakeVf {
        driver: Some("vfio-pci".to_owned()),
        netdev: FakeVfNetdev::None,
    };
    vfs[2].netdev = FakeVfNetdev::Moved;
    vfs[3] = FakeVf {
        driver: None,
        netdev: FakeVfNetdev::None,
    };
    fake.add(&pf).unwrap();
    let mut other =
        FakeNic::pf("0000:01:00.1".parse().unwrap(), "enp1s0f1", 7, 2).switchdev(1, "enp1s0f1_");
    other.sriov.as_mut().unwrap().offset_files = false;
    fake.add(&other).unwrap();
    let mut two_ports = FakeNic::plain("0000:00:05.0".parse().unwrap(), "ens5");
    two_ports.extra_netdevs = vec![FakeNetdev::new("ens5d1", 0x60, 1000)];
    fake.add(&two_ports).unwrap();
    let mut virtio = FakeNic::plain("0000:00:03.0".parse().unwrap(), "eth0");
    virtio.virtio = true;
    fake.add(&virtio).unwrap();
    fake
}

/// Every file, link and directory below `dir`, relative to `root`, without
/// following links.
fn entries(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.strip_prefix(root).unwrap().to_owned());
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            entries(root, &path, out);
        }
    }
}

fn all_entries(fake: &FakeSysfs) -> Vec<PathBuf> {
    let mut out = Vec::new();
    entries(fake.root(), fake.root(), &mut out);
    out.sort();
    out
}

#[derive(Clone, Debug)]
enum Damage {
    Delete,
    Overwrite(String),
    LinkTo(String),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        Just(Damage::Delete),
        "[ -~]{0,12}".prop_map(Damage::Overwrite),
        prop_oneof![
            Just("../0000:01:1f.7".to_owned()),
            Just("../../..".to_owned()),
            Just("nowhere".to_owned()),
            Just("../0000:01:10.0".to_owned()),
            "[a-z0-9:./]{1,12}",
        ]
        .prop_map(Damage::LinkTo),
    ]
}

fn apply(path: &Path, damage: &Damage) {
    // The entry may already be gone with a damaged parent.
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    let removed = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    removed.unwrap();
    match damage {
        Damage::Delete => {}
        Damage::Overwrite(text) => fs::write(path, text).unwrap(),
        Damage::LinkTo(target) => symlink(target, path).unwrap(),
    }
}

/// What the inventory lists must be what single lookups find: each VF once,
/// found the same by address and by its PF and index.
fn check_against_lookups(sysfs: &Sysfs, inventory: &Inventory) {
    let mut seen = HashSet::new();
    for nic in &inventory.interfaces {
        assert!(seen.insert(nic.addr), "{} listed twice", nic.addr);
        let mut last_index = None;
        for vf in &nic.vfs {
            assert!(seen.insert(vf.addr), "{} listed twice", vf.addr);
            let pf = vf.pf.as_ref().expect("a listed VF has its PF");
            assert_eq!((pf.addr, pf.name.as_ref()), (nic.addr, nic.name()));
            assert!(pf.index < nic.num_vfs, "{vf:?}");
            assert!(last_index < Some(pf.index), "VFs out of index order");
            last_index = Some(pf.index);
            assert_eq!(sysfs.vf(vf.addr).as_ref().ok(), Some(vf));
            if let Some(pf_name) = &pf.name {
                if let Ok(by_index) = sysfs.vf_by_index(pf_name, pf.index) {
                    assert_eq!(&by_index, vf);
                }
            }
        }
    }
}

/// Every lookup discovery offers, on every name and address of the intact
/// tree; single results are only checked against the inventory.
fn exercise(fake: &FakeSysfs) {
    let sysfs = fake.sysfs();
    if let Ok(inventory) = sysfs.inventory() {
        check_against_lookups(&sysfs, &inventory);
    }
    for addr in [
        "0000:01:00.0",
        "0000:01:00.1",
        "0000:01:10.0",
        "0000:01:10.2",
        "0000:01:10.4",
        "0000:01:10.6",
        "0000:01:10.1",
        "0000:01:10.3",
        "0000:00:05.0",
        "0000:00:03.0",
    ] {
        let addr: PciAddr = addr.parse().unwrap();
        let _ = sysfs.vf(addr);
        let _ = sysfs.pf_by_addr(addr);
    }
    for name in [
        "enp1s0f0",
        "enp1s0f1",
        "enp1s0f1_0",
        "enp1s0f0v0",
        "enp1s0f1v1",
        "ens5",
        "ens5d1",
        "eth0",
    ] {
        let name: IfName = name.parse().unwrap();
        let _ = sysfs.pf(&name);
        let _ = sysfs.vf_by_netdev(&name);
        for index in [0, 1, 3, 7] {
            let _ = sysfs.vf_by_index(&name, index);
        }
    }
}

#[test]
fn intact_tree_answers_every_lookup() {
    let fake = varied_tree();
    let inventory = fake.sysfs().inventory().unwrap();
    assert_eq!(inventory.interfaces.len(), 4);
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    assert_eq!(
        inventory
            .interfaces
            .iter()
            .map(|n| n.vfs.len())
            .sum::<usize>(),
        6
    );
    assert!(all_entries(&fake).len() > 100);
    exercise(&fake);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn broken_trees_never_panic(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), damage()), 1..6)
    ) {
        let fake = varied_tree();
        let entries = all_entries(&fake);
        for (pick, damage) in &picks {
            apply(&fake.path(pick.get(&entries)), damage);
        }
        exercise(&fake);
    }
}
