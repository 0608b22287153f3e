//! The `sriov` plugin under load, against the lab's kernel: more ADDs at
//! once than there are VFs, by `deviceID` and by `master` alike, then
//! ADDs racing DELs on the same VFs for a minute. No VF is ever given
//! twice, a loser gets code 11 and leaves nothing, and at the end every VF
//! is home as it was. Run them with `cargo xtask lab lab_load`.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{claim_owner, interface, lab_pfs, lab_vf, Attachment, Lab, Network, Outcome, Pod};
use netplumb_vf::{PciAddr, Vf, VfState};
use serde_json::{json, Value};

/// How long ADDs race DELs.
const RACE: Duration = Duration::from_secs(60);

/// The network every attachment here belongs to.
const NETWORK: &str = "load-net";

/// Every VF of both PFs, guarded.
fn all_vfs(lab: &mut Lab) -> (Vec<Vf>, Vec<VfState>) {
    let vfs: Vec<Vf> = (0..2)
        .flat_map(|pf| (0..7).map(move |i| (pf, i)))
        .map(|(pf, i)| lab_vf(&lab.host, pf, i))
        .collect();
    let before = vfs.iter().map(|vf| lab.guard(vf)).collect();
    (vfs, before)
}

/// Attachment `i`'s network: even ones name a VF by `deviceID` (two of
/// them the same VF), odd ones ask for any VF of a PF by `master`.
fn network(lab: &Lab, vfs: &[Vf], i: usize) -> Network {
    let fields = if i.is_multiple_of(2) {
        json!({"deviceID": vfs[(i / 2) % vfs.len()].addr.to_string()})
    } else {
        json!({"master": lab_pfs()[(i / 2) % 2].to_string()})
    };
    let mut conf = lab.sriov("1.0.0", NETWORK, fields);
    conf["ipam"] = lab.host_local(json!([[{"subnet": "198.51.100.0/24"}]]));
    Network::single(conf)
}

/// The VF the pod got: the device its `net1` sits on, which the result
/// names too.
fn vf_of(pod: &Pod, result: &Value) -> PciAddr {
    let nl = pod.ns().netlink().unwrap();
    let link = nl.link("net1").unwrap();
    let (_, iface) = interface(result, "net1");
    assert_eq!(iface["mac"], json!(link.mac.unwrap().to_string()));
    nl.device_of(&link).unwrap().unwrap().parse().unwrap()
}

/// A loser's answer: code 11, and nothing of it left.
fn lost(lab: &Lab, out: &Outcome, att: &Attachment, pod: &Pod) {
    let (code, msg) = out.error();
    assert_eq!(code, 11, "{}: {msg}", att.container_id);
    pod.assert_empty();
    assert!(!lab.record(NETWORK, att).exists(), "{msg}");
}

/// Every VF home as it was, no claim, no record, no lease.
fn all_home(lab: &Lab, before: &[VfState]) {
    for state in before {
        common::assert_as_before(&lab.host, state);
        assert_eq!(claim_owner(state.vf.addr), None, "{} claimed", state.vf);
    }
    assert_eq!(lab.journal_files(NETWORK), Vec::<String>::new());
    assert_eq!(lab.leases(NETWORK), Vec::<String>::new());
}

#[test]
#[ignore = "lab"]
fn lab_load_thirty_adds_for_fourteen_vfs_then_thirty_dels() {
    let mut lab = Lab::new();
    let (vfs, before) = all_vfs(&mut lab);
    let pods: Vec<Pod> = (0..30).map(|_| Pod::new("ld")).collect();
    let atts: Vec<Attachment> = pods.iter().map(|p| Attachment::new(p, "net1")).collect();
    let nets: Vec<Network> = (0..30).map(|i| network(&lab, &vfs, i)).collect();

    let start = Barrier::new(atts.len());
    let outcomes: Vec<Result<Value, Outcome>> = std::thread::scope(|scope| {
        let threads: Vec<_> = atts
            .iter()
            .zip(&nets)
            .map(|(att, net)| {
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    net.add(att)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    let mut given = BTreeMap::new();
    for (i, outcome) in outcomes.iter().enumerate() {
        match outcome {
            Ok(result) => {
                let vf = vf_of(&pods[i], result);
                let owner = claim_owner(vf).unwrap();
                assert!(owner.contains(&atts[i].container_id), "{vf}: {owner}");
                assert!(given.insert(vf, i).is_none(), "{vf} given twice");
            }
            Err(out) => lost(&lab, out, &atts[i], &pods[i]),
        }
    }
    eprintln!(
        "30 ADDs at once for 14 VFs: {} won, {} got code 11",
        given.len(),
        30 - given.len()
    );
    // Every VF has a taker: the seven of each PF by master alone.
    assert_eq!(given.len(), 14, "{given:?}");

    // The runtime sends DEL for every attachment, the losers' too.
    let start = Barrier::new(atts.len());
    std::thread::scope(|scope| {
        for ((att, net), outcome) in atts.iter().zip(&nets).zip(&outcomes) {
            let start = &start;
            scope.spawn(move || {
                start.wait();
                net.deleted(att, outcome.as_ref().ok());
            });
        }
    });
    for pod in &pods {
        pod.assert_empty();
    }
    all_home(&lab, &before);
}

/// A small pseudo-random sequence: the races need variety, not quality.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, sides: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % sides as u64) as usize
    }
}

#[test]
#[ignore = "lab"]
fn lab_load_adds_racing_dels_on_the_same_vfs_for_a_minute() {
    let mut lab = Lab::new();
    let (vfs, before) = all_vfs(&mut lab);
    // Twenty attachments for fourteen VFs, each added and deleted over and
    // over by eight workers at once: an attachment's ADD races its own DEL
    // and the ADDs and DELs of others on the same VFs.
    let pods: Vec<Pod> = (0..20).map(|_| Pod::new("lr")).collect();
    let atts: Vec<Attachment> = pods.iter().map(|p| Attachment::new(p, "net1")).collect();
    let nets: Vec<Network> = (0..20).map(|i| network(&lab, &vfs, i)).collect();
    // What each attachment's last successful ADD returned, for its DEL.
    let results: Vec<Mutex<Option<Value>>> = (0..20).map(|_| Mutex::new(None)).collect();
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("race seed {seed}");
    let (adds, busy, dels) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let end = Instant::now() + RACE;
    std::thread::scope(|scope| {
        for worker in 0..8u64 {
            let (atts, nets, results) = (&atts, &nets, &results);
            let (adds, busy, dels) = (&adds, &busy, &dels);
            scope.spawn(move || {
                let mut dice = Dice(seed ^ (worker << 32 | worker));
                while Instant::now() < end {
                    let i = dice.roll(atts.len());
                    if dice.roll(2) == 0 {
                        match nets[i].add(&atts[i]) {
                            Ok(result) => {
                                adds.fetch_add(1, Ordering::Relaxed);
                                *results[i].lock().unwrap() = Some(result);
                            }
                            Err(out) => {
                                let (code, msg) = out.error();
                                // Its VF is someone else's, or (added
                                // already) this attachment's.
                                assert!(code == 11 || msg.contains("is already attached"), "{msg}");
                                busy.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    } else {
                        let prev = results[i].lock().unwrap().take();
                        nets[i].deleted(&atts[i], prev.as_ref());
                        dels.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    eprintln!(
        "{} s of ADDs racing DELs: {} ADDs given a VF, {} refused, {} DELs",
        RACE.as_secs(),
        adds.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        dels.load(Ordering::Relaxed)
    );
    // At no point was a VF given twice: each pod holding one now holds
    // its own, and no two the same.
    let mut held = BTreeSet::new();
    for (pod, att) in pods.iter().zip(&atts) {
        let nl = pod.ns().netlink().unwrap();
        for link in nl.links().unwrap().iter().filter(|l| l.name != "lo") {
            let vf: PciAddr = nl.device_of(link).unwrap().unwrap().parse().unwrap();
            assert!(held.insert(vf), "{vf} in two pods");
            assert!(claim_owner(vf).unwrap().contains(&att.container_id));
        }
    }
    for (i, (att, net)) in atts.iter().zip(&nets).enumerate() {
        let prev = results[i].lock().unwrap().take();
        net.deleted(att, prev.as_ref());
    }
    for pod in &pods {
        pod.assert_empty();
    }
    all_home(&lab, &before);
    assert!(adds.load(Ordering::Relaxed) > 0 && dels.load(Ordering::Relaxed) > 0);
}
