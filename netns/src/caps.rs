//! Up-front capability checks, so a plugin can fail early with a message
//! that names what is missing instead of failing halfway with `EPERM`.

use std::fmt;

use crate::Error;

/// A Linux capability this crate's callers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// `CAP_NET_ADMIN`: change links, addresses and routes.
    NetAdmin,
    /// `CAP_SYS_ADMIN`: enter namespaces (`setns`) and mount named ones.
    SysAdmin,
}

impl Capability {
    /// What a CNI plugin that moves links between namespaces needs.
    pub const PLUGIN: &'static [Capability] = &[Capability::NetAdmin, Capability::SysAdmin];

    fn as_caps(self) -> caps::Capability {
        match self {
            Capability::NetAdmin => caps::Capability::CAP_NET_ADMIN,
            Capability::SysAdmin => caps::Capability::CAP_SYS_ADMIN,
        }
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Capability::NetAdmin => "CAP_NET_ADMIN",
            Capability::SysAdmin => "CAP_SYS_ADMIN",
        })
    }
}

/// Checks that the calling thread's effective set holds every capability in
/// `needed`.
///
/// On failure the error lists all missing capabilities, not just the first.
/// Capabilities are per thread on Linux; call this from the thread that will
/// do the work (threads this crate starts inherit the caller's set).
pub fn require_capabilities(needed: &[Capability]) -> Result<(), Error> {
    let mut missing = Vec::new();
    for &cap in needed {
        let held = caps::has_cap(None, caps::CapSet::Effective, cap.as_caps()).map_err(|e| {
            Error::CapabilityQuery {
                detail: e.to_string(),
            }
        })?;
        if !held && !missing.contains(&cap) {
            missing.push(cap);
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::MissingCapabilities { missing })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn nothing_needed_is_always_held() {
        require_capabilities(&[]).unwrap();
    }

    /// The effective set as the kernel shows it in `/proc`, for
    /// `CAP_NET_ADMIN` (bit 12) and `CAP_SYS_ADMIN` (bit 21).
    fn effective_from_proc() -> (bool, bool) {
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let hex = status
            .lines()
            .find_map(|l| l.strip_prefix("CapEff:"))
            .unwrap()
            .trim();
        let bits = u64::from_str_radix(hex, 16).unwrap();
        (bits & 1 << 12 != 0, bits & 1 << 21 != 0)
    }

    #[test]
    fn the_check_agrees_with_the_kernel() {
        let (net_admin, sys_admin) = effective_from_proc();
        let mut missing = Vec::new();
        if !net_admin {
            missing.push(Capability::NetAdmin);
        }
        if !sys_admin {
            missing.push(Capability::SysAdmin);
        }
        match require_capabilities(Capability::PLUGIN) {
            Ok(()) => assert!(missing.is_empty(), "{missing:?} missing in /proc"),
            Err(Error::MissingCapabilities { missing: said }) => assert_eq!(said, missing),
            Err(other) => panic!("{other}"),
        }
    }

    /// Runs `f` on a thread whose effective set lacks `cap`. Capability
    /// sets are per thread, and threads started from it inherit its set, so
    /// the drop ends with the thread.
    pub(crate) fn without_capability(cap: Capability, f: impl FnOnce() + Send) {
        std::thread::scope(|s| {
            s.spawn(|| {
                caps::drop(None, caps::CapSet::Effective, cap.as_caps()).unwrap();
                f();
            })
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        });
    }

    #[test]
    fn a_dropped_capability_is_named() {
        if require_capabilities(Capability::PLUGIN).is_err() {
            eprintln!("skipped: a_dropped_capability_is_named needs root");
            return;
        }
        without_capability(Capability::SysAdmin, || {
            assert_eq!(effective_from_proc(), (true, false));
            match require_capabilities(Capability::PLUGIN) {
                Err(Error::MissingCapabilities { missing }) => {
                    assert_eq!(missing, vec![Capability::SysAdmin]);
                }
                other => panic!("expected MissingCapabilities, got {other:?}"),
            }
        });
        require_capabilities(Capability::PLUGIN).unwrap();
    }
}
