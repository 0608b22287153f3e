//! SR-IOV virtual functions on Linux: discovery from sysfs, and enabling VFs.
//!
//! [`Sysfs`] reads a sysfs tree (`/sys` by default, any root in tests) and
//! finds physical functions ([`Nic`]), their virtual functions ([`Vf`]) and
//! where each VF's netdev is ([`VfNetdev`]): in the host namespace, moved into
//! a pod, or absent because a userspace (DPDK) driver holds the VF.
//!
//! ```no_run
//! use netplumb_vf::Sysfs;
//! let sysfs = Sysfs::default();
//! let vf = sysfs.vf("0000:01:10.0".parse()?)?;
//! if let Some(pf) = &vf.pf {
//!     println!("VF {} is VF {} of {:?}", vf.addr, pf.index, pf.name);
//! }
//! let pf = sysfs.pf(&"enp1s0f0".parse()?)?;
//! println!("{} of {} VFs enabled", pf.num_vfs, pf.total_vfs);
//! # Ok::<(), netplumb_vf::Error>(())
//! ```
//!
//! Lookups of one device follow the specific sysfs links and never list all
//! devices; [`Sysfs::inventory`] lists everything, and with the `serde`
//! feature serializes like the SR-IOV network operator's node state.
//!
//! Validated types keep bad values out: [`PciAddr`], [`IfName`], [`HwAddr`].
//! Every error is an [`Error`] naming the device and sysfs path involved.

#![warn(missing_docs)]

mod discover;
mod error;
mod hwaddr;
mod model;
mod numvfs;
mod pci;
#[cfg(feature = "serde")]
mod serde_impl;
mod sysfs;
#[cfg(feature = "test-support")]
pub mod testing;

pub use error::{Device, Error};
pub use hwaddr::HwAddr;
pub use model::{Inventory, Netdev, Nic, PfLink, Vf, VfNetdev, USERSPACE_DRIVERS};
pub use netplumb_netns::{IfName, MAX_IFNAME_LEN as IFNAME_MAX_LEN};
pub use numvfs::NumVfsChange;
pub use pci::PciAddr;
pub use sysfs::{Access, Observer, Sysfs};

#[cfg(test)]
mod tests {
    /// Handles and errors cross threads: plugins discover on one thread and
    /// report on another.
    #[test]
    fn handles_and_errors_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::Sysfs>();
        send_sync::<crate::Error>();
        send_sync::<crate::Inventory>();
    }
}
