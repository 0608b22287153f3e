//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use netplumb_bond::{IfName, LinkInfo, MacAddr};
use netplumb_netns::Netlink;

/// True when running as root; otherwise prints the skip line the test
/// conventions ask for.
pub fn root_or_skip(test: &str) -> bool {
    if effective_uid_is_root() {
        true
    } else {
        eprintln!("skipped: {test} needs root");
        false
    }
}

fn effective_uid_is_root() -> bool {
    // /proc/self/status: "Uid: real effective saved fs".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// `text` as an interface name.
pub fn n(text: &str) -> IfName {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} as an interface name: {e}"))
}

/// A name unique to this process and call: `prefix` + pid + counter, at
/// most 15 bytes for a prefix of up to 3.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 10_000_000)
}

/// What release must put back on a link, as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub name: IfName,
    pub mac: Option<MacAddr>,
    pub mtu: u32,
    pub up: bool,
    pub controller: Option<u32>,
}

impl From<&LinkInfo> for Snapshot {
    fn from(l: &LinkInfo) -> Snapshot {
        Snapshot {
            name: l.name,
            mac: l.mac,
            mtu: l.mtu,
            up: l.is_up(),
            controller: l.controller,
        }
    }
}

/// The named links' snapshots, read through `nl`.
pub fn snapshots(nl: &Netlink, names: &[&str]) -> Vec<Snapshot> {
    names
        .iter()
        .map(|n| Snapshot::from(&nl.link(*n).unwrap_or_else(|e| panic!("{n}: {e}"))))
        .collect()
}

/// Every link's name in the namespace of `nl`, sorted.
pub fn link_names(nl: &Netlink) -> Vec<String> {
    let mut names: Vec<String> = nl
        .links()
        .unwrap()
        .into_iter()
        .map(|l| l.name.to_string())
        .collect();
    names.sort();
    names
}
