//! Helpers for the lab tests: the lab's variables, and guards that put
//! VFs back even when a test fails.

#![allow(dead_code)]

use netplumb_vf::{Host, IfName, Sysfs, Vf, VfState};

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

/// Puts a VF back as it was recorded when dropped.
pub struct Restore<'a> {
    pub host: &'a Host,
    pub state: VfState,
}

impl<'a> Restore<'a> {
    pub fn new(host: &'a Host, vf: &Vf) -> Restore<'a> {
        Restore {
            host,
            state: host.snapshot(vf).unwrap(),
        }
    }
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.host.restore(&self.state) {
            eprintln!("restore guard: restore {}: {e}", self.state.vf);
        }
    }
}
