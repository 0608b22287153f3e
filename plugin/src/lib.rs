//! The layer netplumb's CNI plugins (`sriov`, `bond`) share: the one place
//! that knows both the CNI protocol (`netplumb-cniconf`) and the kernel
//! crates (`netplumb-netns`, `netplumb-vf`, `netplumb-bond`).
//!
//! Both sides speak the same value types (`netplumb-types`), so a
//! configuration becomes what a kernel crate takes in one call:
//! [`vf_settings`] for an `sriov` configuration, [`bond_config`] for a
//! `bond` one.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod convert;

pub use convert::{bond_config, vf_settings};
