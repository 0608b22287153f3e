//! SR-IOV virtual functions on Linux: discovery from sysfs, enabling VFs,
//! PF-side VF settings, moving a VF's netdev into a pod and back,
//! recording a VF's state to put it back exactly, and handing VFs out so
//! that no two pods get the same one.
//!
//! [`Sysfs`] reads a sysfs tree (`/sys` by default, any root in tests) and
//! finds physical functions ([`Nic`]), their virtual functions ([`Vf`]) and
//! where each VF's netdev is ([`VfNetdev`]): in the host namespace, moved into
//! a pod, not made yet by its driver, or absent because a userspace (DPDK)
//! driver holds the VF.
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
//! A [`Host`] (sysfs, the host namespace and an rtnetlink client in it)
//! works on VFs through their PFs: [`Host::vf_config`] reads a VF's
//! PF-side configuration ([`VfConfig`]: administrative MAC, VLAN with QoS
//! and protocol, spoof check, trust, link state, TX rates) from its PF's VF
//! table, and [`Host::configure`] applies [`VfSettings`] in one request
//! where the driver takes it, naming the refused setting when it does not
//! and leaving nothing half-applied. [`Host::snapshot`] records everything
//! about a VF that must be put back ([`VfState`]), and [`Host::restore`]
//! puts it back. [`Host::attach`] moves a VF's netdev into a pod's
//! namespace under the pod's name, with its MAC and MTU, up, in one
//! request; [`Host::detach`] brings it back under its original name, even
//! when the pod's namespace is gone. Undo records and states serialize, so
//! a plugin can journal them.
//!
//! An [`Allocator`] keeps a lock file and a record per VF under a data
//! directory: [`Allocator::claim_free`] picks a free VF of a PF, safely
//! across processes, and takes back VFs whose holder's namespace is gone.
//!
//! ```no_run
//! use netplumb_vf::{AttachSpec, Host, Sysfs, VfSettings, Vlan};
//! let host = Host::open(Sysfs::default())?;
//! let vf = host.sysfs().vf("0000:01:10.0".parse()?)?;
//! let before = host.snapshot(&vf)?;
//! host.configure(&vf.id(), &VfSettings { vlan: Some(Vlan::tag(100)?), ..Default::default() })?;
//! let pod = netplumb_netns::NetNs::open("/run/netns/pod")?;
//! let moved = host.attach(&before, &pod, &AttachSpec::new("net1".parse()?).mtu(9000))?;
//! // ... and when the pod is gone:
//! host.detach(&moved)?;
//! host.restore(&before)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Validated types keep bad values out: [`PciAddr`], [`IfName`] and
//! [`MacAddr`] are the workspace's shared types (`netplumb-types`, re-exported
//! here), [`HwAddr`] and [`Vlan`] this crate's. Every error is an [`Error`]
//! naming the device, the sysfs path or the VF and the [`Step`] involved;
//! when the kernel refused something, its errno and extended-ack text are
//! the error's source, and [`Error::kind`] classes it.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod alloc;
mod attach;
mod discover;
mod error;
mod host;
mod hwaddr;
mod model;
mod netdev;
mod numvfs;
#[cfg(feature = "serde")]
mod serde_impl;
mod settings;
mod state;
mod sysfs;
#[cfg(feature = "test-support")]
pub mod testing;
mod text_serde;

pub use alloc::{Allocator, Claim, ClaimUndo, Holder, VfLock};
pub use attach::{AttachSpec, AttachUndo, NsRef, RETURN_WAIT};
pub use error::{Device, Error, Step};
pub use host::{Host, SettingsUndo};
pub use hwaddr::HwAddr;
pub use model::{
    is_userspace_driver, Inventory, Netdev, Nic, PfLink, Vf, VfId, VfNetdev, USERSPACE_DRIVERS,
};
/// The shared value types this crate's API uses.
pub use netplumb_types as types;
pub use netplumb_types::{
    Alias, AltName, ErrorKind, IfName, MacAddr, PciAddr, VfLinkState, VlanProto,
};
pub use numvfs::NumVfsChange;
pub use settings::{VfAttribute, VfConfig, VfSettings, Vlan};
pub use state::{NetdevState, Returned, VfState, HOST_NAME_ALIAS_PREFIX};
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
