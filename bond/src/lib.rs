//! Linux bonds inside a network namespace.
//!
//! A pod that gets two VFs, one from each PF, bonds them for high
//! availability. This crate knows the kernel's bonding driver: what it
//! accepts together ([`BondConfig::check`], whose rules on how options
//! combine are [`BondOptions::check`]'s, shared with the CNI configuration
//! reader), and the settings that are legal but break over SR-IOV VFs
//! ([`Warning`]). It builds bonds over netlink ([`create`], or [`plan`] then
//! [`Plan::apply`]), reads them back ([`inspect`]) and takes them apart
//! ([`release`]), putting every port back as it was, from a [`BondRecord`]
//! a caller can keep on disk.
//!
//! Modes, options, names and MACs are the shared value types of
//! `netplumb-types` ([`BondMode`], [`FailOverMac`], [`XmitHashPolicy`],
//! [`BondOptions`], [`IfName`], [`MacAddr`]), re-exported here: parsed where
//! they come in, so every name past that point is one the kernel accepts.
//! Links are read by netns's one decoder ([`LinkInfo`]) and changed by its
//! one builder ([`LinkChange`](netplumb_netns::LinkChange)).
//!
//! Errors follow the workspace's convention: a message never repeats its
//! source, and [`Error::kind`] classes it.
//!
//! ```
//! use netplumb_bond::{BondConfig, BondMode, FailOverMac, PortFacts};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bond = BondConfig::new("bond0".parse()?, "active-backup".parse()?)
//!     .miimon(100)
//!     .fail_over_mac(FailOverMac::Active);
//! let ports = [
//!     PortFacts { name: "net1".parse()?, mtu: 1500, is_vf: true },
//!     PortFacts { name: "net2".parse()?, mtu: 1500, is_vf: true },
//! ];
//! assert!(bond.check(&ports)?.is_empty());
//! assert_eq!(bond.options.mode, BondMode::ActiveBackup);
//! # Ok(())
//! # }
//! ```
//!
//! Against the kernel, with the ports already in the pod:
//!
//! ```no_run
//! use netplumb_bond::{BondConfig, BondMode, FailOverMac, Pod, Port};
//! use netplumb_netns::NetNs;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pod = Pod::open(&NetNs::open("/run/netns/pod")?)?;
//! let bond0 = "bond0".parse()?;
//! let config = BondConfig::new(bond0, BondMode::ActiveBackup)
//!     .miimon(100)
//!     .fail_over_mac(FailOverMac::Active);
//! let ports = [Port::vf("net1".parse()?), Port::vf("net2".parse()?)];
//!
//! let plan = netplumb_bond::plan(&pod, None, &config, &ports)?;
//! let journal = serde_json::to_string(plan.record())?; // keep it before anything changes
//! let created = plan.apply()?;
//! for warning in &created.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! let info = netplumb_bond::inspect(pod.netlink(), &config.name)?;
//! println!("active port: {:?}", info.active_port);
//!
//! netplumb_bond::release(Some(&pod), None, &serde_json::from_str(&journal)?)?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod create;
mod error;
mod inspect;
mod namespace;
mod nl;
mod record;
mod release;

pub use config::{BondConfig, PortFacts, Warning};
pub use create::{create, plan, Created, Plan, Port};
pub use error::{Error, Step};
pub use inspect::{inspect, BondInfo, MiiStatus, PortInfo, PortState};
pub use namespace::{Home, Pod};
pub use netplumb_netns::LinkInfo;
pub use netplumb_types::{
    BondMode, BondOption, BondOptions, ErrorKind, FailOverMac, IfName, MacAddr, XmitHashPolicy,
};
pub use record::{BondRecord, PortRecord};
pub use release::{release, Released, PORT_RETURN_WAIT};
