//! Linux bonds inside a network namespace.
//!
//! A pod that gets two VFs, one from each PF, bonds them for high
//! availability. This crate knows the kernel's bonding driver: its modes and
//! options ([`Mode`], [`FailOverMac`], [`XmitHashPolicy`]), what it accepts
//! together ([`BondConfig::check`]), and the settings that are legal but
//! break over SR-IOV VFs ([`Warning`]).
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

mod config;
mod error;
mod options;

pub use config::{BondConfig, PortFacts, Warning};
pub use error::Error;
pub use options::{FailOverMac, Mode, XmitHashPolicy};
