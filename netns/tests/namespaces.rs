//! Namespace handles: opening, checking, named namespaces, `run`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{root_or_skip, thread_netns_inode, unique};
use netplumb_netns::{Error, NetNs, NETNS_RUN_DIR};

#[test]
fn open_tells_missing_regular_file_and_other_namespace_apart() {
    let file = std::env::temp_dir().join(unique("np-regular-"));
    std::fs::write(&file, b"not a namespace").unwrap();
    let regular = NetNs::open(&file);
    std::fs::remove_file(&file).unwrap();
    match regular {
        Err(Error::NotNamespace { path }) => assert_eq!(path, file),
        other => panic!("regular file: expected NotNamespace, got {other:?}"),
    }

    match NetNs::open("/proc/self/ns/mnt") {
        Err(Error::NotNetNamespace { kind, .. }) => assert_eq!(kind, "mount"),
        other => panic!("mount namespace: expected NotNetNamespace, got {other:?}"),
    }

    let missing = std::env::temp_dir().join(unique("np-missing-"));
    match NetNs::open(&missing) {
        Err(e @ Error::NamespaceGone { .. }) => {
            assert!(e.to_string().contains("is gone"), "{e}");
        }
        other => panic!("missing path: expected NamespaceGone, got {other:?}"),
    }
}

#[test]
fn a_fifo_is_refused_without_blocking() {
    let fifo = std::env::temp_dir().join(unique("np-fifo-"));
    nix::unistd::mkfifo(
        &fifo,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    // On a thread, so that an open that blocks fails the test instead of
    // hanging it.
    std::thread::spawn(move || tx.send(NetNs::open(&path)).unwrap());
    let opened = rx.recv_timeout(std::time::Duration::from_secs(20));
    std::fs::remove_file(&fifo).unwrap();
    match opened {
        Ok(Err(e @ Error::NotNamespace { .. })) => assert!(!e.is_gone(), "{e}"),
        Ok(other) => panic!("expected NotNamespace, got {other:?}"),
        Err(_) => panic!("opening a FIFO blocked"),
    }
}

#[test]
fn gone_means_missing_or_an_unmounted_named_namespace() {
    let missing = NetNs::open(std::env::temp_dir().join(unique("np-missing-"))).unwrap_err();
    assert!(missing.is_gone(), "{missing}");

    // An empty file anywhere else is just not a namespace.
    let empty = std::env::temp_dir().join(unique("np-empty-"));
    std::fs::write(&empty, b"").unwrap();
    let not_ns = NetNs::open(&empty).unwrap_err();
    std::fs::remove_file(&empty).unwrap();
    assert!(matches!(not_ns, Error::NotNamespace { .. }), "{not_ns:?}");
    assert!(!not_ns.is_gone(), "{not_ns}");

    if !root_or_skip("gone_means_missing_or_an_unmounted_named_namespace") {
        return;
    }
    let name = unique("np-gone-");
    let _created = NetNs::create_named(&name).unwrap();
    let _cleanup = scopeguard(&name);
    let path = std::path::Path::new(netplumb_netns::NETNS_RUN_DIR).join(&name);
    // What `ip netns del` or a runtime leaves between its two steps.
    nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH).unwrap();
    let unmounted = NetNs::named(&name).unwrap_err();
    assert!(
        matches!(unmounted, Error::NotNamespace { .. }),
        "{unmounted:?}"
    );
    assert!(unmounted.is_gone(), "{unmounted}");
    // Other errors are not.
    assert!(!NetNs::open("/proc/self/ns/mnt").unwrap_err().is_gone());
}

#[test]
fn current_and_own_pid_are_the_same_namespace() {
    let current = NetNs::current().unwrap();
    let by_pid = NetNs::from_pid(std::process::id()).unwrap();
    assert_eq!(current.id(), by_pid.id());
    assert_eq!(current.id().ino, thread_netns_inode());
    assert!(current.is_current().unwrap());
}

#[test]
fn run_never_moves_the_calling_thread() {
    if !root_or_skip("run_never_moves_the_calling_thread") {
        return;
    }
    let before = thread_netns_inode();
    let ns = NetNs::new_unnamed().unwrap();
    assert_ne!(ns.id().ino, before);

    let inside = ns.run(thread_netns_inode).unwrap();
    assert_eq!(inside, ns.id().ino);
    assert_eq!(thread_netns_inode(), before);

    // Errors come back as values.
    let result: Result<(), String> = ns.run(|| Err("from inside".to_string())).unwrap();
    assert_eq!(result.unwrap_err(), "from inside");
    assert_eq!(thread_netns_inode(), before);

    // Panics come back as panics, with their payload.
    let panicked = catch_unwind(AssertUnwindSafe(|| {
        ns.run(|| panic!("boom inside the namespace")).unwrap();
    }));
    let payload = panicked.unwrap_err();
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"boom inside the namespace")
    );
    assert_eq!(thread_netns_inode(), before);
}

#[test]
fn run_can_borrow_from_the_caller() {
    if !root_or_skip("run_can_borrow_from_the_caller") {
        return;
    }
    let ns = NetNs::new_unnamed().unwrap();
    let mut seen = Vec::new();
    ns.run(|| seen.push(thread_netns_inode())).unwrap();
    assert_eq!(seen, vec![ns.id().ino]);
}

#[test]
fn named_namespace_create_open_remove() {
    if !root_or_skip("named_namespace_create_open_remove") {
        return;
    }
    let name = unique("np-test-");
    let created = NetNs::create_named(&name).unwrap();
    let cleanup = scopeguard(&name);
    // The intended, lasting side effect `ip netns add` has too: the run
    // directory is a shared mount point from now on.
    assert!(run_dir_is_a_shared_mount(), "{NETNS_RUN_DIR} is not shared");

    let opened = NetNs::named(&name).unwrap();
    assert_eq!(opened.id(), created.id());
    assert_ne!(opened.id(), NetNs::current().unwrap().id());
    match NetNs::create_named(&name) {
        Err(Error::NamespaceExists { .. }) => {}
        other => panic!("second create: expected NamespaceExists, got {other:?}"),
    }
    // The namespace created through `create_named` is usable.
    let nl = created.netlink().unwrap();
    assert_eq!(
        nl.links().unwrap().len(),
        1,
        "a fresh namespace has only lo"
    );

    drop(cleanup);
    match NetNs::named(&name) {
        Err(Error::NamespaceGone { .. }) => {}
        other => panic!("after remove: expected NamespaceGone, got {other:?}"),
    }
    match NetNs::remove_named(&name) {
        Err(Error::NamespaceGone { .. }) => {}
        other => panic!("second remove: expected NamespaceGone, got {other:?}"),
    }
    assert!(
        run_dir_is_a_shared_mount(),
        "removing a namespace leaves the run directory shared"
    );
}

/// Whether the mount on [`NETNS_RUN_DIR`] that is on top is a shared one,
/// as `/proc/self/mountinfo` tells.
fn run_dir_is_a_shared_mount() -> bool {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    mountinfo
        .lines()
        .rev()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            (fields.get(4) == Some(&NETNS_RUN_DIR)).then(|| {
                fields[6..]
                    .iter()
                    .take_while(|f| **f != "-")
                    .any(|f| f.starts_with("shared:"))
            })
        })
        .unwrap_or(false)
}

#[test]
fn bad_namespace_names_change_nothing() {
    let prefix = unique("np-bad-");
    let too_long = format!("{prefix}{}", "x".repeat(256));
    let nested = format!("{prefix}/x");
    for bad in [
        "",
        ".",
        "..",
        nested.as_str(),
        "/abs",
        "nul\0",
        too_long.as_str(),
    ] {
        match NetNs::create_named(bad) {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "namespace name"),
            other => panic!("{bad:?}: expected InvalidArgument, got {other:?}"),
        }
        match NetNs::remove_named(bad) {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "namespace name"),
            other => panic!("{bad:?}: expected InvalidArgument, got {other:?}"),
        }
    }
    let run_dir = std::path::Path::new(NETNS_RUN_DIR);
    assert!(!run_dir.join(&prefix).exists(), "no directory was made");
    if let Ok(entries) = std::fs::read_dir(run_dir) {
        for entry in entries {
            let name = entry.unwrap().file_name();
            assert!(
                !name.to_string_lossy().starts_with(&prefix),
                "{name:?} was created"
            );
        }
    }
}

/// Removes the named namespace when dropped, so a failing assertion does
/// not leave it behind.
fn scopeguard(name: &str) -> impl Drop + '_ {
    struct Remove<'a>(&'a str);
    impl Drop for Remove<'_> {
        fn drop(&mut self) {
            let _ = NetNs::remove_named(self.0);
        }
    }
    Remove(name)
}
