//! Helpers for the lab tests: the lab's variables, named namespaces that
//! remove themselves, and guards that put VFs back even when a test fails.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use netplumb_netns::NetNs;
use netplumb_vf::testing::comparable_after_restore;
use netplumb_vf::{AttachUndo, Host, IfName, Sysfs, Vf, VfNetdev, VfState};

/// A lab variable; without the lab, fails saying how to run the test.
pub fn lab_var(name: &str) -> String {
    assert!(
        std::env::var_os("NETPLUMB_LAB").is_some(),
        "this test needs the SR-IOV lab: run it through `cargo xtask lab`"
    );
    std::env::var(name).unwrap_or_else(|_| panic!("the lab did not set {name}"))
}

/// The two igb PFs, in PCI order.
pub fn lab_pfs() -> Vec<IfName> {
    lab_var("NETPLUMB_LAB_PFS")
        .split(',')
        .map(|name| name.parse().unwrap())
        .collect()
}

/// The e1000e NIC: a VF as a VM sees it, with no PF.
pub fn lab_vm_nic() -> IfName {
    lab_var("NETPLUMB_LAB_VMNIC").parse().unwrap()
}

/// The host side, in the test's own namespace (the guest's host).
pub fn host() -> Host {
    Host::open(Sysfs::default()).unwrap()
}

/// VF `index` of lab PF `pf`.
pub fn lab_vf(host: &Host, pf: usize, index: u32) -> Vf {
    host.sysfs().vf_by_index(&lab_pfs()[pf], index).unwrap()
}

/// A name unique to this process and call, short enough for a netdev.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// A named namespace (`/run/netns/NAME`), removed when dropped.
pub struct Pod {
    pub name: String,
    pub ns: Option<NetNs>,
}

impl Pod {
    pub fn new(prefix: &str) -> Pod {
        let name = unique(prefix);
        let ns = NetNs::create_named(&name).unwrap();
        Pod { name, ns: Some(ns) }
    }

    pub fn ns(&self) -> &NetNs {
        self.ns.as_ref().expect("the pod's namespace is open")
    }

    /// Deletes the namespace now, as a runtime does when a pod ends: the
    /// name goes, and with the last handle the namespace itself.
    pub fn delete(&mut self) {
        self.ns = None;
        NetNs::remove_named(&self.name).unwrap();
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        if self.ns.take().is_some() {
            let _ = NetNs::remove_named(&self.name);
        }
    }
}

/// Puts a VF back as it was recorded when dropped: detaches it first if a
/// test left it attached. Declare it after the [`Pod`]s it may be moved
/// into, so it runs while they still exist.
pub struct Restore<'a> {
    pub host: &'a Host,
    pub state: VfState,
    pub attached: Option<AttachUndo>,
}

impl<'a> Restore<'a> {
    pub fn new(host: &'a Host, vf: &Vf) -> Restore<'a> {
        Restore {
            host,
            state: host.snapshot(vf).unwrap(),
            attached: None,
        }
    }
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Some(undo) = self.attached.take() {
            if let Err(e) = self.host.detach(&undo) {
                eprintln!("restore guard: detach {}: {e}", self.state.vf);
            }
        }
        if let Err(e) = self.host.restore(&self.state) {
            eprintln!("restore guard: restore {}: {e}", self.state.vf);
        }
    }
}

/// Waits up to 30 s until `pf` has `count` VFs, each with its netdev in
/// the host namespace (igbvf registers them a little after the VFs
/// appear); returns how many are ready.
pub fn wait_for_vf_netdevs(sysfs: &Sysfs, pf: &IfName, count: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = sysfs.pf(pf).map_or(0, |nic| {
            let ready = nic
                .vfs
                .iter()
                .filter(|vf| matches!(vf.netdev, VfNetdev::Host(_)))
                .count();
            if nic.vfs.len() == count {
                ready
            } else {
                0
            }
        });
        if ready == count || Instant::now() >= deadline {
            return ready;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Checks that the VF is back as `before` records it.
pub fn assert_as_before(host: &Host, before: &VfState) {
    let now = host
        .snapshot(&host.sysfs().vf(before.vf.addr).unwrap())
        .unwrap();
    let (was, now) = comparable_after_restore(before, &now);
    assert_eq!(now, was);
}
