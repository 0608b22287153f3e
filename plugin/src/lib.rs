//! The layer netplumb's CNI plugins (`sriov`, `bond`) share: the one place
//! that knows both the CNI protocol (`netplumb-cniconf`) and the kernel
//! crates (`netplumb-netns`, `netplumb-vf`, `netplumb-bond`).
//!
//! Both sides speak the same value types (`netplumb-types`), so a
//! configuration becomes what a kernel crate takes in one call:
//! [`vf_settings`] for an `sriov` configuration, [`bond_config`] for a
//! `bond` one.
//!
//! What both plugins share:
//! - the attachment [`journal`]: one record per attachment, written before
//!   each step changes anything, from which a failed ADD, DEL, CHECK, GC
//!   and a DEL after a crash all work;
//! - the [`Log`]: one line per step, to stderr or `logFile`, never stdout;
//! - [`Error`]: every failure with the CNI code that fits it and the whole
//!   chain of causes as its message;
//! - [`ipam`]: delegating to the IPAM plugin, and its answer as the pod's
//!   addresses and routes and as the CNI result;
//! - the NPWG [`device_info`] file;
//! - the [`Cost`] of an invocation, logged at debug level: netlink round
//!   trips and sysfs reads.
//!
//! [`Sriov`] is the `sriov` plugin and [`Bond`] the `bond` plugin: each a
//! `cniconf::skel::Plugin`, which its binary hands to
//! [`process::run`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod attachment;
mod bond;
mod convert;
mod cost;
pub mod crash;
pub mod device_info;
mod error;
pub mod ipam;
pub mod journal;
mod log;
pub mod process;
mod sriov;

pub use attachment::Node;
pub use bond::Bond;
pub use convert::{bond_config, vf_settings};
pub use cost::Cost;
pub use error::{Error, KernelError, CHECK_FAILED, KERNEL_FAILURE};
pub use log::Log;
pub use sriov::Sriov;
