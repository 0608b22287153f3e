//! The crate's error type.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::{IfName, PciAddr, VfAttribute, VfId};

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
/// alone tells which device and which file to look at.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Text that is not a PCI address.
    #[error(
        "invalid PCI address {input:?}: {reason}; expected domain:bus:device.function \
         like 0000:01:10.0 (or 01:10.0 for domain 0000)"
    )]
    InvalidPciAddr {
        /// The text given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A namespace or rtnetlink call failed, or a name was refused, outside
    /// any one VF setting. The wrapped error names the operation, the link,
    /// the errno and the kernel's extended-ack text.
    #[error(transparent)]
    Netns(#[from] netplumb_netns::Error),

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
    #[error("{vf}: the PF refused {value}: {source}{}", restore_note(not_restored))]
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
    #[error("{vf}: {step}: {source}")]
    Kernel {
        /// The VF.
        vf: VfId,
        /// The step, e.g. `moving netdev eth3 into /run/netns/pod as net1`.
        step: String,
        /// The kernel's error: errno and extended-ack text.
        source: Box<netplumb_netns::Error>,
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
    #[error("cannot {action} {path}: {source}")]
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
    #[error("{device}: reading {path}: {source}")]
    Read {
        /// The device the file belongs to.
        device: Device,
        /// The file, link or directory.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },

    /// A sysfs directory listing could not be read.
    #[error("listing {path}: {source}")]
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

    /// Writing `sriov_numvfs` failed.
    #[error(
        "{pf}: changing numvfs from {from} to {to}: writing {written} to {path}: {source}{}; {}",
        restore_error.as_ref().map(|e| format!("; writing {from} back failed too: {e}")).unwrap_or_default(),
        left_with_note(*left_with)
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

/// A `map_err` adapter: the kernel's error about `vf`, during `step`.
pub(crate) fn kernel_error(
    vf: &VfId,
    step: impl Into<String>,
) -> impl FnOnce(netplumb_netns::Error) -> Error {
    let vf = vf.clone();
    let step = step.into();
    move |source| Error::Kernel {
        vf,
        step,
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
        Some(count) => format!("the PF is left with {count} VFs"),
        None => "sriov_numvfs could not be read back, so the PF's VF count is unknown".to_owned(),
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
