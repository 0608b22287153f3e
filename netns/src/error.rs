//! The crate's one error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

use std::net::IpAddr;
use std::time::Duration;

use ipnetwork::IpNetwork;
use netplumb_types::{ErrorKind, IfName, MacAddr};
use nix::errno::Errno;

use crate::caps::Capability;
use crate::ipconf::IpStep;
use crate::sysctl::{IpFamily, SysctlName};
use crate::LinkRef;

/// Everything that can go wrong in this crate.
///
/// Variants carry what a caller needs to act on or report the failure: which
/// namespace path, which operation on which link, the kernel's errno and its
/// extended-ack text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The namespace file does not exist: the namespace was deleted (for a
    /// pod, the pod is gone) or the path is wrong.
    #[error("network namespace {} is gone: no such file", path.display())]
    NamespaceGone {
        /// The path that was opened.
        path: PathBuf,
    },

    /// The file exists but is not a namespace at all (not on nsfs), e.g. a
    /// regular file, or a `/run/netns` entry whose bind mount was removed.
    #[error(
        "{} is not a namespace file; expected /run/netns/NAME, /proc/PID/ns/net \
         or a bind mount of one",
        path.display()
    )]
    NotNamespace {
        /// The path that was opened.
        path: PathBuf,
    },

    /// The file is a namespace, but of another type (mount, pid, ...).
    #[error("{} is a {kind} namespace, not a network namespace", path.display())]
    NotNetNamespace {
        /// The path that was opened.
        path: PathBuf,
        /// The kind the kernel reported, e.g. `"mount"`.
        kind: &'static str,
    },

    /// Opening or inspecting a namespace file failed for another reason
    /// (permissions, I/O).
    #[error("cannot open network namespace {}", path.display())]
    OpenNamespace {
        /// The path that was opened.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A thread could not enter the namespace (`setns`).
    #[error("cannot enter network namespace {}", path.display())]
    EnterNamespace {
        /// The namespace's path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A named namespace with this name already exists.
    #[error("network namespace {} already exists", path.display())]
    NamespaceExists {
        /// The path that would have been created.
        path: PathBuf,
    },

    /// Creating or removing a named namespace failed.
    #[error("cannot {action} named network namespace {}", path.display())]
    NamedNamespace {
        /// What was being done, e.g. `"create"`, `"bind mount"`, `"remove"`.
        action: &'static str,
        /// The namespace file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// A helper thread could not be started.
    #[error("cannot start a thread for network namespace {}", path.display())]
    Thread {
        /// The namespace the thread was for.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// An argument was rejected before anything was sent to the kernel.
    #[error("invalid {field} {value:?}: {expected}")]
    InvalidArgument {
        /// Which argument, e.g. `"link name"`.
        field: &'static str,
        /// The rejected value.
        value: String,
        /// What would have been accepted.
        expected: &'static str,
    },

    /// A value was refused by its type's rules before anything was sent to
    /// the kernel.
    #[error("invalid {what}")]
    Value {
        /// What the value is, e.g. `"link name"`.
        what: &'static str,
        /// Which rule it breaks.
        #[source]
        source: netplumb_types::Error,
    },

    /// A new, unnamed network namespace could not be created (`unshare`).
    #[error("cannot create a new network namespace")]
    CreateNamespace {
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The netlink socket itself failed (create, send, receive).
    #[error("{}netlink socket: cannot {action}", OpPrefix(op.as_deref(), link.as_deref()))]
    Socket {
        /// What was being done with the socket, e.g. `"send"`.
        action: &'static str,
        /// The operation the socket was used for, e.g. `"set MTU"`; `None`
        /// while the socket itself is being set up.
        op: Option<String>,
        /// The link (name or index) that operation was on, when known.
        link: Option<String>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Moving a link into another namespace and renaming it failed after
    /// the kernel had moved it, and moving it back failed too: the link is
    /// now in `namespace`, named `name_now`, with index `index_now`.
    #[error(
        "move link {link} to network namespace {}: {error}; the link was moved but not \
         renamed, and moving it back failed ({move_back_error}): it is now {name_now} \
         (index {index_now}) in that namespace",
        namespace.display()
    )]
    MovedNotRenamed {
        /// The link as the caller named it.
        link: String,
        /// The namespace the link is in now.
        namespace: PathBuf,
        /// Its name there (its name before the move).
        name_now: IfName,
        /// Its index there.
        index_now: u32,
        /// Why the move and rename failed.
        error: Box<Error>,
        /// Why moving it back failed.
        move_back_error: Box<Error>,
    },

    /// The kernel sent nothing for a request within the client's receive
    /// timeout. The client replaces its socket before the next request.
    #[error("{}the kernel did not answer within {} s", OpPrefix(Some(op), link.as_deref()), waited.as_secs())]
    NoAnswer {
        /// The operation, e.g. `"get link"`.
        op: String,
        /// The link (name or index) the operation was on, if any.
        link: Option<String>,
        /// How long the client waited.
        waited: std::time::Duration,
    },

    /// The kernel rejected a request.
    #[error("{}", kernel_text(op, link.as_deref(), *errno, ext_ack.as_deref(), *attribute))]
    Kernel {
        /// The operation, e.g. `"set MTU"`.
        op: String,
        /// The link (name or index) the operation was on, if any.
        link: Option<String>,
        /// The positive errno the kernel returned.
        errno: i32,
        /// The kernel's extended-ack message, when it sent one.
        ext_ack: Option<String>,
        /// The netlink attribute type the kernel pointed at, when it did.
        attribute: Option<u16>,
    },

    /// A link kept being renamed while something was read by its name.
    #[error("link {index} was renamed each of the {attempts} times its {what} was read")]
    Renamed {
        /// What was being read.
        what: &'static str,
        /// The link's index.
        index: u32,
        /// How many times it was read.
        attempts: u32,
    },

    /// The kernel's reply could not be decoded.
    #[error("malformed netlink reply to {op}: {detail}")]
    Decode {
        /// The operation whose reply was malformed.
        op: String,
        /// What was wrong.
        detail: String,
    },

    /// A dump kept being interrupted by concurrent changes.
    #[error("{op}: dump interrupted by concurrent changes {attempts} times in a row")]
    DumpInterrupted {
        /// The dump operation.
        op: String,
        /// How many times it was tried.
        attempts: u32,
    },

    /// Reading or writing a per-link sysctl failed.
    #[error(
        "cannot {} sysctl {}{}",
        if value.is_some() { "set" } else { "read" },
        SysctlName { family: *family, link, setting },
        value.as_ref().map(|v| format!(" to {v:?}")).unwrap_or_default()
    )]
    Sysctl {
        /// The family whose settings it is in.
        family: IpFamily,
        /// The link (or `all`, `default`).
        link: IfName,
        /// The setting, e.g. `"disable_ipv6"`.
        setting: String,
        /// The value being written; `None` for a read.
        value: Option<String>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// Configuring addresses and routes on a link
    /// ([`NetNs::configure_ip`](crate::NetNs::configure_ip)) failed at
    /// `step`. What the steps before it did is left in place.
    #[error("configure IP on link {link}: {step}")]
    ConfigureIp {
        /// The link being configured.
        link: IfName,
        /// The step that failed (boxed: a route is large).
        step: Box<IpStep>,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },

    /// IPv6 duplicate address detection failed for an address: another
    /// node on the link uses it.
    #[error("address {address} on link {link} failed IPv6 duplicate address detection")]
    DuplicateAddress {
        /// The link.
        link: LinkRef,
        /// The address the kernel marked `IFA_F_DADFAILED`.
        address: IpNetwork,
    },

    /// IPv6 addresses were still tentative (duplicate address detection had
    /// not finished) when the wait ended, on a link that is up and has
    /// carrier.
    #[error(
        "IPv6 addresses on link {link} still tentative after {} ms: {}",
        waited.as_millis(),
        NetworkList(addresses)
    )]
    StillTentative {
        /// The link.
        link: LinkRef,
        /// The addresses still tentative.
        addresses: Vec<IpNetwork>,
        /// How long the wait lasted.
        waited: Duration,
    },

    /// A link on which addresses cannot be announced: it is not Ethernet,
    /// or it has no MAC to announce.
    #[error("cannot announce addresses on link {link}: {}", NotAnnounceableReason(*link_type, *mac))]
    NotAnnounceable {
        /// The link.
        link: IfName,
        /// Its link-layer type (`ARPHRD_*`).
        link_type: u16,
        /// Its link-layer address, when it is a 6-byte one.
        mac: Option<MacAddr>,
    },

    /// Sending a gratuitous ARP or an unsolicited neighbour advertisement
    /// failed.
    #[error("announce {address} on link {link}: cannot {action}")]
    Announce {
        /// The link.
        link: IfName,
        /// The address being announced.
        address: IpAddr,
        /// What failed, e.g. `"send a gratuitous ARP"`.
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },

    /// The calling thread lacks capabilities the caller asked for.
    #[error(
        "missing {}: run as root or grant them to the process",
        CapList(missing)
    )]
    MissingCapabilities {
        /// The capabilities that are not in the effective set.
        missing: Vec<Capability>,
    },

    /// The thread's capability sets could not be read.
    #[error("cannot read capabilities: {detail}")]
    CapabilityQuery {
        /// What went wrong.
        detail: String,
    },
}

impl Error {
    /// The class of the error, for a caller that must decide what it means
    /// (a CNI plugin picking its error code, say). A kernel rejection is
    /// classed by its errno: `ENODEV`, `ENOENT` and `ESRCH` are
    /// [`NotFound`](ErrorKind::NotFound), `EEXIST`
    /// [`AlreadyExists`](ErrorKind::AlreadyExists), `EBUSY` and `EAGAIN`
    /// [`Busy`](ErrorKind::Busy), and the errnos with which drivers refuse
    /// a setting (`EOPNOTSUPP`, `EINVAL`, `ERANGE`, `EPERM`,
    /// `EADDRNOTAVAIL`, `EPROTONOSUPPORT`) [`Refused`](ErrorKind::Refused).
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NamespaceGone { .. } => ErrorKind::NotFound,
            Error::NotNamespace { .. } | Error::NotNetNamespace { .. } => ErrorKind::Invalid,
            Error::InvalidArgument { .. } | Error::Value { .. } => ErrorKind::Invalid,
            Error::NamespaceExists { .. } => ErrorKind::AlreadyExists,
            Error::DumpInterrupted { .. } | Error::Renamed { .. } => ErrorKind::Busy,
            Error::Kernel { errno, .. } => kind_of_errno(Errno::from_raw(*errno)),
            Error::MovedNotRenamed { error, .. } => error.kind(),
            Error::ConfigureIp { source, .. } => source.kind(),
            Error::Sysctl { source, .. } => source
                .raw_os_error()
                .map_or(ErrorKind::Other, |e| kind_of_errno(Errno::from_raw(e))),
            Error::DuplicateAddress { .. } => ErrorKind::AlreadyExists,
            Error::NotAnnounceable { .. } => ErrorKind::Invalid,
            Error::OpenNamespace { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                ErrorKind::NotFound
            }
            _ => ErrorKind::Other,
        }
    }

    /// The kernel's errno, when this error is a kernel rejection or wraps an
    /// OS error.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            Error::Kernel { errno, .. } => Some(Errno::from_raw(*errno)),
            Error::MovedNotRenamed { error, .. } => error.errno(),
            Error::ConfigureIp { source, .. } => source.errno(),
            Error::Sysctl { source, .. } | Error::Announce { source, .. } => {
                source.raw_os_error().map(Errno::from_raw)
            }
            Error::OpenNamespace { source, .. }
            | Error::EnterNamespace { source, .. }
            | Error::NamedNamespace { source, .. }
            | Error::Thread { source, .. }
            | Error::CreateNamespace { source, .. }
            | Error::Socket { source, .. } => source.raw_os_error().map(Errno::from_raw),
            _ => None,
        }
    }

    /// The kernel's extended-ack text, when it sent one with a rejection:
    /// what the driver or the kernel says is wrong, in its own words.
    pub fn ext_ack(&self) -> Option<&str> {
        match self {
            Error::Kernel { ext_ack, .. } => ext_ack.as_deref(),
            Error::MovedNotRenamed { error, .. } => error.ext_ack(),
            Error::ConfigureIp { source, .. } => source.ext_ack(),
            _ => None,
        }
    }

    /// The step of [`NetNs::configure_ip`](crate::NetNs::configure_ip) that
    /// failed, for an [`Error::ConfigureIp`].
    pub fn ip_step(&self) -> Option<&IpStep> {
        match self {
            Error::ConfigureIp { step, .. } => Some(step.as_ref()),
            _ => None,
        }
    }

    /// True when the namespace a path named is gone, as a CNI `DEL` must
    /// treat it: the path does not exist ([`Error::NamespaceGone`]), or it
    /// is an empty regular file under [`NETNS_RUN_DIR`](crate::NETNS_RUN_DIR)
    /// ([`Error::NotNamespace`]), which is what a named namespace leaves
    /// once its bind mount has been removed. For the latter the file is
    /// looked at again.
    pub fn is_gone(&self) -> bool {
        match self {
            Error::NamespaceGone { .. } => true,
            Error::NotNamespace { path } => crate::ns::is_unmounted_named_namespace(path),
            _ => false,
        }
    }

    /// True when the kernel said the link does not exist (`ENODEV`).
    pub fn is_no_such_link(&self) -> bool {
        match self {
            Error::ConfigureIp { source, .. } => source.is_no_such_link(),
            Error::Kernel { .. } => self.errno() == Some(Errno::ENODEV),
            _ => false,
        }
    }

    /// True when the kernel said the object already exists (`EEXIST`).
    pub fn is_already_exists(&self) -> bool {
        match self {
            Error::ConfigureIp { source, .. } => source.is_already_exists(),
            Error::Kernel { .. } => self.errno() == Some(Errno::EEXIST),
            _ => false,
        }
    }
}

/// The class of a kernel rejection with `errno`.
pub(crate) fn kind_of_errno(errno: Errno) -> ErrorKind {
    match errno {
        Errno::ENODEV | Errno::ENOENT | Errno::ESRCH => ErrorKind::NotFound,
        Errno::EEXIST => ErrorKind::AlreadyExists,
        Errno::EBUSY | Errno::EAGAIN => ErrorKind::Busy,
        Errno::EOPNOTSUPP
        | Errno::EINVAL
        | Errno::ERANGE
        | Errno::EPERM
        | Errno::EADDRNOTAVAIL
        | Errno::EPROTONOSUPPORT => ErrorKind::Refused,
        _ => ErrorKind::Other,
    }
}

fn kernel_text(
    op: &str,
    link: Option<&str>,
    errno: i32,
    ext_ack: Option<&str>,
    attribute: Option<u16>,
) -> String {
    use fmt::Write;
    let mut text = String::from(op);
    if let Some(link) = link {
        let _ = write!(text, " on link {link}");
    }
    let _ = write!(text, ": {}", io::Error::from_raw_os_error(errno));
    if let Some(msg) = ext_ack {
        let _ = write!(text, "; kernel says: {msg}");
    }
    if let Some(attr) = attribute {
        let _ = write!(text, " (attribute type {attr})");
    }
    text
}

/// `"OP on link LINK: "`, or nothing when there is no operation.
struct OpPrefix<'a>(Option<&'a str>, Option<&'a str>);

impl fmt::Display for OpPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpPrefix(Some(op), Some(link)) => write!(f, "{op} on link {link}: "),
            OpPrefix(Some(op), None) => write!(f, "{op}: "),
            OpPrefix(None, _) => Ok(()),
        }
    }
}

/// Why a link cannot announce addresses.
struct NotAnnounceableReason(u16, Option<MacAddr>);

impl fmt::Display for NotAnnounceableReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAnnounceableReason(kind, _) if *kind != libc::ARPHRD_ETHER => {
                write!(f, "not an Ethernet link (link type {kind})")
            }
            NotAnnounceableReason(_, Some(mac)) => write!(f, "its MAC is {mac}"),
            NotAnnounceableReason(_, None) => f.write_str("it has no MAC"),
        }
    }
}

/// Networks separated by commas.
struct NetworkList<'a>(&'a [IpNetwork]);

impl fmt::Display for NetworkList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, network) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{network}")?;
        }
        Ok(())
    }
}

struct CapList<'a>(&'a [Capability]);

impl fmt::Display for CapList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, cap) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write!(f, "{cap}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_error_names_op_link_errno_and_ext_ack() {
        let e = Error::Kernel {
            op: "add address 192.0.2.1/24".into(),
            link: Some("eth0".into()),
            errno: libc::EEXIST,
            ext_ack: Some("ipv4: Address already assigned".into()),
            attribute: None,
        };
        let text = e.to_string();
        assert!(
            text.starts_with("add address 192.0.2.1/24 on link eth0: "),
            "{text}"
        );
        assert!(text.contains("File exists"), "{text}");
        assert!(
            text.ends_with("kernel says: ipv4: Address already assigned"),
            "{text}"
        );
        assert!(e.is_already_exists());
        assert!(!e.is_no_such_link());
        assert_eq!(e.errno(), Some(Errno::EEXIST));
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert_eq!(e.ext_ack(), Some("ipv4: Address already assigned"));
    }

    #[test]
    fn kernel_error_without_ext_ack_or_link() {
        let e = Error::Kernel {
            op: "dump links".into(),
            link: None,
            errno: libc::ENODEV,
            ext_ack: None,
            attribute: Some(4),
        };
        let text = e.to_string();
        assert!(text.starts_with("dump links: No such device"), "{text}");
        assert!(text.ends_with("(attribute type 4)"), "{text}");
        assert!(e.is_no_such_link());
    }

    #[test]
    fn socket_error_names_the_operation_and_link() {
        let e = Error::Socket {
            action: "receive",
            op: Some("set MTU".into()),
            link: Some("eth0".into()),
            source: io::Error::from_raw_os_error(libc::ENOBUFS),
        };
        let text = e.to_string();
        assert_eq!(text, "set MTU on link eth0: netlink socket: cannot receive");
        assert_eq!(e.errno(), Some(Errno::ENOBUFS));
        let setup = Error::Socket {
            action: "bind",
            op: None,
            link: None,
            source: io::Error::from_raw_os_error(libc::EPERM),
        };
        assert_eq!(setup.to_string(), "netlink socket: cannot bind");
    }

    #[test]
    fn no_message_repeats_its_source() {
        use std::error::Error as _;
        let io = || io::Error::from_raw_os_error(libc::EACCES);
        let errors = [
            Error::OpenNamespace {
                path: "/run/netns/a".into(),
                source: io(),
            },
            Error::EnterNamespace {
                path: "/run/netns/a".into(),
                source: io(),
            },
            Error::NamedNamespace {
                action: "remove",
                path: "/run/netns/a".into(),
                source: io(),
            },
            Error::Thread {
                path: "/run/netns/a".into(),
                source: io(),
            },
            Error::CreateNamespace { source: io() },
            Error::Socket {
                action: "send",
                op: None,
                link: None,
                source: io(),
            },
            Error::Value {
                what: "link name",
                source: netplumb_types::IfName::new("a b").unwrap_err(),
            },
            Error::Sysctl {
                family: IpFamily::V6,
                link: "net1".parse().unwrap(),
                setting: "disable_ipv6".into(),
                value: Some("0".into()),
                source: io(),
            },
            Error::Announce {
                link: "net1".parse().unwrap(),
                address: "2001:db8::10".parse().unwrap(),
                action: "send a neighbour advertisement",
                source: io(),
            },
            Error::ConfigureIp {
                link: "net1".parse().unwrap(),
                step: Box::new(IpStep::EnableIpv6("lo".parse().unwrap())),
                source: Box::new(Error::Sysctl {
                    family: IpFamily::V6,
                    link: "lo".parse().unwrap(),
                    setting: "disable_ipv6".into(),
                    value: None,
                    source: io(),
                }),
            },
        ];
        for e in errors {
            let source = e.source().expect("has a source").to_string();
            assert!(!e.to_string().contains(&source), "{e} repeats {source}");
        }
    }

    #[test]
    fn moved_not_renamed_says_where_the_link_is() {
        let kernel = |op: &str, errno| Error::Kernel {
            op: op.into(),
            link: Some("#7".into()),
            errno,
            ext_ack: None,
            attribute: None,
        };
        let e = Error::MovedNotRenamed {
            link: "#7".into(),
            namespace: "/run/netns/pod".into(),
            name_now: "eth3".parse().unwrap(),
            index_now: 4,
            error: Box::new(kernel("move link to another namespace", libc::EEXIST)),
            move_back_error: Box::new(kernel("move link back after a failed rename", libc::EBUSY)),
        };
        let text = e.to_string();
        assert!(
            text.starts_with("move link #7 to network namespace /run/netns/pod: "),
            "{text}"
        );
        assert!(
            text.ends_with("it is now eth3 (index 4) in that namespace"),
            "{text}"
        );
        assert!(
            text.contains("File exists") && text.contains("busy"),
            "{text}"
        );
        assert_eq!(e.errno(), Some(Errno::EEXIST), "the move's errno");
    }

    #[test]
    fn sysctl_errors_name_the_sysctl_and_class_by_errno() {
        let odd = IfName::new(b"p\xff1").unwrap();
        let read = Error::Sysctl {
            family: IpFamily::V4,
            link: odd,
            setting: "arp_notify".into(),
            value: None,
            source: io::Error::from_raw_os_error(libc::ENOENT),
        };
        assert_eq!(
            read.to_string(),
            "cannot read sysctl net/ipv4/conf/p\\xff1/arp_notify"
        );
        assert_eq!(read.kind(), ErrorKind::NotFound);
        assert_eq!(read.errno(), Some(Errno::ENOENT));
        let write = Error::Sysctl {
            family: IpFamily::V6,
            link: odd,
            setting: "disable_ipv6".into(),
            value: Some("0".into()),
            source: io::Error::from_raw_os_error(libc::EINVAL),
        };
        assert_eq!(
            write.to_string(),
            "cannot set sysctl net/ipv6/conf/p\\xff1/disable_ipv6 to \"0\""
        );
        assert_eq!(write.kind(), ErrorKind::Refused);
    }

    #[test]
    fn configure_ip_errors_take_their_class_from_the_cause() {
        let e = Error::ConfigureIp {
            link: "net1".parse().unwrap(),
            step: Box::new(IpStep::AddAddress("192.0.2.10/24".parse().unwrap())),
            source: Box::new(Error::Kernel {
                op: "add address 192.0.2.10/24".into(),
                link: Some("#5".into()),
                errno: libc::EEXIST,
                ext_ack: Some("ipv4: Address already assigned".into()),
                attribute: None,
            }),
        };
        assert_eq!(
            e.to_string(),
            "configure IP on link net1: add address 192.0.2.10/24"
        );
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        assert!(e.is_already_exists());
        assert!(!e.is_no_such_link());
        assert_eq!(e.errno(), Some(Errno::EEXIST));
        assert_eq!(e.ext_ack(), Some("ipv4: Address already assigned"));
        assert_eq!(
            e.ip_step(),
            Some(&IpStep::AddAddress("192.0.2.10/24".parse().unwrap()))
        );
    }

    #[test]
    fn dad_errors_name_the_addresses() {
        let dup = Error::DuplicateAddress {
            link: LinkRef::from("net1"),
            address: "2001:db8::10/64".parse().unwrap(),
        };
        assert_eq!(
            dup.to_string(),
            "address 2001:db8::10/64 on link net1 failed IPv6 duplicate address detection"
        );
        assert_eq!(dup.kind(), ErrorKind::AlreadyExists);
        let slow = Error::StillTentative {
            link: LinkRef::Index(5),
            addresses: vec![
                "2001:db8::10/64".parse().unwrap(),
                "fe80::1/64".parse().unwrap(),
            ],
            waited: Duration::from_millis(5010),
        };
        assert_eq!(
            slow.to_string(),
            "IPv6 addresses on link #5 still tentative after 5010 ms: 2001:db8::10/64, fe80::1/64"
        );
        assert_eq!(slow.kind(), ErrorKind::Other);
    }

    #[test]
    fn missing_capabilities_are_all_named() {
        let e = Error::MissingCapabilities {
            missing: vec![Capability::NetAdmin, Capability::SysAdmin],
        };
        assert_eq!(
            e.to_string(),
            "missing CAP_NET_ADMIN and CAP_SYS_ADMIN: run as root or grant them to the process"
        );
    }
}
