//! Allocation against the lab's 14 VFs, from concurrent threads each
//! standing for one pod. Run it with `cargo xtask lab`.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Barrier;

use common::{lab_pfs, unique, Pod};
use netplumb_vf::{Allocator, Error, Holder, NsRef, Sysfs};

/// A data directory removed when dropped.
struct DataDir(PathBuf);

impl Drop for DataDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "lab"]
fn lab_fourteen_pods_get_fourteen_vfs_and_a_fifteenth_gets_none() {
    let pfs = lab_pfs();
    let dir = DataDir(std::env::temp_dir().join(unique("netplumb-alloc-")));
    let allocator = Allocator::new(&dir.0, Sysfs::default()).unwrap();
    let mut pods: Vec<Pod> = (0..15).map(|_| Pod::new("al")).collect();
    let holders: Vec<Holder> = pods
        .iter()
        .map(|pod| Holder::new(NsRef::of(pod.ns()), format!("pod {}", pod.name)))
        .collect();

    let start = Barrier::new(14);
    let claims: Vec<_> = std::thread::scope(|scope| {
        let threads: Vec<_> = holders[..14]
            .iter()
            .enumerate()
            .map(|(i, holder)| {
                let (allocator, start, pf) = (&allocator, &start, &pfs[i % 2]);
                scope.spawn(move || {
                    start.wait();
                    allocator.claim_free(pf, holder)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let got: BTreeSet<_> = claims
        .iter()
        .map(|claim| claim.as_ref().unwrap().vf.addr)
        .collect();
    assert_eq!(got.len(), 14, "14 distinct VFs: {got:?}");

    for pf in &pfs {
        let err = allocator.claim_free(pf, &holders[14]).unwrap_err();
        assert!(matches!(err, Error::NoFreeVf { held: 7, .. }), "{err}");
        assert!(err
            .to_string()
            .starts_with(&format!("no free VF on PF {pf}")));
    }

    // A pod that ends without releasing its VF gives it up to the next.
    let freed = claims[3].as_ref().unwrap().vf.addr;
    pods[3].delete();
    let claim = allocator.claim_free(&pfs[1], &holders[14]).unwrap();
    assert_eq!(claim.vf.addr, freed);
    assert_eq!(claim.reclaimed_from.as_ref(), Some(&holders[3]));

    for (claim, holder) in claims.iter().zip(&holders) {
        let vf = claim.as_ref().unwrap().vf.addr;
        allocator.release(vf, holder).unwrap();
    }
    assert!(allocator.release(freed, &holders[14]).unwrap());
}
