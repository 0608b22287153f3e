//! The crate's error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

use netplumb_types::{Chain, ErrorKind};

use crate::{AttachUndo, IfName, PciAddr, VfAttribute, VfId};

/// The device an error is about, as the caller would recognise it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Device {
    /// A PCI function not (yet) known to be a PF or a VF.
    Pci(PciAddr),
    /// A physical function, by PCI address.
    Pf(PciAddr),
    /// A physical function, by its netdev name.
    PfNetdev(IfName),
    /// A virtual function, by PCI address.
    Vf(PciAddr),
    /// A network interface, by name.
    Netdev(IfName),
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Pci(addr) => write!(f, "PCI device {addr}"),
            Device::Pf(addr) => write!(f, "PF {addr}"),
            Device::PfNetdev(name) => write!(f, "PF {name}"),
            Device::Vf(addr) => write!(f, "VF {addr}"),
            Device::Netdev(name) => write!(f, "netdev {name}"),
        }
    }
}

/// Everything that can go wrong in this crate.
///
/// Sysfs errors name the device and the file involved, so that a message
/// alone tells which device and which file to look at; kernel errors name
/// the VF and the [`Step`]. A message never repeats its source: the
/// kernel's errno and extended-ack text, or the OS error, are the
/// [`source`](std::error::Error::source) (see [`Chain`] to print both).
/// [`Error::kind`] classes the error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value its type refuses: a PCI address, an interface name, a MAC.
    /// Its message says what is wrong and what would be right.
    #[error(transparent)]
    Value(#[from] netplumb_types::Error),

    /// A network namespace could not be opened or used outside any one VF:
    /// the host's, or a pod's recorded in an undo record.
    #[error("network namespace {}", path.display())]
    Namespace {
        /// The namespace's path.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<netplumb_netns::Error>,
    },

    /// A setting holds a value the kernel cannot take; nothing was sent.
    #[error("invalid {field} {value}: expected {expected}")]
    InvalidSetting {
        /// The setting, as `ip link` names it (`vlan`, `min_tx_rate`...).
        field: &'static str,
        /// The value given.
        value: String,
        /// What would be right.
        expected: &'static str,
    },

    /// A PF-side setting was asked of a VF whose PF cannot be reached: a VF
    /// inside a VM has no PF at all, and a PF bound to a userspace driver
    /// has no netdev to send the request to.
    #[error("{vf}: cannot {what}: {reason}")]
    NoPf {
        /// The VF.
        vf: VfId,
        /// What was asked.
        what: &'static str,
        /// Why the PF cannot be reached.
        reason: &'static str,
    },

    /// The PF's VF table has no entry for the VF.
    #[error("{vf}: PF {pf} reports {entries} VFs and none with index {index}")]
    NotInVfTable {
        /// The VF.
        vf: VfId,
        /// The PF.
        pf: IfName,
        /// The VF's index.
        index: u32,
        /// How many entries the table has.
        entries: usize,
    },

    /// The driver refused a PF-side setting. Every setting of the same
    /// request applied before it was put back, except those listed in
    /// `not_restored`.
    #[error("{vf}: the PF refused {value}{}", restore_note(not_restored))]
    VfSetting {
        /// The VF.
        vf: VfId,
        /// The refused setting.
        attribute: VfAttribute,
        /// The setting and value asked for, as `ip link` would write them
        /// (`link_state enable`).
        value: String,
        /// The kernel's error: errno and extended-ack text.
        source: Box<netplumb_netns::Error>,
        /// Settings that were applied and could not be put back.
        not_restored: Vec<VfAttribute>,
    },

    /// The VF has no netdev in the host namespace to work on.
    #[error("{vf}: cannot {what}: {reason}")]
    NoNetdev {
        /// The VF.
        vf: VfId,
        /// What was asked.
        what: &'static str,
        /// Where the netdev is instead.
        reason: String,
    },

    /// A netlink step about the VF failed (reading its PF's VF table,
    /// reading its netdev, moving it into or out of a namespace, restoring
    /// its name, MAC or MTU).
    #[error("{vf}: {step}")]
    Kernel {
        /// The VF.
        vf: VfId,
        /// What was being done.
        step: Step,
        /// The kernel's error: errno and extended-ack text.
        source: Box<netplumb_netns::Error>,
    },

    /// Moving the VF's netdev into a pod failed, and bringing it back failed
    /// too: the netdev may still be in the pod. `undo` says where it went
    /// and how it was; [`Host::detach`](crate::Host::detach) with it
    /// finishes the job once what stopped it is gone.
    #[error(
        "{}; bringing it back failed too ({}): its netdev may still be in {}",
        Chain(&**failure),
        Chain(&**undo_error),
        undo.pod.path.display()
    )]
    AttachUndoFailed {
        /// Why the attach failed.
        failure: Box<Error>,
        /// Why bringing the netdev back failed.
        undo_error: Box<Error>,
        /// What undoes the attach.
        undo: Box<AttachUndo>,
    },

    /// The data directory given for allocation records cannot be used.
    #[error("invalid data directory {path:?}: {reason}; expected an absolute path such as /var/lib/cni/netplumb")]
    InvalidDataDir {
        /// The directory given.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A file under the data directory could not be created, locked,
    /// read, written or removed.
    #[error("cannot {action} {}", path.display())]
    State {
        /// What was being done, e.g. `"lock"`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// An allocation record holds something this crate did not write.
    #[error(
        "allocation record {path} is unreadable ({detail}); remove it if no pod holds that VF"
    )]
    BadRecord {
        /// The record.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },

    /// Another process held the VF's allocation lock for longer than the
    /// allocator waits.
    #[error("VF {vf} is busy: its lock {} was held by another process for {} s", path.display(), waited.as_secs())]
    LockTimeout {
        /// The VF.
        vf: PciAddr,
        /// Its lock file.
        path: PathBuf,
        /// How long it was waited for.
        waited: std::time::Duration,
    },

    /// The VF is held by another live holder.
    #[error("VF {vf} is held by {owner} (namespace {ns})", ns = ns.display())]
    VfHeld {
        /// The VF.
        vf: PciAddr,
        /// Its holder's owner text.
        owner: String,
        /// Its holder's namespace path.
        ns: PathBuf,
    },

    /// No VF of the PF is free.
    #[error(
        "no free VF on PF {pf}: of {total} VFs, {held} are held by live pods, {elsewhere} have \
         their netdev in another namespace and {no_netdev} have no netdev"
    )]
    NoFreeVf {
        /// The PF.
        pf: IfName,
        /// How many VFs it has enabled.
        total: u32,
        /// How many are held by live holders.
        held: u32,
        /// How many have their netdev outside the host namespace.
        elsewhere: u32,
        /// How many have no netdev (a userspace driver, or none).
        no_netdev: u32,
    },

    /// Text that is not a hardware address.
    #[error(
        "invalid hardware address {input:?}: expected 1 to 32 two-digit hex bytes separated \
         by ':', like 02:00:5e:10:00:01"
    )]
    InvalidHwAddr {
        /// The text given.
        input: String,
    },

    /// No PCI device has this address.
    #[error("PCI device {addr} not found: {path} does not exist")]
    NoSuchPciDevice {
        /// The address looked up.
        addr: PciAddr,
        /// The sysfs path that is missing.
        path: PathBuf,
    },

    /// No network interface has this name in the namespace sysfs shows.
    #[error("no network interface {name} in the host namespace: {path} does not exist")]
    NoSuchNetdev {
        /// The name looked up.
        name: IfName,
        /// The sysfs path that is missing.
        path: PathBuf,
    },

    /// The interface is not backed by a PCI device (a software device such
    /// as `lo` or a veth, or a device on another bus).
    #[error("netdev {name} is not a PCI device: {path} {}", target_note(target))]
    NotPci {
        /// The interface.
        name: IfName,
        /// Its `device` link.
        path: PathBuf,
        /// Where the link points, when it exists.
        target: Option<PathBuf>,
    },

    /// The device is not a virtual function, nor a NIC that could be one
    /// passed into a VM.
    #[error("{addr} is not a VF: {reason} ({path})")]
    NotVf {
        /// The device.
        addr: PciAddr,
        /// The file that shows it.
        path: PathBuf,
        /// What that file shows.
        reason: &'static str,
    },

    /// The device cannot have VFs.
    #[error("{device} is not an SR-IOV physical function: {reason} ({path})")]
    NotPf {
        /// The device.
        device: Device,
        /// The file that shows it.
        path: PathBuf,
        /// What that file shows.
        reason: &'static str,
    },

    /// The PF has no VF with this index.
    #[error("PF {pf} has no VF {index} (numvfs {num_vfs}): {path} does not exist")]
    NoSuchVf {
        /// The PF.
        pf: IfName,
        /// The index asked for.
        index: u32,
        /// How many VFs the PF has enabled.
        num_vfs: u32,
        /// The PF's `virtfnN` link for that index.
        path: PathBuf,
    },

    /// A VF's `physfn` names a PF none of whose `virtfnN` links lead back.
    #[error("VF {vf}: its PF {pf} has no virtfn link to it (looked in {path})")]
    VfNotListed {
        /// The VF.
        vf: PciAddr,
        /// The PF its `physfn` link names.
        pf: PciAddr,
        /// The PF's directory.
        path: PathBuf,
    },

    /// A PF's `virtfnN` link leads to a VF whose `physfn` does not lead back.
    #[error(
        "VF {vf}: {path} {}, but PF {pf} lists it as its VF",
        physfn_note(found)
    )]
    PhysfnMismatch {
        /// The VF.
        vf: PciAddr,
        /// The VF's `physfn` link.
        path: PathBuf,
        /// The PF that lists the VF.
        pf: PciAddr,
        /// The PF the `physfn` link names, if the link exists.
        found: Option<PciAddr>,
    },

    /// Two of a PF's `virtfnN` links lead to the same VF.
    #[error("{pf}: {path} leads to VF {vf}, which virtfn{first} already leads to")]
    VirtfnDuplicate {
        /// The PF.
        pf: Device,
        /// The VF both links lead to.
        vf: PciAddr,
        /// The index of the first link to it.
        first: u32,
        /// The later link.
        path: PathBuf,
    },

    /// A directory of PCI devices holds an entry that is not a PCI address.
    #[error("unexpected entry {path}: expected PCI addresses like 0000:01:10.0")]
    UnexpectedEntry {
        /// The entry.
        path: PathBuf,
    },

    /// A PF reports more VFs than it has `virtfnN` links.
    #[error("{pf}: sriov_numvfs is {num_vfs} but {path} is missing")]
    VirtfnMissing {
        /// The PF.
        pf: Device,
        /// The value of `sriov_numvfs`.
        num_vfs: u32,
        /// The first missing link.
        path: PathBuf,
    },

    /// A switchdev representor was named where a PF's own netdev is
    /// needed: it sits among its PF's netdevs, but it stands for a VF (or
    /// another function), not for the PF.
    #[error(
        "netdev {name} is a switchdev representor ({path} is {port_name:?}), not a PF's own \
         netdev; {}",
        uplink_note(uplink)
    )]
    Representor {
        /// The netdev named.
        name: IfName,
        /// Its `phys_port_name` file.
        path: PathBuf,
        /// What that file holds (`pf0vf3`...).
        port_name: String,
        /// The PF's own netdev (its uplink), when it has one.
        uplink: Option<IfName>,
    },

    /// A link that should name a PCI device points elsewhere.
    #[error("{device}: {path} points to {target}, which is not a PCI device")]
    BadLink {
        /// The device the link belongs to.
        device: Device,
        /// The link.
        path: PathBuf,
        /// Its target.
        target: PathBuf,
    },

    /// A sysfs file, link or directory could not be read.
    #[error("{device}: reading {}", path.display())]
    Read {
        /// The device the file belongs to.
        device: Device,
        /// The file, link or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// A sysfs directory listing could not be read.
    #[error("listing {}", path.display())]
    List {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// A sysfs file holds something other than what the kernel writes there.
    #[error("{device}: {path} holds {content:?}, expected {expected}")]
    Malformed {
        /// The device the file belongs to.
        device: Device,
        /// The file, or the link or directory entry.
        path: PathBuf,
        /// What it holds (cut to 64 characters).
        content: String,
        /// What would be right.
        expected: &'static str,
    },

    /// More VFs asked for than the PF supports.
    #[error("{pf}: cannot enable {requested} VFs, sriov_totalvfs is {total} ({path})")]
    TooManyVfs {
        /// The PF.
        pf: Device,
        /// The count asked for.
        requested: u32,
        /// The PF's `sriov_totalvfs`.
        total: u32,
        /// The `sriov_totalvfs` file.
        path: PathBuf,
    },

    /// Writing `sriov_numvfs` failed. The message says what count the PF
    /// is left with; the source is the write's error.
    #[error(
        "{pf}: changing numvfs from {from} to {to} {}{}; writing {written} to {} failed",
        left_with_note(*left_with),
        restore_error.as_ref().map(|e| format!(", as writing {from} back failed too ({e})")).unwrap_or_default(),
        path.display()
    )]
    SetNumVfs {
        /// The PF.
        pf: Device,
        /// The `sriov_numvfs` file.
        path: PathBuf,
        /// The count before the change.
        from: u32,
        /// The count asked for.
        to: u32,
        /// The value whose write failed.
        written: u32,
        /// The kernel's error (EBUSY, ENOMEM, EIO from the driver...).
        source: io::Error,
        /// The error writing `from` back, when the change went through 0
        /// and putting the old count back failed too.
        restore_error: Option<io::Error>,
        /// What `sriov_numvfs` reads after the failure; `None` when it
        /// could not be read back.
        left_with: Option<u32>,
    },
}

/// A step of VF work that talks to the kernel, as [`Error::Kernel`] names
/// it, with the objects it worked on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Reading the VF table of its PF.
    ReadVfTable,
    /// Reading its netdev.
    ReadNetdev(IfName),
    /// Looking a name up in the host namespace (is it free?).
    LookUpName(IfName),
    /// Setting its netdev down, which renaming needs.
    SetDown(IfName),
    /// Putting its netdev's name, MAC, MTU, alias and up state back.
    RestoreNetdev(IfName),
    /// Moving its netdev into a pod's namespace.
    MoveIntoPod {
        /// The netdev, by its host name.
        netdev: IfName,
        /// The pod's namespace.
        pod: PathBuf,
        /// Its name in the pod.
        name: IfName,
    },
    /// Looking for its netdev among a pod's links.
    FindInPod {
        /// The pod's namespace.
        pod: PathBuf,
    },
    /// Moving its netdev from a pod back to the host namespace.
    MoveToHost {
        /// The netdev, by its name in the pod.
        netdev: IfName,
        /// Its name in the host namespace.
        name: IfName,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::ReadVfTable => f.write_str("reading its PF's VF table"),
            Step::ReadNetdev(name) => write!(f, "reading netdev {name}"),
            Step::LookUpName(name) => write!(f, "looking up {name} in the host namespace"),
            Step::SetDown(name) => write!(f, "setting netdev {name} down"),
            Step::RestoreNetdev(name) => write!(f, "restoring netdev {name}"),
            Step::MoveIntoPod { netdev, pod, name } => {
                write!(f, "moving netdev {netdev} into {} as {name}", pod.display())
            }
            Step::FindInPod { pod } => write!(f, "looking for its netdev in {}", pod.display()),
            Step::MoveToHost { netdev, name } => {
                write!(
                    f,
                    "moving netdev {netdev} back to the host namespace as {name}"
                )
            }
        }
    }
}

impl Error {
    /// The class of the error, for a caller that must decide what it means
    /// (a CNI plugin picking its error code, say): a value or setting
    /// refused before anything was sent is [`Invalid`](ErrorKind::Invalid),
    /// a setting the driver refused [`Refused`](ErrorKind::Refused), a VF
    /// another holder has or no free VF [`Busy`](ErrorKind::Busy), a device
    /// that does not exist [`NotFound`](ErrorKind::NotFound); a kernel
    /// error is classed as netns classes it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Value(_)
            | Error::InvalidSetting { .. }
            | Error::InvalidDataDir { .. }
            | Error::InvalidHwAddr { .. }
            | Error::NoPf { .. }
            | Error::NotPci { .. }
            | Error::NotVf { .. }
            | Error::NotPf { .. }
            | Error::Representor { .. }
            | Error::TooManyVfs { .. } => ErrorKind::Invalid,
            Error::VfSetting { .. } => ErrorKind::Refused,
            Error::VfHeld { .. } | Error::NoFreeVf { .. } | Error::LockTimeout { .. } => {
                ErrorKind::Busy
            }
            Error::NotInVfTable { .. }
            | Error::NoNetdev { .. }
            | Error::NoSuchPciDevice { .. }
            | Error::NoSuchNetdev { .. }
            | Error::NoSuchVf { .. } => ErrorKind::NotFound,
            Error::Kernel { source, .. } | Error::Namespace { source, .. } => source.kind(),
            Error::AttachUndoFailed { failure, .. } => failure.kind(),
            Error::SetNumVfs { source, .. } if source.raw_os_error() == Some(libc_ebusy()) => {
                ErrorKind::Busy
            }
            _ => ErrorKind::Other,
        }
    }

    /// The VF the error is about, when it is about one.
    pub fn vf(&self) -> Option<&VfId> {
        match self {
            Error::NoPf { vf, .. }
            | Error::NotInVfTable { vf, .. }
            | Error::VfSetting { vf, .. }
            | Error::NoNetdev { vf, .. }
            | Error::Kernel { vf, .. } => Some(vf),
            Error::AttachUndoFailed { failure, .. } => failure.vf(),
            _ => None,
        }
    }

    /// The step a kernel error happened in.
    pub fn step(&self) -> Option<&Step> {
        match self {
            Error::Kernel { step, .. } => Some(step),
            Error::AttachUndoFailed { failure, .. } => failure.step(),
            _ => None,
        }
    }

    /// The PF-side setting the driver refused, for [`Error::VfSetting`].
    pub fn attribute(&self) -> Option<VfAttribute> {
        match self {
            Error::VfSetting { attribute, .. } => Some(*attribute),
            Error::AttachUndoFailed { failure, .. } => failure.attribute(),
            _ => None,
        }
    }

    /// The kernel's error behind this one: its errno and extended-ack text.
    pub fn netlink_error(&self) -> Option<&netplumb_netns::Error> {
        match self {
            Error::VfSetting { source, .. }
            | Error::Kernel { source, .. }
            | Error::Namespace { source, .. } => Some(source),
            Error::AttachUndoFailed { failure, .. } => failure.netlink_error(),
            _ => None,
        }
    }
}

/// `EBUSY`, which a PF's driver answers while it cannot change its VFs.
fn libc_ebusy() -> i32 {
    nix::errno::Errno::EBUSY as i32
}

/// A `map_err` adapter: the kernel's error about `vf`, during `step`.
pub(crate) fn kernel_error(vf: &VfId, step: Step) -> impl FnOnce(netplumb_netns::Error) -> Error {
    let vf = vf.clone();
    move |source| Error::Kernel {
        vf,
        step,
        source: Box::new(source),
    }
}

/// A `map_err` adapter: the error opening or using the namespace at `path`.
pub(crate) fn namespace_error(
    path: &std::path::Path,
) -> impl FnOnce(netplumb_netns::Error) -> Error + '_ {
    move |source| Error::Namespace {
        path: path.to_path_buf(),
        source: Box::new(source),
    }
}

fn restore_note(not_restored: &[VfAttribute]) -> String {
    if not_restored.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = not_restored.iter().map(|a| a.name()).collect();
    format!(
        "; and putting back what was applied before it failed for {}",
        names.join(", ")
    )
}

fn uplink_note(uplink: &Option<IfName>) -> String {
    match uplink {
        Some(uplink) => format!("name its PF's uplink {uplink} instead"),
        None => "name its PF's own netdev instead".to_owned(),
    }
}

fn left_with_note(left_with: Option<u32>) -> String {
    match left_with {
        Some(count) => format!("left the PF with {count} VFs"),
        None => "left the PF's VF count unknown (sriov_numvfs could not be read back)".to_owned(),
    }
}

fn target_note(target: &Option<PathBuf>) -> String {
    match target {
        Some(target) => format!("points to {}", target.display()),
        None => "does not exist (a software interface)".to_owned(),
    }
}

fn physfn_note(found: &Option<PciAddr>) -> String {
    match found {
        Some(pf) => format!("names PF {pf}"),
        None => "does not exist".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn no_message_repeats_its_source() {
        let vf = VfId::new("0000:01:10.2".parse().unwrap());
        let kernel = || {
            Box::new(netplumb_netns::Error::Kernel {
                op: "set link up".into(),
                link: Some("#7".into()),
                errno: libc_ebusy(),
                ext_ack: Some("device busy".into()),
                attribute: None,
            })
        };
        let io = || io::Error::from_raw_os_error(libc_ebusy());
        let errors = [
            Error::Kernel {
                vf: vf.clone(),
                step: Step::ReadVfTable,
                source: kernel(),
            },
            Error::Namespace {
                path: "/run/netns/pod".into(),
                source: kernel(),
            },
            Error::VfSetting {
                vf: vf.clone(),
                attribute: VfAttribute::Trust,
                value: "trust on".into(),
                source: kernel(),
                not_restored: vec![],
            },
            Error::State {
                action: "lock",
                path: "/var/lib/cni/netplumb/vfs/x.lock".into(),
                source: io(),
            },
            Error::Read {
                device: Device::Vf(vf.addr),
                path: "/sys/bus/pci/devices/x".into(),
                source: io(),
            },
            Error::List {
                path: "/sys/bus/pci/devices".into(),
                source: io(),
            },
        ];
        for e in &errors {
            let source = e.source().expect("has a source").to_string();
            assert!(!e.to_string().contains(&source), "{e} repeats {source}");
            assert!(Chain(e).to_string().ends_with(&source), "{}", Chain(e));
        }
        assert_eq!(errors[0].kind(), ErrorKind::Busy, "as netns classes EBUSY");
        assert_eq!(errors[2].kind(), ErrorKind::Refused);
        assert_eq!(errors[0].step(), Some(&Step::ReadVfTable));
        assert_eq!(errors[2].vf(), Some(&vf));
    }
}
