//! What discovery finds.

use std::fmt;

use crate::{Error, HwAddr, IfName, PciAddr};

/// A network interface visible in the host namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Netdev {
    /// Its name.
    pub name: IfName,
    /// Its current hardware address; `None` when its `address` file is
    /// empty (a link type without one).
    pub mac: Option<HwAddr>,
    /// Its MTU.
    pub mtu: u32,
    /// Link speed in Mb/s; `None` when the kernel does not know it (link
    /// down, no carrier, or a driver that does not report it).
    pub speed_mbps: Option<u32>,
}

/// A network PCI function that is not a VF: an SR-IOV physical function
/// (`total_vfs > 0`), or a plain NIC.
///
/// A NIC without SR-IOV may itself be a VF passed into this machine as a
/// VM: inside a VM a VF has no `physfn` link, so sysfs cannot tell it from
/// any other NIC. [`Sysfs::vf`](crate::Sysfs::vf) accepts such a NIC as a
/// VF without a PF.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Nic {
    /// Its PCI address.
    pub addr: PciAddr,
    /// PCI vendor ID.
    pub vendor_id: u16,
    /// PCI device ID.
    pub device_id: u16,
    /// The bound driver, if any.
    pub driver: Option<String>,
    /// Its netdev, when it has one in the host namespace. When the function
    /// has several, this is the one the lookup named ([`Sysfs::pf`]), else
    /// its primary one: in switchdev mode the uplink (`phys_port_name`
    /// `p<N>`) rather than a representor, else the first by name that is
    /// not a representor.
    ///
    /// [`Sysfs::pf`]: crate::Sysfs::pf
    pub netdev: Option<Netdev>,
    /// Its other netdevs in the host namespace, by name: another port, and
    /// in switchdev mode the representors of its VFs.
    pub other_netdevs: Vec<IfName>,
    /// The NUMA node it is attached to; `None` on machines without NUMA
    /// information.
    pub numa_node: Option<u32>,
    /// How many VFs it supports (`sriov_totalvfs`); 0 without SR-IOV.
    pub total_vfs: u32,
    /// How many VFs are enabled (`sriov_numvfs`).
    pub num_vfs: u32,
    /// The enabled VFs, in index order.
    pub vfs: Vec<Vf>,
}

impl Nic {
    /// Whether it can have VFs.
    pub fn is_sriov(&self) -> bool {
        self.total_vfs > 0
    }

    /// Its netdev's name, if it has one in the host namespace.
    pub fn name(&self) -> Option<&IfName> {
        self.netdev.as_ref().map(|n| &n.name)
    }
}

/// A virtual function.
///
/// Carries what the netlink side needs to address it through its PF: the
/// PF's netdev name and the VF index.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vf {
    /// Its PCI address.
    pub addr: PciAddr,
    /// PCI vendor ID.
    pub vendor_id: u16,
    /// PCI device ID.
    pub device_id: u16,
    /// The bound driver, if any.
    pub driver: Option<String>,
    /// Its PF; `None` for a VF seen from inside a VM, where the PF is not
    /// visible.
    pub pf: Option<PfLink>,
    /// Where its netdev is. When it has several in the host namespace (one
    /// per port), this is the one the lookup named
    /// ([`Sysfs::vf_by_netdev`](crate::Sysfs::vf_by_netdev)), else its
    /// primary one, chosen as for [`Nic::netdev`].
    pub netdev: VfNetdev,
    /// Its other netdevs in the host namespace, by name.
    pub other_netdevs: Vec<IfName>,
}

impl Vf {
    /// How errors and undo records name it.
    pub fn id(&self) -> VfId {
        VfId {
            addr: self.addr,
            pf: self.pf_name().cloned(),
            index: self.index(),
        }
    }

    /// Its index on its PF (the `N` of the PF's `virtfnN` link).
    pub fn index(&self) -> Option<u32> {
        self.pf.as_ref().map(|pf| pf.index)
    }

    /// Its netdev's name, when the netdev is in the host namespace.
    pub fn netdev_name(&self) -> Option<&IfName> {
        match &self.netdev {
            VfNetdev::Host(netdev) => Some(&netdev.name),
            _ => None,
        }
    }

    /// Its PF's netdev name, when it has a visible PF with a netdev.
    pub fn pf_name(&self) -> Option<&IfName> {
        self.pf.as_ref().and_then(|pf| pf.name.as_ref())
    }
}

/// A VF as errors and undo records name it: its PCI address, and where it
/// sits on its PF. PF-side settings address the VF through `pf` and
/// `index`; a VF seen from inside a VM has neither.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VfId {
    /// Its PCI address.
    pub addr: PciAddr,
    /// Its PF's netdev name, when it has a visible PF with a netdev.
    pub pf: Option<IfName>,
    /// Its index on its PF, when it has a visible PF.
    pub index: Option<u32>,
}

impl VfId {
    /// A VF known only by its PCI address (one inside a VM, or one whose PF
    /// is not known yet).
    pub fn new(addr: PciAddr) -> VfId {
        VfId {
            addr,
            pf: None,
            index: None,
        }
    }

    /// A VF addressed through its PF.
    pub fn on_pf(addr: PciAddr, pf: IfName, index: u32) -> VfId {
        VfId {
            addr,
            pf: Some(pf),
            index: Some(index),
        }
    }
}

impl fmt::Display for VfId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VF {}", self.addr)?;
        match (&self.pf, self.index) {
            (Some(pf), Some(index)) => write!(f, " (VF {index} of {pf})"),
            (None, Some(index)) => write!(f, " (VF {index} of a PF without a netdev)"),
            _ => Ok(()),
        }
    }
}

/// A VF's physical function, and the VF's place on it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PfLink {
    /// The PF's PCI address.
    pub addr: PciAddr,
    /// The PF's netdev that PF-side settings of the VF go through: the one
    /// the lookup named ([`Sysfs::pf`](crate::Sysfs::pf),
    /// [`Sysfs::vf_by_index`](crate::Sysfs::vf_by_index)), else the PF's
    /// primary netdev (see [`Nic::netdev`]). `None` when the PF has no
    /// netdev in the host namespace (bound to a userspace driver, say).
    pub name: Option<IfName>,
    /// The VF's index on the PF.
    pub index: u32,
}

/// Where a VF's netdev is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VfNetdev {
    /// In the host namespace.
    Host(Netdev),
    /// In another namespace (a pod): the device's `net/` directory is
    /// there but empty, which is how the host's sysfs shows a netdev moved
    /// out of its namespace.
    Moved,
    /// A netdev driver is bound but the device has no `net/` directory:
    /// the driver has not made its netdev yet (it is still probing), or
    /// makes none.
    NoNetdev,
    /// Bound to a driver that hands the device to userspace and makes no
    /// netdev (see [`is_userspace_driver`]): a DPDK VF, or one held for a
    /// VM.
    Userspace,
    /// No driver is bound.
    Unbound,
}

/// Drivers that hand a device to userspace instead of making a netdev:
/// `vfio-pci`, `uio_pci_generic` and `igb_uio` (DPDK), and `pci-stub`
/// (devices held for assignment to a VM). Vendor variants of vfio-pci
/// count too; see [`is_userspace_driver`].
pub const USERSPACE_DRIVERS: &[&str] = &["vfio-pci", "uio_pci_generic", "igb_uio", "pci-stub"];

/// Whether `driver` hands its device to userspace instead of making a
/// netdev: one of [`USERSPACE_DRIVERS`], or a vendor variant of vfio-pci
/// (a name ending in `vfio_pci` or `vfio-pci`, such as `mlx5_vfio_pci` or
/// `hisi_acc_vfio_pci`, which add live migration to vfio-pci).
///
/// ```
/// use netplumb_vf::is_userspace_driver;
/// assert!(is_userspace_driver("vfio-pci"));
/// assert!(is_userspace_driver("mlx5_vfio_pci"));
/// assert!(!is_userspace_driver("iavf"));
/// ```
pub fn is_userspace_driver(driver: &str) -> bool {
    USERSPACE_DRIVERS.contains(&driver)
        || driver.ends_with("vfio_pci")
        || driver.ends_with("vfio-pci")
}

/// Every network PCI function that is not a VF, each SR-IOV one with its
/// VFs, and what could not be read.
///
/// With the `serde` feature it serializes like the `status` of the SR-IOV
/// network operator's `SriovNetworkNodeState`: `{"interfaces": [...]}`
/// (the errors are not part of that shape).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Inventory {
    /// The NICs, in PCI address order.
    pub interfaces: Vec<Nic>,
    /// A device, or a VF of a PF, that could not be read is left out of
    /// `interfaces` (or of its PF's `vfs`), and its error is here, in the
    /// order met.
    pub errors: Vec<Error>,
}
