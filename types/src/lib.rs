//! The values netplumb's crates pass between them, with one rule set each.
//!
//! The CNI side (`netplumb-cniconf`) and the kernel side (`netplumb-netns`,
//! `netplumb-vf`, `netplumb-bond`) both use these types and re-export them,
//! so a value checked where it comes in (an environment variable, a
//! configuration field, a netlink reply) is never refused later for another
//! reason:
//!
//! - [`IfName`]: an interface name by the kernel's rules, as bytes;
//!   [`AltName`]: an alternative name, or any name a link is looked up by;
//!   [`Alias`]: an interface alias;
//! - [`MacAddr`], [`PciAddr`];
//! - a VF's PF-side [`VlanProto`] and [`VfLinkState`];
//! - the bonding driver's [`BondMode`], [`FailOverMac`] and
//!   [`XmitHashPolicy`], and [`BondOptions`], whose
//!   [`check`](BondOptions::check) holds the rules on how bond options
//!   combine;
//! - [`ErrorKind`], the classes every netplumb error falls into, from which
//!   a plugin picks its CNI error code.
//!
//! Parsers fail with an [`Error`] that says what is wrong and what would
//! be right, and names no field: the caller knows which field or variable
//! held the text, and adds it.
//!
//! This crate knows neither CNI nor netlink; it depends on serde only, so
//! records holding these values can be written down and read back. Values
//! serialize as their text and are read back through their parsers.
//!
//! ```
//! use netplumb_types::{BondMode, IfName, MacAddr, PciAddr};
//!
//! let name: IfName = "net1".parse()?;
//! assert!("net%d".parse::<IfName>().is_err());
//! let mac: MacAddr = "02:00:5E:10:00:01".parse()?;
//! assert_eq!(mac.to_string(), "02:00:5e:10:00:01");
//! let vf: PciAddr = "03:02.1".parse()?;
//! assert_eq!(vf.to_string(), "0000:03:02.1");
//! assert_eq!("lacp".parse::<BondMode>()?, BondMode::Ieee8023ad);
//! # let _ = name;
//! # Ok::<(), netplumb_types::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod alias;
mod altname;
mod bond;
mod bytes;
mod error;
mod ifname;
mod mac;
mod pci;
mod vf;

pub use alias::Alias;
pub use altname::AltName;
pub use bond::{BondMode, BondOption, BondOptions, FailOverMac, XmitHashPolicy, MAX_BOND_MS};
pub use bytes::Escaped;
pub use error::{Chain, Error, ErrorKind, IfNameRule};
pub use ifname::IfName;
pub use mac::MacAddr;
pub use pci::PciAddr;
pub use vf::{VfLinkState, VlanProto};
