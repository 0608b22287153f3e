//! Lookups on a tree of 64 PFs x 64 VFs touch a bounded number of paths:
//! exactly as many as on a tree with one PF, and never another PF's.

use std::sync::Arc;

use netplumb_vf::testing::{AccessLog, FakeNic, FakeSysfs, Recorded};
use netplumb_vf::{IfName, PciAddr, Sysfs};

const VFS_PER_PF: u32 = 64;

fn pf_nic(k: u8) -> FakeNic {
    let addr = PciAddr::new(0, k + 1, 0, 0).unwrap();
    FakeNic::pf(addr, &format!("p{k}"), VFS_PER_PF, VFS_PER_PF)
}

/// A tree holding the PFs numbered `pfs`.
fn tree(pfs: impl IntoIterator<Item = u8>) -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    for k in pfs {
        fake.add(&pf_nic(k)).unwrap();
    }
    fake
}

fn observed(fake: &FakeSysfs) -> (Sysfs, Arc<AccessLog>) {
    let log = Arc::new(AccessLog::default());
    (fake.sysfs().with_observer(log.clone()), log)
}

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

/// The paths of every recorded call.
fn paths(log: &AccessLog) -> Vec<String> {
    log.entries()
        .into_iter()
        .map(|entry| {
            let path = match entry {
                Recorded::Read(p)
                | Recorded::ReadLink(p)
                | Recorded::ReadDir(p)
                | Recorded::Resolve(p)
                | Recorded::Stat(p)
                | Recorded::Write(p, _) => p,
                other => panic!("unknown access {other:?}"),
            };
            path.to_string_lossy().into_owned()
        })
        .collect()
}

/// Runs the single-device lookups for PF `k`'s last VF and returns how many
/// filesystem calls each made, checking none strays to another PF.
fn lookup_costs(fake: &FakeSysfs, k: u8) -> Vec<usize> {
    let (sysfs, log) = observed(fake);
    let pf = pf_nic(k);
    let last = VFS_PER_PF - 1;
    let vf_addr = pf.vf_addr(last).unwrap();
    let pf_name = name(&format!("p{k}"));
    let vf_name = name(&format!("p{k}v{last}"));
    let mut costs = Vec::new();
    let mut check = |what: &str, found: PciAddr| {
        assert_eq!(found, vf_addr, "{what}");
        let touched = paths(&log);
        for path in &touched {
            assert_ne!(path, "bus/pci/devices", "{what} listed all devices");
            assert!(
                path.contains(&pf.addr.to_string())
                    || path.contains(&vf_addr.to_string())
                    || path.contains(&format!("class/net/{pf_name}/"))
                    || path.contains(&format!("class/net/{vf_name}/")),
                "{what} touched {path}"
            );
        }
        costs.push(touched.len());
        log.clear();
    };
    check("by address", sysfs.vf(vf_addr).unwrap().addr);
    check("by index", sysfs.vf_by_index(&pf_name, last).unwrap().addr);
    check("by netdev", sysfs.vf_by_netdev(&vf_name).unwrap().addr);
    costs
}

#[test]
fn lookups_cost_the_same_with_one_pf_and_with_64() {
    let big = tree(0..64);
    let small = tree([63]);
    let costs = lookup_costs(&big, 63);
    assert_eq!(costs, lookup_costs(&small, 63));
    // Each lookup is a handful of reads, not a walk over the 64 VFs of the PF.
    assert!(costs.iter().all(|c| *c <= 20), "{costs:?}");
    assert_eq!(lookup_costs(&big, 17), costs);

    // A PF with its VFs: reads that PF's VFs and nothing of another PF's.
    let (sysfs, log) = observed(&big);
    let pf = sysfs.pf(&name("p5")).unwrap();
    assert_eq!(pf.vfs.len(), VFS_PER_PF as usize);
    let other_pf = pf_nic(6).addr.to_string();
    assert!(paths(&log)
        .iter()
        .all(|p| !p.contains(&other_pf) && p != "bus/pci/devices"));
}

#[test]
fn inventory_of_64_pfs_by_64_vfs_is_complete_and_ordered() {
    let fake = tree(0..64);
    let inventory = fake.sysfs().inventory().unwrap();
    assert_eq!(inventory.interfaces.len(), 64);
    for (k, nic) in (0u8..).zip(&inventory.interfaces) {
        let expected = pf_nic(k);
        assert_eq!(nic.addr, expected.addr);
        assert_eq!(nic.vfs.len(), VFS_PER_PF as usize);
        for (index, vf) in (0..).zip(&nic.vfs) {
            assert_eq!(vf.addr, expected.vf_addr(index).unwrap());
            assert_eq!(vf.index(), Some(index));
        }
    }
}
