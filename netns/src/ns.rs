//! Network namespace handles.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::statfs::{fstatfs, NSFS_MAGIC};

use crate::netlink::{open_socket_here, Channel};
use crate::{Error, Netlink};

/// Where named namespaces live, as `ip netns` keeps them.
pub const NETNS_RUN_DIR: &str = "/run/netns";

const THREAD_NS_PATH: &str = "/proc/thread-self/ns/net";

// `_IO(0xb7, 0x3)` from <linux/nsfs.h>: which namespace type an nsfs fd is.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// An open handle on a network namespace.
///
/// The handle keeps the namespace alive: a namespace whose named bind mount
/// was removed still exists while a handle (or a netlink socket created in
/// it) is open.
#[derive(Debug)]
pub struct NetNs {
    fd: OwnedFd,
    path: PathBuf,
    id: NsId,
    /// The fake kernel a test put behind this handle: its clients talk to
    /// it instead of the kernel.
    #[cfg(feature = "test-support")]
    fake: Option<crate::testing::Wire>,
}

/// The identity of a namespace: the device and inode of its nsfs file.
///
/// Two handles refer to the same namespace exactly when their ids are equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NsId {
    /// Device number of the nsfs file.
    pub dev: u64,
    /// Inode number of the nsfs file (what `ls -L -i /proc/self/ns/net` shows).
    pub ino: u64,
}

impl NetNs {
    /// Opens the network namespace at `path` (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`, or any bind mount of one) and checks that it really
    /// is one.
    ///
    /// Errors: [`Error::NamespaceGone`] when the path does not exist,
    /// [`Error::NotNamespace`] when it is not an nsfs file,
    /// [`Error::NotNetNamespace`] when it is a namespace of another type, and
    /// [`Error::OpenNamespace`] for anything else. [`Error::is_gone`] tells
    /// which of these mean the namespace is gone.
    pub fn open(path: impl AsRef<Path>) -> Result<NetNs, Error> {
        let path = path.as_ref();
        // Non-blocking, so that a FIFO at the path is refused as not being
        // a namespace instead of blocking the open until a writer comes.
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(path);
        let file = opened.map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => Error::NamespaceGone {
                path: path.to_path_buf(),
            },
            _ => Error::OpenNamespace {
                path: path.to_path_buf(),
                source,
            },
        })?;
        NetNs::from_fd(OwnedFd::from(file), path)
    }

    /// Opens the network namespace the calling thread is in.
    pub fn current() -> Result<NetNs, Error> {
        NetNs::open(THREAD_NS_PATH)
    }

    /// Opens the network namespace of process `pid` (`/proc/PID/ns/net`).
    pub fn from_pid(pid: u32) -> Result<NetNs, Error> {
        NetNs::open(format!("/proc/{pid}/ns/net"))
    }

    /// Opens the named namespace `name` under [`NETNS_RUN_DIR`].
    pub fn named(name: &str) -> Result<NetNs, Error> {
        NetNs::open(named_path(name)?)
    }

    /// Creates a fresh network namespace with no name: it lives as long as
    /// the returned handle, or any netlink socket created in it, stays open.
    ///
    /// Meant for tests and tools that need a private namespace and no
    /// cleanup. Fails with [`Error::CreateNamespace`] when the kernel
    /// refuses a new namespace (no `CAP_SYS_ADMIN`, or a namespace limit).
    pub fn new_unnamed() -> Result<NetNs, Error> {
        let path = PathBuf::from("(new unnamed namespace)");
        spawn_in(&path, || {
            unshare(CloneFlags::CLONE_NEWNET)
                .map_err(|e| Error::CreateNamespace { source: e.into() })?;
            NetNs::current()
        })?
    }

    /// Creates a named namespace the way `ip netns add NAME` does: a fresh
    /// namespace bind-mounted onto `/run/netns/NAME`.
    ///
    /// Like `ip netns add`, it also makes [`NETNS_RUN_DIR`] a shared mount
    /// point (bind-mounting the directory onto itself first when it is not
    /// a mount point yet), so that namespaces mounted there show up in
    /// every mount namespace that shares it, a container runtime's for
    /// one. That change to the host's mounts is intended and lasts:
    /// [`NetNs::remove_named`] leaves it, as `ip netns del` does.
    ///
    /// Fails with [`Error::NamespaceExists`] when the name is taken; on any
    /// failure no namespace file is left behind. A bad name is refused
    /// before anything is touched.
    pub fn create_named(name: &str) -> Result<NetNs, Error> {
        let path = named_path(name)?;
        make_run_dir_shared()?;
        let created = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o444)
            .open(&path);
        if let Err(source) = created {
            return Err(match source.kind() {
                io::ErrorKind::AlreadyExists => Error::NamespaceExists { path },
                _ => Error::NamedNamespace {
                    action: "create the file for",
                    path,
                    source,
                },
            });
        }
        let mounted = spawn_in(&path, || -> Result<(), Error> {
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| Error::NamedNamespace {
                action: "unshare a new namespace for",
                path: path.clone(),
                source: e.into(),
            })?;
            mount(
                Some(THREAD_NS_PATH),
                &path,
                Some("none"),
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| Error::NamedNamespace {
                action: "bind mount",
                path: path.clone(),
                source: e.into(),
            })
        })
        .and_then(|r| r)
        .and_then(|()| NetNs::open(&path));
        if mounted.is_err() {
            // Leave nothing behind: a stale empty file would later look like
            // a deleted namespace.
            let _ = umount2(&path, MntFlags::MNT_DETACH);
            let _ = std::fs::remove_file(&path);
        }
        mounted
    }

    /// Removes a named namespace the way `ip netns del NAME` does: unmounts
    /// and deletes `/run/netns/NAME`. The namespace itself ends once no
    /// handle, socket or process still refers to it.
    ///
    /// Fails with [`Error::NamespaceGone`] when there is no such name.
    pub fn remove_named(name: &str) -> Result<(), Error> {
        let path = named_path(name)?;
        match umount2(&path, MntFlags::MNT_DETACH) {
            Ok(()) => {}
            Err(nix::errno::Errno::ENOENT) => return Err(Error::NamespaceGone { path }),
            // Not mounted: a leftover file from an interrupted create.
            Err(nix::errno::Errno::EINVAL) => {}
            Err(e) => {
                return Err(Error::NamedNamespace {
                    action: "unmount",
                    path,
                    source: e.into(),
                })
            }
        }
        std::fs::remove_file(&path).map_err(|source| Error::NamedNamespace {
            action: "remove",
            path,
            source,
        })
    }

    /// The path this handle was opened from (used in error messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The namespace's identity.
    pub fn id(&self) -> NsId {
        self.id
    }

    /// True when the calling thread is in this namespace.
    pub fn is_current(&self) -> Result<bool, Error> {
        Ok(current_id()? == self.id)
    }

    /// Runs `f` inside this namespace on a fresh thread that ends afterwards;
    /// the calling thread never changes namespace.
    ///
    /// `f` may borrow from the caller. Its return value comes back as is, so
    /// errors inside `f` come back as values. A panic inside `f` is re-raised
    /// on the calling thread with [`std::panic::resume_unwind`], carrying the
    /// original payload. Returns an error only when the thread cannot be
    /// started or cannot enter the namespace.
    pub fn run<T, F>(&self, f: F) -> Result<T, Error>
    where
        F: FnOnce() -> T + Send,
        T: Send,
    {
        spawn_in(&self.path, || {
            setns(&self.fd, CloneFlags::CLONE_NEWNET).map_err(|e| Error::EnterNamespace {
                path: self.path.clone(),
                source: e.into(),
            })?;
            Ok(f())
        })?
    }

    /// Opens an rtnetlink client bound to this namespace.
    ///
    /// The socket is created on a short-lived thread inside the namespace
    /// (or directly, when the caller is already in it) and keeps the
    /// namespace from then on; the client is usable from any thread.
    pub fn netlink(&self) -> Result<Netlink, Error> {
        let channel = self.open_channel()?;
        Ok(Netlink::new(self.duplicate()?, channel))
    }

    /// Opens a channel to this namespace's kernel: an rtnetlink socket
    /// inside it, or the fake kernel a test made it with.
    pub(crate) fn open_channel(&self) -> Result<Channel, Error> {
        #[cfg(feature = "test-support")]
        if let Some(wire) = &self.fake {
            return Ok(Channel::Fake(wire.clone()));
        }
        let socket = if self.is_current()? {
            open_socket_here()?
        } else {
            self.run(open_socket_here)??
        };
        Ok(Channel::Kernel(socket))
    }

    /// A second handle on the same namespace.
    pub(crate) fn duplicate(&self) -> Result<NetNs, Error> {
        let fd = self.fd.try_clone().map_err(|source| Error::OpenNamespace {
            path: self.path.clone(),
            source,
        })?;
        Ok(NetNs {
            fd,
            path: self.path.clone(),
            id: self.id,
            #[cfg(feature = "test-support")]
            fake: self.fake.clone(),
        })
    }

    fn from_fd(fd: OwnedFd, path: &Path) -> Result<NetNs, Error> {
        let path = path.to_path_buf();
        let open_err = |source: io::Error| Error::OpenNamespace {
            path: path.clone(),
            source,
        };
        let fs = fstatfs(&fd).map_err(|e| open_err(e.into()))?;
        if fs.filesystem_type() != NSFS_MAGIC {
            return Err(Error::NotNamespace { path });
        }
        // SAFETY: NS_GET_NSTYPE takes no argument and only reads the fd,
        // which stays open for the whole call.
        let kind = unsafe { libc::ioctl(fd.as_raw_fd(), NS_GET_NSTYPE as _) };
        if kind < 0 {
            return Err(open_err(io::Error::last_os_error()));
        }
        if kind != libc::CLONE_NEWNET {
            return Err(Error::NotNetNamespace {
                path,
                kind: namespace_kind_name(kind),
            });
        }
        let meta = File::from(fd.try_clone().map_err(open_err)?)
            .metadata()
            .map_err(open_err)?;
        let id = NsId {
            dev: meta.dev(),
            ino: meta.ino(),
        };
        Ok(NetNs {
            fd,
            path,
            id,
            #[cfg(feature = "test-support")]
            fake: None,
        })
    }
}

impl NetNs {
    /// A handle on the calling thread's namespace whose clients talk to
    /// `wire` (a test's fake kernel) instead of the kernel.
    #[cfg(feature = "test-support")]
    pub(crate) fn faked(wire: crate::testing::Wire, path: &str) -> Result<NetNs, Error> {
        let mut ns = NetNs::current()?;
        ns.path = PathBuf::from(path);
        ns.fake = Some(wire);
        Ok(ns)
    }
}

impl AsFd for NetNs {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// True when `path` is what a named namespace leaves behind once its bind
/// mount is gone: an empty regular file directly under [`NETNS_RUN_DIR`],
/// or no file at all any more.
pub(crate) fn is_unmounted_named_namespace(path: &Path) -> bool {
    if path.parent() != Some(Path::new(NETNS_RUN_DIR)) {
        return false;
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.is_file() && meta.len() == 0,
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    }
}

/// The identity of the calling thread's network namespace.
pub fn current_id() -> Result<NsId, Error> {
    let meta = std::fs::metadata(THREAD_NS_PATH).map_err(|source| Error::OpenNamespace {
        path: THREAD_NS_PATH.into(),
        source,
    })?;
    Ok(NsId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}

/// Runs `f` on a fresh scoped thread and returns its result, re-raising a
/// panic on the caller. The thread ends after `f`, so whatever namespace it
/// entered is never reused.
fn spawn_in<T, F>(path: &Path, f: F) -> Result<T, Error>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("netplumb-netns".into())
            .spawn_scoped(scope, f)
            .map_err(|source| Error::Thread {
                path: path.to_path_buf(),
                source,
            })?;
        match handle.join() {
            Ok(value) => Ok(value),
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

fn named_path(name: &str) -> Result<PathBuf, Error> {
    validate_ns_name(name)?;
    Ok(Path::new(NETNS_RUN_DIR).join(name))
}

/// Checks a namespace name the way it will be used: as one file name under
/// [`NETNS_RUN_DIR`].
pub(crate) fn validate_ns_name(name: &str) -> Result<(), Error> {
    let bad = name.is_empty()
        || name.len() > 255
        || name == "."
        || name == ".."
        || name.contains('/')
        || name.contains('\0');
    if bad {
        return Err(Error::InvalidArgument {
            field: "namespace name",
            value: name.to_string(),
            expected: "1 to 255 bytes, no '/' or NUL, not \".\" or \"..\"",
        });
    }
    Ok(())
}

/// Makes [`NETNS_RUN_DIR`] exist and be a shared mount point, as iproute2
/// does, so named namespaces mounted there show up in every mount namespace
/// that shares it.
fn make_run_dir_shared() -> Result<(), Error> {
    let dir = Path::new(NETNS_RUN_DIR);
    let fail = |action: &'static str, source: io::Error| Error::NamedNamespace {
        action,
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("create the directory for", e))?;
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    match mount(None::<&str>, dir, Some("none"), shared, None::<&str>) {
        Ok(()) => return Ok(()),
        // EINVAL: not a mount point yet; make it one by binding it to itself.
        Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => return Err(fail("share the mount of", e.into())),
    }
    mount(
        Some(dir),
        dir,
        Some("none"),
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| fail("bind mount", e.into()))?;
    mount(None::<&str>, dir, Some("none"), shared, None::<&str>)
        .map_err(|e| fail("share the mount of", e.into()))
}

fn namespace_kind_name(kind: libc::c_int) -> &'static str {
    match kind {
        libc::CLONE_NEWNS => "mount",
        libc::CLONE_NEWPID => "pid",
        libc::CLONE_NEWUTS => "uts",
        libc::CLONE_NEWIPC => "ipc",
        libc::CLONE_NEWUSER => "user",
        libc::CLONE_NEWCGROUP => "cgroup",
        libc::CLONE_NEWTIME => "time",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::caps::tests::without_capability;
    use crate::{require_capabilities, Capability};

    #[test]
    fn namespace_names_are_single_path_components() {
        for good in ["pod1", "cni-1234-abcd", "a.b", &"x".repeat(255)] {
            validate_ns_name(good).unwrap();
        }
        for bad in ["", ".", "..", "a/b", "/abs", "nul\0", &"x".repeat(256)] {
            match validate_ns_name(bad) {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "namespace name"),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn named_path_is_under_run_dir() {
        assert_eq!(named_path("pod").unwrap(), Path::new("/run/netns/pod"));
    }

    #[test]
    fn a_refused_new_namespace_is_its_own_error() {
        if require_capabilities(Capability::PLUGIN).is_err() {
            eprintln!("skipped: a_refused_new_namespace_is_its_own_error needs root");
            return;
        }
        without_capability(Capability::SysAdmin, || match NetNs::new_unnamed() {
            Err(e @ Error::CreateNamespace { .. }) => {
                assert_eq!(e.errno(), Some(nix::errno::Errno::EPERM));
                assert_eq!(e.to_string(), "cannot create a new network namespace");
                let source = std::error::Error::source(&e)
                    .expect("the OS error")
                    .to_string();
                assert!(source.contains("not permitted"), "{source}");
            }
            other => panic!("expected CreateNamespace, got {other:?}"),
        });
    }

    #[test]
    fn kind_names() {
        assert_eq!(namespace_kind_name(libc::CLONE_NEWNS), "mount");
        assert_eq!(namespace_kind_name(libc::CLONE_NEWUSER), "user");
        assert_eq!(namespace_kind_name(0), "unknown");
    }
}
