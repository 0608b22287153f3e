use std::fmt;
use std::path::PathBuf;

use netplumb_netns::IfName;
use thiserror::Error;

/// Everything that can go wrong building, inspecting or releasing a bond.
///
/// Every variant names the bond, but [`Error::InvalidOption`], which comes
/// from parsing an option's value before there is a bond. Those about one
/// port name the port, those about a namespace name it, and those from the
/// kernel name the step and carry the kernel's error, extended-ack text
/// included.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A bond option's value is not one the kernel knows. Parsing a value
    /// ([`Mode`](crate::Mode), [`FailOverMac`](crate::FailOverMac),
    /// [`XmitHashPolicy`](crate::XmitHashPolicy)) knows no bond, so this
    /// names the option instead.
    #[error("{option}: {value:?} is not valid, expected {expected}")]
    InvalidOption {
        /// The option, by its kernel name.
        option: &'static str,
        /// The value as it was written.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// The settings do not fit each other, the ports, or what the kernel accepts.
    #[error("bond {bond}: {reason}")]
    InvalidConfig {
        /// The bond's name.
        bond: IfName,
        /// What is wrong, naming the option or port.
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
    #[error("bond {bond}: cannot read the links of namespace {}: {source}", namespace.display())]
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
    #[error("bond {bond}: {step}{}: {source}", OnPort(port.as_ref()))]
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
    /// failed too: some of them may be left in place.
    #[error("{failure}; undoing what was done also failed: {}", List(undo))]
    UndoFailed {
        /// The step that failed first.
        failure: Box<Error>,
        /// What went wrong while undoing.
        undo: Vec<Error>,
    },
    /// Release did everything it could, but some steps failed.
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
        bond: &IfName,
        ns: &netplumb_netns::NetNs,
        source: netplumb_netns::Error,
    ) -> Error {
        Error::LookUp {
            bond: bond.clone(),
            namespace: ns.path().to_path_buf(),
            source: Box::new(source),
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

struct List<'a>(&'a [Error]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn kernel(errno: i32, ext_ack: Option<&str>) -> netplumb_netns::Error {
        // The netns error as its client builds it from an NLMSG_ERROR.
        netplumb_netns::Error::Kernel {
            op: "raw".into(),
            link: Some("net2".into()),
            errno,
            ext_ack: ext_ack.map(String::from),
            attribute: None,
        }
    }

    #[test]
    fn kernel_errors_name_bond_step_port_and_ext_ack() {
        let e = Error::Netlink {
            bond: name("bond0"),
            step: Step::Enslave,
            port: Some(name("net2")),
            source: Box::new(kernel(1, Some("Device can not be enslaved while up"))), // EPERM
        };
        let text = e.to_string();
        assert!(
            text.starts_with("bond bond0: enslave port net2: "),
            "{text}"
        );
        assert!(
            text.ends_with("kernel says: Device can not be enslaved while up"),
            "{text}"
        );
        assert_eq!(e.step(), Some(Step::Enslave));
        assert_eq!(e.port(), Some(&name("net2")));
        assert!(e.netlink_error().is_some());

        let no_port = Error::Netlink {
            bond: name("bond0"),
            step: Step::CreateBond,
            port: None,
            source: Box::new(kernel(95, Some("Unknown device type"))),
        };
        assert!(no_port
            .to_string()
            .starts_with("bond bond0: create the bond: "));
    }

    #[test]
    fn undo_failures_keep_the_first_failure_in_front() {
        let failure = Error::Netlink {
            bond: name("bond0"),
            step: Step::Enslave,
            port: Some(name("net2")),
            source: Box::new(kernel(99, None)),
        };
        let undo = vec![Error::Netlink {
            bond: name("bond0"),
            step: Step::RestorePort,
            port: Some(name("net1")),
            source: Box::new(kernel(16, None)),
        }];
        let e = Error::UndoFailed {
            failure: Box::new(failure),
            undo,
        };
        let text = e.to_string();
        assert!(text.starts_with("bond bond0: enslave port net2"), "{text}");
        assert!(
            text.contains("undoing what was done also failed: bond bond0: restore port net1"),
            "{text}"
        );
        assert_eq!(e.step(), Some(Step::Enslave));
        assert_eq!(e.port(), Some(&name("net2")));
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
                Error::HomeNeeded {
                    bond: name("bond0"),
                    port: name("net2"),
                },
            ],
            missing: vec![],
        };
        let text = e.to_string();
        assert!(
            text.contains("\"net1\" came from another namespace"),
            "{text}"
        );
        assert!(
            text.ends_with(
                "; bond bond0: port \"net2\" came from another namespace; \
             pass that namespace as `home` to put it back"
            ),
            "{text}"
        );
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
        assert!(
            e.to_string()
                .starts_with("bond bond0: cannot read the links of namespace /run/netns/pod1: "),
            "{e}"
        );
        assert_eq!(e.step(), Some(Step::LookUp));
        assert_eq!(e.netlink_error().and_then(|n| n.errno()), Some(16));
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
}
