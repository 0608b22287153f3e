//! Allocation on fake sysfs trees: threads racing for VFs, holders that
//! go away, and records on disk. Regular files stand in for the holders'
//! namespace files: liveness only looks at the path and its (dev, inode).

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Barrier;

use netplumb_vf::testing::{FakeNic, FakeSysfs, FakeVfNetdev};
use netplumb_vf::{Allocator, Error, Holder, IfName, NsRef};

/// A scratch directory for records and stand-in namespace files.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("netplumb-alloc-{}-{n}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    /// A live holder: a file standing in for its namespace.
    fn holder(&self, name: &str) -> Holder {
        let path = self.0.join(format!("ns-{name}"));
        fs::write(&path, name).unwrap();
        Holder::new(NsRef::stat(path).unwrap(), name)
    }

    fn allocator(&self, fake: &FakeSysfs) -> Allocator {
        Allocator::new(self.0.join("data"), fake.sysfs()).unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn pf_name() -> IfName {
    "enp1s0f0".parse().unwrap()
}

fn pf(num_vfs: u32) -> (FakeSysfs, FakeNic) {
    let fake = FakeSysfs::new().unwrap();
    let nic = FakeNic::pf("0000:01:00.0".parse().unwrap(), "enp1s0f0", 7, num_vfs);
    fake.add(&nic).unwrap();
    (fake, nic)
}

#[test]
fn racing_threads_never_share_a_vf() {
    let (fake, _) = pf(7);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let holders: Vec<Holder> = (0..10).map(|i| scratch.holder(&format!("p{i}"))).collect();
    let start = Barrier::new(holders.len());
    let results: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = holders
            .iter()
            .map(|holder| {
                let (allocator, start) = (&allocator, &start);
                scope.spawn(move || {
                    start.wait();
                    allocator.claim_free(&pf_name(), holder)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let won: BTreeSet<_> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|claim| claim.vf.addr)
        .collect();
    assert_eq!(won.len(), 7, "seven distinct VFs");
    let lost: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(lost.len(), 3);
    for err in lost {
        assert!(
            matches!(
                err,
                Error::NoFreeVf {
                    total: 7,
                    held: 7,
                    elsewhere: 0,
                    no_netdev: 0,
                    ..
                }
            ),
            "{err}"
        );
    }
    // Every winner's record names it.
    for (result, holder) in results.iter().zip(&holders) {
        if let Ok(claim) = result {
            assert_eq!(
                allocator.holder(claim.vf.addr).unwrap().as_ref(),
                Some(holder)
            );
        }
    }
}

#[test]
fn moved_and_userspace_vfs_are_skipped_and_counted() {
    let fake = FakeSysfs::new().unwrap();
    let mut nic = FakeNic::pf("0000:01:00.0".parse().unwrap(), "enp1s0f0", 7, 4);
    let vfs = &mut nic.sriov.as_mut().unwrap().vfs;
    vfs[0].netdev = FakeVfNetdev::Moved;
    vfs[1].driver = Some("vfio-pci".into());
    vfs[1].netdev = FakeVfNetdev::None;
    // A netdev driver that has not made its netdev yet.
    vfs[2].netdev = FakeVfNetdev::None;
    fake.add(&nic).unwrap();
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let claim = allocator
        .claim_free(&pf_name(), &scratch.holder("a"))
        .unwrap();
    assert_eq!(claim.vf.index(), Some(3));
    let err = allocator
        .claim_free(&pf_name(), &scratch.holder("b"))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "no free VF on PF enp1s0f0: of 4 VFs, 1 are held by live pods, 1 have their netdev \
         in another namespace and 2 have no netdev"
    );
}

#[test]
fn a_vf_is_reclaimed_once_its_holder_is_gone_or_replaced() {
    let (fake, nic) = pf(1);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let vf = nic.vf_addr(0).unwrap();
    let first = scratch.holder("first");
    allocator.claim(vf, &first).unwrap();

    let second = scratch.holder("second");
    let err = allocator.claim(vf, &second).unwrap_err();
    assert!(matches!(err, Error::VfHeld { .. }), "{err}");
    assert!(err.to_string().contains("held by first"), "{err}");

    // The path now leads to another file: the first holder's namespace is
    // gone even though something sits at its path. (The new file exists
    // before the old goes, so it cannot reuse the old inode.)
    let replacement = scratch.0.join("replacement");
    fs::write(&replacement, "someone else").unwrap();
    fs::rename(&replacement, &first.ns.path).unwrap();
    assert!(!first.is_alive());
    let claim = allocator.claim(vf, &second).unwrap();
    assert_eq!(claim.reclaimed_from, Some(first.clone()));

    // And a holder whose path is gone altogether.
    fs::remove_file(&second.ns.path).unwrap();
    let third = scratch.holder("third");
    let claim = allocator.claim_free(&pf_name(), &third).unwrap();
    assert_eq!(claim.reclaimed_from, Some(second));
}

#[test]
fn claiming_again_is_idempotent_and_release_is_by_holder_only() {
    let (fake, nic) = pf(2);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let vf = nic.vf_addr(1).unwrap();
    let (owner, other) = (scratch.holder("owner"), scratch.holder("other"));
    let claim = allocator.claim(vf, &owner).unwrap();
    assert_eq!(claim.reclaimed_from, None);
    assert_eq!(allocator.claim(vf, &owner).unwrap().vf, claim.vf);

    assert!(!allocator.release(vf, &other).unwrap());
    assert_eq!(allocator.holder(vf).unwrap(), Some(owner.clone()));
    let undo = claim.undo();
    let json = serde_json::to_string(&undo).unwrap();
    serde_json::from_str::<netplumb_vf::ClaimUndo>(&json)
        .unwrap()
        .undo(&allocator)
        .unwrap();
    assert_eq!(allocator.holder(vf).unwrap(), None);
    // Undoing twice is harmless.
    undo.undo(&allocator).unwrap();
    assert!(!allocator.release(vf, &owner).unwrap());
}

#[test]
fn records_are_private_and_bad_ones_are_named() {
    let (fake, nic) = pf(1);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let vf = nic.vf_addr(0).unwrap();
    allocator.claim(vf, &scratch.holder("a")).unwrap();
    let dir = scratch.0.join("data/vfs");
    let mode = |p: PathBuf| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(dir.clone()), 0o700);
    let record = dir.join(format!("{vf}.json"));
    assert_eq!(mode(record.clone()), 0o600);
    assert!(!dir.join(format!("{vf}.json.tmp")).exists());

    fs::write(&record, "{\"ns\":").unwrap();
    let err = allocator.claim(vf, &scratch.holder("b")).unwrap_err();
    assert!(matches!(err, Error::BadRecord { .. }), "{err}");
    assert!(
        err.to_string().contains(&record.display().to_string()),
        "{err}"
    );
}

#[test]
fn data_directories_must_be_absolute_without_dot_components() {
    let fake = FakeSysfs::new().unwrap();
    for bad in [
        "var/lib/cni",
        "/var/lib/../../etc",
        "/var/lib/./cni",
        "/var/lib/cni/..",
        "",
    ] {
        let err = Allocator::new(bad, fake.sysfs()).unwrap_err();
        assert!(
            matches!(err, Error::InvalidDataDir { .. }),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("/var/lib/cni/netplumb"), "{err}");
    }
    Allocator::new("/var/lib/cni/netplumb", fake.sysfs()).unwrap();
}

#[test]
fn an_unknown_pf_or_vf_is_an_error_not_a_claim() {
    let (fake, _) = pf(1);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let holder = scratch.holder("a");
    let err = allocator
        .claim_free(&"eth9".parse().unwrap(), &holder)
        .unwrap_err();
    assert!(matches!(err, Error::NoSuchNetdev { .. }), "{err}");
    let err = allocator
        .claim("0000:09:00.0".parse().unwrap(), &holder)
        .unwrap_err();
    assert!(matches!(err, Error::NoSuchPciDevice { .. }), "{err}");
}

#[test]
fn a_lock_held_past_the_wait_is_busy_and_the_lock_spans_check_and_change() {
    let (fake, nic) = pf(1);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let impatient = scratch
        .allocator(&fake)
        .lock_wait(std::time::Duration::from_millis(50));
    let vf = nic.vf_addr(0).unwrap();
    let owner = scratch.holder("owner");
    allocator.claim(vf, &owner).unwrap();

    let lock = allocator.lock(vf).unwrap();
    assert!(lock.is_held_by(&owner).unwrap());
    assert!(!lock.is_held_by(&scratch.holder("late")).unwrap());
    // While it is held, nobody else claims, releases or reads the VF.
    let err = impatient.release(vf, &owner).unwrap_err();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    assert_eq!(err.kind(), netplumb_vf::ErrorKind::Busy);
    assert!(err.to_string().contains(&vf.to_string()), "{err}");
    assert!(lock.release(&owner).unwrap());
    drop(lock);
    assert_eq!(impatient.holder(vf).unwrap(), None);
}

#[test]
fn records_and_locks_that_are_symbolic_links_are_not_followed() {
    let (fake, nic) = pf(1);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    let vf = nic.vf_addr(0).unwrap();
    let dir = scratch.0.join("data/vfs");
    fs::create_dir_all(&dir).unwrap();
    let target = scratch.0.join("elsewhere");
    fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.join(format!("{vf}.lock"))).unwrap();
    let err = allocator.claim(vf, &scratch.holder("a")).unwrap_err();
    assert!(
        matches!(err, Error::State { action: "open", .. }),
        "{err:?}"
    );
    fs::remove_file(dir.join(format!("{vf}.lock"))).unwrap();
    std::os::unix::fs::symlink(&target, dir.join(format!("{vf}.json"))).unwrap();
    let err = allocator.claim(vf, &scratch.holder("a")).unwrap_err();
    assert!(
        matches!(err, Error::State { action: "read", .. }),
        "{err:?}"
    );
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");
}

#[test]
fn claims_are_found_again_by_their_owner() {
    let (fake, nic) = pf(3);
    let scratch = Scratch::new();
    let allocator = scratch.allocator(&fake);
    assert_eq!(allocator.held_by_owner("a").unwrap(), []);
    let (a, b) = (scratch.holder("a"), scratch.holder("b"));
    let first = allocator.claim_free(&pf_name(), &a).unwrap().vf.addr;
    let second = allocator.claim_free(&pf_name(), &b).unwrap().vf.addr;
    let third = allocator
        .claim(nic.vf_addr(2).unwrap(), &a)
        .unwrap()
        .vf
        .addr;
    assert_eq!(allocator.held_by_owner("a").unwrap(), [first, third]);
    assert_eq!(allocator.held_by_owner("b").unwrap(), [second]);
    assert_eq!(allocator.held_by_owner("c").unwrap(), []);
    // A record that cannot be read is passed over, not an error.
    fs::write(scratch.0.join("data/vfs/0000:01:00.7.json"), "{").unwrap();
    assert_eq!(allocator.held_by_owner("a").unwrap(), [first, third]);
    allocator.release(first, &a).unwrap();
    assert_eq!(allocator.held_by_owner("a").unwrap(), [third]);
}
