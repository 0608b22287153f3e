//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

/// True when the process holds what the root tests need (the plugin
/// capabilities: a root user in a container may lack them); otherwise
/// prints the skip line the test conventions ask for.
pub fn root_or_skip(test: &str) -> bool {
    let held = netplumb_netns::require_capabilities(netplumb_netns::Capability::PLUGIN).is_ok();
    if !held {
        eprintln!("skipped: {test} needs root");
    }
    held
}

/// A name unique to this process and call: `prefix` + pid + counter,
/// at most 15 bytes for a prefix of up to 3.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 10_000_000)
}

/// [`unique`] as an interface name.
pub fn unique_name(prefix: &str) -> netplumb_netns::IfName {
    unique(prefix).parse().expect("a valid name")
}

/// The inode of the calling thread's network namespace.
pub fn thread_netns_inode() -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/thread-self/ns/net").unwrap().ino()
}
