//! `netplumb-bench host`: what the libraries cost on the host as the node
//! grows, in-process: discovery over fake sysfs trees of 1, 16 and 64 PFs
//! with 64 VFs each (time and sysfs calls), configuration parsing and
//! result conversion, and the attachment journal with 1, 100 and 1000
//! attachments. Times are medians of batches; only how they grow compares
//! across machines.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use netplumb_cniconf::{BondConf, CniResult, CniVersion, ContainerId, SriovConf};
use netplumb_plugin::journal::{Journal, Key, Record};
use netplumb_types::IfName;
use netplumb_vf::testing::{AccessLog, FakeNic, FakeSysfs};
use netplumb_vf::{Allocator, Holder, NsRef, PciAddr, Sysfs};

/// VFs of each fake PF.
const VFS_PER_PF: u32 = 64;
/// Tree sizes, in PFs.
const TREES: [u8; 3] = [1, 16, 64];
/// Journal sizes, in attachments of one network.
const JOURNALS: [usize; 3] = [1, 100, 1000];
/// Batches timed for each figure; the median batch is shown.
const BATCHES: usize = 7;
/// The least a batch runs, so that the clock's resolution does not count.
const BATCH_TIME: Duration = Duration::from_millis(20);

/// The median time of one call of `f`, over [`BATCHES`] batches of as
/// many calls as fill [`BATCH_TIME`].
fn per_call(mut f: impl FnMut()) -> Duration {
    f();
    let mut calls: u32 = 1;
    loop {
        let start = Instant::now();
        for _ in 0..calls {
            f();
        }
        if start.elapsed() >= BATCH_TIME || calls >= 1 << 20 {
            break;
        }
        calls *= 2;
    }
    let mut batches: Vec<Duration> = (0..BATCHES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..calls {
                f();
            }
            start.elapsed() / calls
        })
        .collect();
    batches.sort();
    batches[BATCHES / 2]
}

/// `d` in the unit that suits it.
fn time(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// How `last` compares with `first`.
fn growth(first: f64, last: f64) -> String {
    format!("x{:.2}", last / first)
}

/// One figure per size, and how the last compares with the first.
struct Row {
    what: &'static str,
    times: Vec<Duration>,
    /// Filesystem calls per lookup, when sysfs is what is read.
    calls: Option<Vec<usize>>,
}

fn print_table(title: &str, sizes: &[String], rows: &[Row]) {
    println!("{title}");
    let head: String = sizes.iter().map(|s| format!("{s:>12}")).collect();
    println!("  {:<44}{head}{:>10}", "", "growth");
    for row in rows {
        let cells: String = row
            .times
            .iter()
            .map(|t| format!("{:>12}", time(*t)))
            .collect();
        let (first, last) = (row.times[0], row.times[row.times.len() - 1]);
        println!(
            "  {:<44}{cells}{:>10}",
            row.what,
            growth(first.as_nanos() as f64, last.as_nanos() as f64)
        );
        if let Some(calls) = &row.calls {
            let cells: String = calls.iter().map(|c| format!("{c:>12}")).collect();
            let (first, last) = (calls[0], calls[calls.len() - 1]);
            println!(
                "  {:<44}{cells}{:>10}",
                "    sysfs calls",
                growth(first as f64, last as f64)
            );
        }
    }
    println!();
}

fn pf_nic(k: u8) -> FakeNic {
    let addr = PciAddr::new(0, k + 1, 0, 0).expect("a valid address");
    FakeNic::pf(addr, &format!("p{k}"), VFS_PER_PF, VFS_PER_PF)
}

fn name(s: &str) -> IfName {
    s.parse().expect("a valid name")
}

/// What one call of `f` reads of `sysfs` through `log`.
fn calls(log: &AccessLog, f: impl FnOnce()) -> usize {
    log.clear();
    f();
    log.len()
}

fn discovery(work: &Path) -> Result<(), String> {
    let mut inventory = Row {
        what: "inventory (every PF and VF)",
        times: Vec::new(),
        calls: Some(Vec::new()),
    };
    let mut by_addr = Row {
        what: "one VF by PCI address (last VF of last PF)",
        times: Vec::new(),
        calls: Some(Vec::new()),
    };
    let mut free = Row {
        what: "a free VF of a PF (its first 32 VFs held)",
        times: Vec::new(),
        calls: Some(Vec::new()),
    };
    for pfs in TREES {
        let fake = FakeSysfs::new().map_err(|e| format!("a fake sysfs tree: {e}"))?;
        for k in 0..pfs {
            fake.add(&pf_nic(k))
                .map_err(|e| format!("a fake sysfs tree: {e}"))?;
        }
        let log = Arc::new(AccessLog::default());
        let sysfs: Sysfs = fake.sysfs().with_observer(log.clone());
        let plain = fake.sysfs();
        let last = pf_nic(pfs - 1);
        let vf = last
            .vf_addr(VFS_PER_PF - 1)
            .ok_or("the last PF has no last VF")?;
        let pf_name = name(&format!("p{}", pfs - 1));

        let found = plain.inventory().map_err(|e| e.to_string())?;
        assert_eq!(found.interfaces.len(), usize::from(pfs));
        inventory.times.push(per_call(|| {
            plain.inventory().expect("the fake tree reads");
        }));
        push_calls(&mut inventory, calls(&log, || drop(sysfs.inventory())));

        by_addr.times.push(per_call(|| {
            plain.vf(vf).expect("the VF is there");
        }));
        push_calls(&mut by_addr, calls(&log, || drop(sysfs.vf(vf))));

        let claims = work.join(format!("claims-{pfs}"));
        let allocator = Allocator::new(&claims, plain.clone()).map_err(|e| e.to_string())?;
        let ns = NsRef::stat(work).map_err(|e| e.to_string())?;
        let holder = Holder::new(ns.clone(), "bench");
        let others = Holder::new(ns, "other pods");
        for index in 0..VFS_PER_PF / 2 {
            let addr = last.vf_addr(index).ok_or("a VF of the last PF")?;
            allocator.claim(addr, &others).map_err(|e| e.to_string())?;
        }
        free.times.push(per_call(|| {
            let claim = allocator.claim_free(&pf_name, &holder).expect("a free VF");
            allocator.release(claim.vf.addr, &holder).expect("released");
        }));
        let observed = Allocator::new(&claims, sysfs.clone()).map_err(|e| e.to_string())?;
        let mut claimed = None;
        let n = calls(&log, || {
            claimed = observed.claim_free(&pf_name, &holder).ok();
        });
        let claimed = claimed.ok_or("no free VF")?;
        observed
            .release(claimed.vf.addr, &holder)
            .map_err(|e| e.to_string())?;
        push_calls(&mut free, n);
    }
    let sizes: Vec<String> = TREES
        .iter()
        .map(|n| format!("{n} PF{}", if *n == 1 { "" } else { "s" }))
        .collect();
    print_table(
        &format!("discovery over fake sysfs trees, {VFS_PER_PF} VFs per PF"),
        &sizes,
        &[inventory, by_addr, free],
    );
    Ok(())
}

fn push_calls(row: &mut Row, n: usize) {
    row.calls.get_or_insert_with(Vec::new).push(n);
}

const SRIOV_CONF: &[u8] = include_bytes!("../../cniconf/tests/data/readme-sriov-all-fields.json");
const BOND_CONF: &[u8] = include_bytes!("../../cniconf/tests/data/seed-004-bond.json");
/// A bond's result as the plugin prints it: the bond, two ports, an IPv4
/// and an IPv6 address, routes and DNS.
const RESULT: &str = r#"{"cniVersion":"1.1.0",
 "interfaces":[{"name":"bond0","mac":"02:00:5e:10:00:01","sandbox":"/run/netns/pod"},
  {"name":"net1","mac":"02:00:5e:10:00:01","sandbox":"/run/netns/pod"},
  {"name":"net2","mac":"02:00:5e:10:00:01","sandbox":"/run/netns/pod"}],
 "ips":[{"address":"192.0.2.10/24","gateway":"192.0.2.1","interface":0},
  {"address":"2001:db8::10/64","gateway":"2001:db8::1","interface":0}],
 "routes":[{"dst":"0.0.0.0/0"},{"dst":"::/0"}],
 "dns":{"nameservers":["192.0.2.53"],"search":["example.org"]}}"#;

fn configs() -> Result<(), String> {
    SriovConf::from_slice(SRIOV_CONF).map_err(|e| e.to_string())?;
    BondConf::from_slice(BOND_CONF).map_err(|e| e.to_string())?;
    let result = CniResult::from_slice(RESULT.as_bytes()).map_err(|e| e.to_string())?;
    let old: CniVersion = "0.3.1".parse().map_err(|_| "0.3.1 is a version")?;
    let rows = [
        (
            "parse an sriov configuration (every field)",
            per_call(|| drop(SriovConf::from_slice(SRIOV_CONF))),
        ),
        (
            "parse seed 004's bond configuration",
            per_call(|| drop(BondConf::from_slice(BOND_CONF))),
        ),
        (
            "read a 1.1.0 result (3 interfaces, 2 IPs)",
            per_call(|| drop(CniResult::from_slice(RESULT.as_bytes()))),
        ),
        (
            "convert it to 0.3.1 and write it",
            per_call(|| drop(result.to_version(old).to_vec())),
        ),
    ];
    println!("configurations and results");
    for (what, took) in rows {
        println!("  {what:<44}{:>12}", time(took));
    }
    println!();
    Ok(())
}

fn key(network: &str, i: usize) -> Result<Key, String> {
    let id: ContainerId = format!("bench-{i:06}")
        .parse()
        .map_err(|e| format!("{e:?}"))?;
    Key::new(network, &id, name("net1")).map_err(|e| e.to_string())
}

fn journal(work: &Path) -> Result<(), String> {
    let network = "bench";
    let mut rows = [
        ("write a record (atomic, synced)", Vec::new()),
        ("read a record", Vec::new()),
        ("take and release an attachment's lock", Vec::new()),
        ("list the network's records (GC)", Vec::new()),
    ];
    for n in JOURNALS {
        let journal =
            Journal::open(&work.join(format!("journal-{n}"))).map_err(|e| e.to_string())?;
        let netns = Some(work.join("netns"));
        for i in 0..n {
            let key = key(network, i)?;
            journal
                .save(&key, &Record::new(&key, "sriov", netns.clone()))
                .map_err(|e| e.to_string())?;
        }
        let key = key(network, n / 2)?;
        let record = Record::new(&key, "sriov", netns.clone());
        rows[0]
            .1
            .push(per_call(|| journal.save(&key, &record).expect("saved")));
        rows[1]
            .1
            .push(per_call(|| drop(journal.load(&key).expect("read"))));
        rows[2]
            .1
            .push(per_call(|| drop(journal.lock(&key).expect("locked"))));
        rows[3].1.push(per_call(|| {
            assert_eq!(journal.list(network).expect("listed").len(), n);
        }));
    }
    let sizes: Vec<String> = JOURNALS.iter().map(|n| format!("{n} att.")).collect();
    let rows: Vec<Row> = rows
        .into_iter()
        .map(|(what, times)| Row {
            what,
            times,
            calls: None,
        })
        .collect();
    print_table("the attachment journal, one network", &sizes, &rows);
    Ok(())
}

/// Runs every host benchmark in a fresh directory under `work`.
pub fn run(work: &Path) -> Result<(), String> {
    std::fs::create_dir_all(work).map_err(|e| format!("{}: {e}", work.display()))?;
    let outcome = discovery(work)
        .and_then(|()| configs())
        .and_then(|()| journal(work));
    let _ = std::fs::remove_dir_all(work);
    outcome
}
