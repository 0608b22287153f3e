use std::fmt;
use std::path::PathBuf;

use netplumb_types::{BondOption, Chain, ErrorKind, IfName};
use thiserror::Error;

/// Everything that can go wrong building, inspecting or releasing a bond.
///
/// Every variant names the bond. Those about one port name the port,
/// those about a namespace name it, and those from the kernel name the
/// step and carry the kernel's error, extended-ack text included, as their
/// [`source`](std::error::Error::source): as everywhere in netplumb, a
/// message never repeats its source's (print the chain, e.g. with
/// [`Chain`](netplumb_types::Chain), for the whole story). [`Error::kind`]
/// classes it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The bond's options do not fit each other, the mode or the ports, by
    /// the rules of [`BondOptions::check`](netplumb_types::BondOptions::check).
    #[error("bond {bond}: {option}: {problem}")]
    InvalidOption {
        /// The bond's name.
        bond: IfName,
        /// The option at fault.
        option: BondOption,
        /// What is wrong, and what would be right.
        problem: String,
    },
    /// The bond's own settings (name, MTU, MAC) do not fit the ports or
    /// what the kernel accepts, or a port cannot be a bond port.
    #[error("bond {bond}: {reason}")]
    InvalidConfig {
        /// The bond's name.
        bond: IfName,
        /// What is wrong, naming the setting or port.
        reason: String,
    },
    /// A port is not in the namespace it was expected in.
    #[error("bond {bond}: port {port:?} does not exist in the {namespace} namespace")]
    PortNotFound {
        /// The bond's name.
        bond: IfName,
        /// The missing port.
        port: IfName,
        /// `"pod"` or `"home"`: where it was looked for.
        namespace: &'static str,
    },
    /// A port is already a port of a bond, bridge or other controller.
    #[error(
        "bond {bond}: port {port:?} already has a controller (ifindex {controller}); \
         release it from there first"
    )]
    PortInUse {
        /// The bond's name.
        bond: IfName,
        /// The port.
        port: IfName,
        /// The interface index of its controller.
        controller: u32,
    },
    /// A link with this name already exists in the namespace the bond or a
    /// port would go to.
    #[error("bond {bond}: a link named {name:?} already exists in the pod namespace")]
    NameTaken {
        /// The bond's name.
        bond: IfName,
        /// The name that is taken: the bond's, or a port's that would be moved in.
        name: IfName,
    },
    /// The links of a namespace could not be read.
    #[error("bond {bond}: cannot read the links of namespace {}", namespace.display())]
    LookUp {
        /// The bond's name.
        bond: IfName,
        /// The namespace, by the path it was opened from.
        namespace: PathBuf,
        /// The netlink or namespace error (boxed: it is large).
        #[source]
        source: Box<netplumb_netns::Error>,
    },
    /// The kernel refused a step, or the netlink socket failed.
    #[error("bond {bond}: {step}{}", OnPort(port.as_ref()))]
    Netlink {
        /// The bond's name.
        bond: IfName,
        /// What was being done.
        step: Step,
        /// The port it was done to, if the step is about one.
        port: Option<IfName>,
        /// The kernel's error, with its extended-ack text (boxed: it is
        /// large, and errors travel by value).
        #[source]
        source: Box<netplumb_netns::Error>,
    },
    /// A step of creating the bond failed, and undoing the steps before it
    /// failed too: some of them may be left in place. The message holds
    /// each error with its sources.
    #[error(
        "{}; undoing what was done also failed: {}",
        Chain(failure.as_ref()),
        List(undo)
    )]
    UndoFailed {
        /// The step that failed first.
        failure: Box<Error>,
        /// What went wrong while undoing.
        undo: Vec<Error>,
    },
    /// Release did everything it could, but some steps failed. The message
    /// holds each failure with its sources.
    #[error(
        "bond {bond}: release left work undone: {}{}",
        List(failures),
        Missing(missing)
    )]
    ReleaseIncomplete {
        /// The bond's name.
        bond: IfName,
        /// Each step that failed.
        failures: Vec<Error>,
        /// The ports that were not found, as in
        /// [`Released::missing`](crate::Released::missing).
        missing: Vec<IfName>,
    },
    /// A port came from another namespace and must go back there, but no
    /// such namespace was given.
    #[error(
        "bond {bond}: port {port:?} came from another namespace; \
         pass that namespace as `home` to put it back"
    )]
    HomeNeeded {
        /// The bond's name.
        bond: IfName,
        /// The port.
        port: IfName,
    },
    /// There is no link with the bond's name.
    #[error("bond {bond}: no such link")]
    NoSuchBond {
        /// The name looked for.
        bond: IfName,
    },
    /// The link with the bond's name is not a bond.
    #[error("bond {bond}: the link is not a bond but {}", kind.as_deref().unwrap_or("a device without a kind"))]
    NotABond {
        /// The name looked for.
        bond: IfName,
        /// The link's kind (`IFLA_INFO_KIND`), if it has one.
        kind: Option<String>,
    },
    /// The kernel described the bond in a way this crate cannot read.
    #[error("bond {bond}: cannot read the kernel's description: {detail}")]
    Decode {
        /// The bond's name.
        bond: IfName,
        /// What was wrong, naming the attribute.
        detail: String,
    },
}

impl Error {
    /// Reading the links of `ns` failed with `source`.
    pub(crate) fn lookup(
        bond: IfName,
        ns: &netplumb_netns::NetNs,
        source: netplumb_netns::Error,
    ) -> Error {
        Error::LookUp {
            bond,
            namespace: ns.path().to_path_buf(),
            source: Box::new(source),
        }
    }

    /// [`BondOptions::check`](netplumb_types::BondOptions::check) refused
    /// the options of `bond` with `error`.
    pub(crate) fn invalid_options(bond: IfName, error: netplumb_types::Error) -> Error {
        match error {
            netplumb_types::Error::BondOption { option, problem } => Error::InvalidOption {
                bond,
                option,
                problem,
            },
            // The check fails with BondOption only; should that change, the
            // text still reaches the caller.
            other => Error::InvalidConfig {
                bond,
                reason: other.to_string(),
            },
        }
    }

    /// The class of the error: [`Invalid`](ErrorKind::Invalid) for settings
    /// refused before the kernel was asked (and a port whose home was not
    /// given), [`NotFound`](ErrorKind::NotFound) for a port or bond that is
    /// not there (or a link of the bond's name that is no bond),
    /// [`AlreadyExists`](ErrorKind::AlreadyExists) for a name taken,
    /// [`Busy`](ErrorKind::Busy) for a port held by another controller; a
    /// kernel or namespace failure has its netns error's class, and an
    /// error listing others the class of the first.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidOption { .. }
            | Error::InvalidConfig { .. }
            | Error::HomeNeeded { .. } => ErrorKind::Invalid,
            Error::PortNotFound { .. } | Error::NoSuchBond { .. } | Error::NotABond { .. } => {
                ErrorKind::NotFound
            }
            Error::NameTaken { .. } => ErrorKind::AlreadyExists,
            Error::PortInUse { .. } => ErrorKind::Busy,
            Error::LookUp { source, .. } | Error::Netlink { source, .. } => source.kind(),
            Error::UndoFailed { failure, .. } => failure.kind(),
            Error::ReleaseIncomplete { failures, .. } => {
                failures.first().map_or(ErrorKind::Other, Error::kind)
            }
            Error::Decode { .. } => ErrorKind::Other,
        }
    }

    /// The step a kernel error happened in, looking through
    /// [`Error::UndoFailed`] to the failure that started it.
    pub fn step(&self) -> Option<Step> {
        match self {
            Error::Netlink { step, .. } => Some(*step),
            Error::LookUp { .. } => Some(Step::LookUp),
            Error::UndoFailed { failure, .. } => failure.step(),
            _ => None,
        }
    }

    /// The port the error is about, if it is about one.
    pub fn port(&self) -> Option<&IfName> {
        match self {
            Error::Netlink { port, .. } => port.as_ref(),
            Error::PortNotFound { port, .. }
            | Error::PortInUse { port, .. }
            | Error::HomeNeeded { port, .. } => Some(port),
            Error::UndoFailed { failure, .. } => failure.port(),
            _ => None,
        }
    }

    /// The underlying netns error of a kernel failure.
    pub fn netlink_error(&self) -> Option<&netplumb_netns::Error> {
        match self {
            Error::Netlink { source, .. } | Error::LookUp { source, .. } => Some(source),
            Error::UndoFailed { failure, .. } => failure.netlink_error(),
            _ => None,
        }
    }
}

/// One step of building, inspecting or releasing a bond, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Step {
    /// Reading the links of a namespace.
    LookUp,
    /// Moving a port into the bond's namespace.
    MovePortIn,
    /// Creating the bond with its options.
    CreateBond,
    /// Setting a port down, which the kernel requires before enslaving it.
    PortDown,
    /// Making a port a port of the bond.
    Enslave,
    /// Setting the bond up.
    BondUp,
    /// Deleting the bond.
    DeleteBond,
    /// Putting a port back as it was: no controller, its MAC, MTU, up
    /// state and namespace.
    RestorePort,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Step::LookUp => "look up links",
            Step::MovePortIn => "move port into the pod namespace",
            Step::CreateBond => "create the bond",
            Step::PortDown => "set port down before enslaving it",
            Step::Enslave => "enslave port",
            Step::BondUp => "set the bond up",
            Step::DeleteBond => "delete the bond",
            Step::RestorePort => "restore port",
        })
    }
}

struct OnPort<'a>(Option<&'a IfName>);

impl fmt::Display for OnPort<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(port) => write!(f, " {port}"),
            None => Ok(()),
        }
    }
}

struct Missing<'a>(&'a [IfName]);

impl fmt::Display for Missing<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return Ok(());
        }
        write!(f, "; ports not found: {}", crate::config::joined(self.0))
    }
}

/// Errors that are not a source, each with its sources, as one line.
struct List<'a>(&'a [Error]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}", Chain(e))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn kernel(errno: i32, ext_ack: Option<&str>) -> netplumb_netns::Error {
        // The netns error as its client builds it from an NLMSG_ERROR.
        netplumb_netns::Error::Kernel {
            op: "set controller #9".into(),
            link: Some("net2".into()),
            errno,
            ext_ack: ext_ack.map(String::from),
            attribute: None,
        }
    }

    fn netlink(step: Step, port: Option<&str>, errno: i32) -> Error {
        Error::Netlink {
            bond: name("bond0"),
            step,
            port: port.map(name),
            source: Box::new(kernel(errno, None)),
        }
    }

    #[test]
    fn kernel_errors_name_bond_step_and_port_and_keep_the_kernels_error() {
        let e = Error::Netlink {
            bond: name("bond0"),
            step: Step::Enslave,
            port: Some(name("net2")),
            source: Box::new(kernel(1, Some("Device can not be enslaved while up"))), // EPERM
        };
        assert_eq!(e.to_string(), "bond bond0: enslave port net2");
        let whole = Chain(&e).to_string();
        assert!(
            whole.starts_with("bond bond0: enslave port net2: set controller #9 on link net2: "),
            "{whole}"
        );
        assert!(
            whole.ends_with("kernel says: Device can not be enslaved while up"),
            "{whole}"
        );
        assert_eq!(e.step(), Some(Step::Enslave));
        assert_eq!(e.port(), Some(&name("net2")));
        assert!(e.netlink_error().is_some());
        assert_eq!(e.kind(), ErrorKind::Refused);

        let no_port = netlink(Step::CreateBond, None, 95);
        assert_eq!(no_port.to_string(), "bond bond0: create the bond");
    }

    #[test]
    fn no_message_repeats_its_source() {
        let errors = [
            netlink(Step::Enslave, Some("net2"), 1),
            netlink(Step::CreateBond, None, 95),
            Error::LookUp {
                bond: name("bond0"),
                namespace: "/run/netns/pod1".into(),
                source: Box::new(kernel(16, Some("busy here"))),
            },
        ];
        for e in &errors {
            let source = e.source().expect("has a source").to_string();
            assert!(!e.to_string().contains(&source), "{e} repeats {source}");
        }
        // Every other variant has no source to repeat.
        let sourceless = [
            Error::InvalidOption {
                bond: name("bond0"),
                option: BondOption::Primary,
                problem: "x".into(),
            },
            Error::InvalidConfig {
                bond: name("bond0"),
                reason: "x".into(),
            },
            Error::UndoFailed {
                failure: Box::new(netlink(Step::Enslave, Some("net2"), 1)),
                undo: vec![],
            },
            Error::ReleaseIncomplete {
                bond: name("bond0"),
                failures: vec![netlink(Step::RestorePort, Some("net1"), 16)],
                missing: vec![],
            },
        ];
        for e in &sourceless {
            assert!(e.source().is_none(), "{e:?}");
        }
    }

    #[test]
    fn listed_errors_appear_whole_and_once() {
        let failure = netlink(Step::Enslave, Some("net2"), 99);
        let undo = netlink(Step::RestorePort, Some("net1"), 16);
        let (failure_text, undo_text) = (Chain(&failure).to_string(), Chain(&undo).to_string());
        let e = Error::UndoFailed {
            failure: Box::new(failure),
            undo: vec![undo],
        };
        let text = e.to_string();
        assert_eq!(
            text,
            format!("{failure_text}; undoing what was done also failed: {undo_text}")
        );
        assert!(text.contains("Device or resource busy"), "{text}");
        assert_eq!(text.matches(&failure_text).count(), 1, "{text}");
        assert_eq!(Chain(&e).to_string(), text, "no source to add");
        assert_eq!(e.step(), Some(Step::Enslave));
        assert_eq!(e.port(), Some(&name("net2")));
        assert_eq!(e.kind(), ErrorKind::Refused, "the failure's: EADDRNOTAVAIL");
    }

    #[test]
    fn release_failures_are_all_listed() {
        let mut e = Error::ReleaseIncomplete {
            bond: name("bond0"),
            failures: vec![
                Error::HomeNeeded {
                    bond: name("bond0"),
                    port: name("net1"),
                },
                netlink(Step::RestorePort, Some("net2"), 16),
            ],
            missing: vec![],
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "bond bond0: release left work undone: bond bond0: port \"net1\" came from \
                 another namespace; pass that namespace as `home` to put it back; "
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "; bond bond0: restore port net2: set controller #9 on link net2: \
                 Device or resource busy (os error 16)"
            ),
            "{text}"
        );
        assert_eq!(e.kind(), ErrorKind::Invalid, "the first failure's kind");
        if let Error::ReleaseIncomplete { missing, .. } = &mut e {
            missing.extend([name("net3"), name("net4")]);
        }
        assert!(
            e.to_string().ends_with("; ports not found: net3, net4"),
            "{e}"
        );
    }

    #[test]
    fn a_namespace_that_cannot_be_read_is_named() {
        let e = Error::LookUp {
            bond: name("bond0"),
            namespace: "/run/netns/pod1".into(),
            source: Box::new(kernel(16, None)),
        };
        assert_eq!(
            e.to_string(),
            "bond bond0: cannot read the links of namespace /run/netns/pod1"
        );
        assert_eq!(e.step(), Some(Step::LookUp));
        assert_eq!(e.kind(), ErrorKind::Busy, "EBUSY");
        assert!(e.netlink_error().is_some());
    }

    #[test]
    fn not_a_bond_says_what_it_is() {
        let e = Error::NotABond {
            bond: name("bond0"),
            kind: Some("veth".into()),
        };
        assert_eq!(e.to_string(), "bond bond0: the link is not a bond but veth");
        let e = Error::NotABond {
            bond: name("bond0"),
            kind: None,
        };
        assert!(e.to_string().ends_with("a device without a kind"));
    }

    #[test]
    fn every_error_has_a_kind() {
        let bond = name("bond0");
        let port = name("net1");
        let cases = [
            (
                Error::invalid_options(
                    bond,
                    netplumb_types::Error::BondOption {
                        option: BondOption::Ports,
                        problem: "1 given".into(),
                    },
                ),
                ErrorKind::Invalid,
            ),
            (
                Error::InvalidConfig {
                    bond,
                    reason: "x".into(),
                },
                ErrorKind::Invalid,
            ),
            (Error::HomeNeeded { bond, port }, ErrorKind::Invalid),
            (
                Error::PortNotFound {
                    bond,
                    port,
                    namespace: "pod",
                },
                ErrorKind::NotFound,
            ),
            (Error::NoSuchBond { bond }, ErrorKind::NotFound),
            (
                Error::NameTaken { bond, name: port },
                ErrorKind::AlreadyExists,
            ),
            (
                Error::PortInUse {
                    bond,
                    port,
                    controller: 3,
                },
                ErrorKind::Busy,
            ),
            (netlink(Step::DeleteBond, None, 19), ErrorKind::NotFound), // ENODEV
            (
                netlink(Step::CreateBond, None, 17),
                ErrorKind::AlreadyExists,
            ), // EEXIST
            (
                Error::UndoFailed {
                    failure: Box::new(Error::NameTaken { bond, name: bond }),
                    undo: vec![netlink(Step::RestorePort, Some("net1"), 16)],
                },
                ErrorKind::AlreadyExists,
            ),
            (
                Error::ReleaseIncomplete {
                    bond,
                    failures: vec![],
                    missing: vec![],
                },
                ErrorKind::Other,
            ),
            (
                Error::Decode {
                    bond,
                    detail: "x".into(),
                },
                ErrorKind::Other,
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e:?}");
        }
    }
}
