//! Linux bonds inside a network namespace.
//!
//! A pod that gets two VFs, one from each PF, bonds them for high
//! availability. This crate knows the kernel's bonding driver: its modes and
//! options ([`Mode`], [`FailOverMac`], [`XmitHashPolicy`]), what it accepts
//! together ([`BondConfig::check`]), and the settings that are legal but
//! break over SR-IOV VFs ([`Warning`]). It builds bonds over netlink
//! ([`create`], or [`plan`] then [`Plan::apply`]), reads them back
//! ([`inspect`]) and takes them apart ([`release`]), putting every port
//! back as it was, from a [`BondRecord`] a caller can keep on disk.
//!
//! ```
//! use netplumb_bond::{BondConfig, FailOverMac, Mode, PortFacts};
//!
//! let bond = BondConfig::new("bond0", "active-backup".parse()?)
//!     .miimon(100)
//!     .fail_over_mac(FailOverMac::Active);
//! let ports = [
//!     PortFacts { name: "net1", mtu: 1500, is_vf: true },
//!     PortFacts { name: "net2", mtu: 1500, is_vf: true },
//! ];
//! assert!(bond.check(&ports)?.is_empty());
//! assert_eq!(bond.mode, Mode::ActiveBackup);
//! # Ok::<(), netplumb_bond::Error>(())
//! ```
//!
//! Against the kernel, with the ports already in the pod:
//!
//! ```no_run
//! use netplumb_bond::{BondConfig, FailOverMac, Mode, Namespace, Port};
//! use netplumb_netns::NetNs;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pod_ns = NetNs::open("/run/netns/pod")?;
//! let pod_nl = pod_ns.netlink()?;
//! let pod = Namespace::new(&pod_ns, &pod_nl);
//! let config = BondConfig::new("bond0", Mode::ActiveBackup)
//!     .miimon(100)
//!     .fail_over_mac(FailOverMac::Active);
//!
//! let plan = netplumb_bond::plan(pod, None, &config, &[Port::vf("net1"), Port::vf("net2")])?;
//! let journal = serde_json::to_string(plan.record())?; // keep it before anything changes
//! let created = plan.apply()?;
//! for warning in &created.warnings {
//!     eprintln!("warning: {warning}");
//! }
//! let info = netplumb_bond::inspect(&pod_nl, "bond0")?;
//! println!("active port: {:?}", info.active_port);
//!
//! netplumb_bond::release(Some(pod), None, &serde_json::from_str(&journal)?)?;
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod config;
mod create;
mod error;
mod inspect;
mod nl;
mod options;
mod record;
mod release;

pub use config::{BondConfig, PortFacts, Warning};
pub use create::{create, plan, Created, Namespace, Plan, Port};
pub use error::{Error, Step};
pub use inspect::{inspect, BondInfo, LinkState, MiiStatus, PortInfo, PortState};
pub use netplumb_netns::MacAddr;
pub use options::{FailOverMac, Mode, XmitHashPolicy};
pub use record::{BondRecord, PortRecord};
pub use release::release;
