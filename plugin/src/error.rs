//! The plugin layer's errors, and the CNI error reply each becomes.

use std::path::PathBuf;
use std::time::Duration;

use netplumb_cniconf::{codes, CniVersion, ErrorReply};
use netplumb_types::{Chain, ErrorKind};

/// netplumb's own CNI error code: the kernel or the system failed a step
/// for a reason that is neither bad input nor someone else holding what
/// was asked for (codes 100 and above are a plugin's own).
pub const KERNEL_FAILURE: u32 = 100;

/// netplumb's own CNI error code: CHECK found the attachment other than
/// ADD left it.
pub const CHECK_FAILED: u32 = 101;

/// Everything that can go wrong in a plugin invocation.
///
/// Messages follow the workspace's convention: what failed, never the
/// source's text again (see [`Chain`]); [`Error::code`] is the CNI code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The environment or configuration, as cniconf read them; its code is
    /// cniconf's.
    #[error(transparent)]
    Cni(#[from] netplumb_cniconf::Error),

    /// A value that goes into a journal's file name is unusable there.
    #[error("invalid {what}")]
    InvalidKey {
        /// What it is, such as `network name`.
        what: &'static str,
        /// What is wrong with it.
        #[source]
        source: netplumb_cniconf::ValueError,
    },

    /// The data directory cannot be used.
    #[error("data directory {}: {reason}", path.display())]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A journal file could not be created, read, written or removed.
    #[error("cannot {action} {}", path.display())]
    JournalIo {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A journal record holds something this plugin cannot read.
    #[error(
        "journal record {} cannot be read: {detail}; it is left as it is",
        path.display()
    )]
    BadRecord {
        /// The record.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// Another invocation on the same attachment held it past the wait.
    #[error(
        "another invocation held this attachment ({}) for {} s",
        path.display(),
        waited.as_secs()
    )]
    AttachmentBusy {
        /// The attachment's lock file.
        path: PathBuf,
        /// How long it was waited for.
        waited: Duration,
    },

    /// The log file cannot be used.
    #[error("logFile {}: {reason}", path.display())]
    LogFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A step of the plugin failed in a kernel crate.
    #[error("{step}")]
    Step {
        /// What the plugin was doing, such as `moving the VF into the pod`.
        step: String,
        /// The class of the kernel crate's error.
        kind: ErrorKind,
        /// Why it failed: a kernel crate's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The configuration asks for something this attachment cannot do.
    #[error("{field}: {problem}")]
    Unsupported {
        /// The configuration field.
        field: String,
        /// Why it cannot be done.
        problem: String,
    },

    /// The delegated IPAM plugin's answer is unusable.
    #[error("the IPAM plugin {plugin}: {problem}")]
    Ipam {
        /// The plugin.
        plugin: String,
        /// What is wrong with its answer.
        problem: String,
    },

    /// CHECK found the attachment other than ADD left it.
    #[error("the attachment is not as ADD left it: {}", differences.join("; "))]
    Check {
        /// Each difference, named.
        differences: Vec<String>,
    },

    /// The attachment exists already: ADD was called twice.
    #[error("{ifname} is already attached to network {network} in container {container_id}")]
    AlreadyAttached {
        /// The network.
        network: String,
        /// The container.
        container_id: String,
        /// The interface.
        ifname: String,
    },

    /// Several steps failed while undoing an attachment; everything else was
    /// done.
    #[error("{}", Multiple(errors))]
    Several {
        /// Each failure, in the order met.
        errors: Vec<Error>,
    },
}

/// What the kernel crates' errors share: a class, from which the CNI code
/// follows.
pub trait KernelError: std::error::Error + Send + Sync + 'static {
    /// The error's class.
    fn kind(&self) -> ErrorKind;
}

impl KernelError for netplumb_vf::Error {
    fn kind(&self) -> ErrorKind {
        netplumb_vf::Error::kind(self)
    }
}

impl KernelError for netplumb_netns::Error {
    fn kind(&self) -> ErrorKind {
        netplumb_netns::Error::kind(self)
    }
}

impl KernelError for netplumb_bond::Error {
    fn kind(&self) -> ErrorKind {
        netplumb_bond::Error::kind(self)
    }
}

impl Error {
    /// `source` failed `step`.
    pub fn step(step: impl Into<String>, source: impl KernelError) -> Error {
        Error::Step {
            step: step.into(),
            kind: source.kind(),
            source: Box::new(source),
        }
    }

    /// A `map_err` adapter for [`Error::step`].
    pub fn at<E: KernelError>(step: &str) -> impl FnOnce(E) -> Error + '_ {
        move |source| Error::step(step, source)
    }

    pub(crate) fn journal_io(
        action: &'static str,
        path: &std::path::Path,
        source: std::io::Error,
    ) -> Error {
        Error::JournalIo {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    /// The CNI error code: cniconf's for what it read; from a kernel
    /// crate's error its class: the pod's namespace gone, 3 (unknown
    /// container); refused before anything was sent or by the driver, or
    /// something the configuration names missing (a device, a port) or
    /// there already (a bond's name), 7 (invalid configuration): the
    /// configuration is what must change; someone else holds it, 11 (try
    /// again later); anything else [`KERNEL_FAILURE`].
    pub fn code(&self) -> u32 {
        match self {
            Error::Cni(e) => e.code(),
            Error::InvalidKey { .. } => codes::INVALID_ENV,
            Error::DataDir { .. } | Error::LogFile { .. } | Error::Unsupported { .. } => {
                codes::INVALID_NETWORK_CONFIG
            }
            Error::JournalIo { .. } | Error::BadRecord { .. } => codes::IO_FAILURE,
            Error::AttachmentBusy { .. } => codes::TRY_AGAIN_LATER,
            Error::Step { kind, source, .. } => match kind {
                _ if is_gone_namespace(&**source) => codes::UNKNOWN_CONTAINER,
                ErrorKind::Invalid
                | ErrorKind::Refused
                | ErrorKind::NotFound
                | ErrorKind::AlreadyExists => codes::INVALID_NETWORK_CONFIG,
                ErrorKind::Busy => codes::TRY_AGAIN_LATER,
                _ => KERNEL_FAILURE,
            },
            Error::Ipam { .. } => codes::DECODING_FAILURE,
            Error::Check { .. } => CHECK_FAILED,
            Error::AlreadyAttached { .. } => codes::INVALID_NETWORK_CONFIG,
            Error::Several { errors } => errors.first().map_or(KERNEL_FAILURE, Error::code),
        }
    }

    /// The error as the CNI error reply a plugin prints: the code, and the
    /// whole chain of causes as the message, in `version`.
    pub fn reply(&self, version: CniVersion) -> ErrorReply {
        if let Error::Cni(e) = self {
            return e.to_reply(version);
        }
        let mut reply = ErrorReply::new(self.code(), Chain(self).to_string());
        reply.cni_version = version.to_string();
        reply
    }
}

/// Whether `error` says a namespace the runtime named is gone.
fn is_gone_namespace(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(netns) = e.downcast_ref::<netplumb_netns::Error>() {
            if netns.is_gone() {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Errors listed one after another, each with its chain.
struct Multiple<'a>(&'a [Error]);

impl std::fmt::Display for Multiple<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", Chain(e))?;
        }
        Ok(())
    }
}

impl From<Error> for ErrorReply {
    fn from(e: Error) -> ErrorReply {
        e.reply(CniVersion::LATEST)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel(errno: i32, ext_ack: &str) -> netplumb_netns::Error {
        netplumb_netns::Error::Kernel {
            op: "set VF 0 settings".into(),
            link: Some("eth0".into()),
            errno,
            ext_ack: Some(ext_ack.into()),
            attribute: None,
        }
    }

    #[test]
    fn kernel_errors_take_the_code_their_class_calls_for() {
        let refused = Error::step("setting trust", kernel(95, "not supported"));
        assert_eq!(refused.code(), codes::INVALID_NETWORK_CONFIG);
        let reply = refused.reply(CniVersion::LATEST);
        assert_eq!(reply.code, 7);
        assert!(reply
            .msg
            .starts_with("setting trust: set VF 0 settings on link eth0: "));
        assert!(
            reply.msg.ends_with("kernel says: not supported"),
            "{}",
            reply.msg
        );
        assert_eq!(
            Error::step("x", kernel(16, "busy")).code(),
            codes::TRY_AGAIN_LATER
        );
        assert_eq!(Error::step("x", kernel(5, "io")).code(), KERNEL_FAILURE);
        let gone = netplumb_netns::Error::NamespaceGone {
            path: "/run/netns/gone".into(),
        };
        assert_eq!(
            Error::step("opening", gone).code(),
            codes::UNKNOWN_CONTAINER
        );
    }

    #[test]
    fn several_failures_are_each_told_once() {
        let e = Error::Several {
            errors: vec![
                Error::step("first", kernel(16, "one")),
                Error::step("second", kernel(5, "two")),
            ],
        };
        let text = e.to_string();
        assert_eq!(text.matches("kernel says: one").count(), 1, "{text}");
        assert_eq!(text.matches("kernel says: two").count(), 1, "{text}");
        assert_eq!(e.code(), codes::TRY_AGAIN_LATER, "the first one's");
    }
}
