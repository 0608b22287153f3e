//! CNI protocol types for netplumb: the plugin environment, network
//! configurations, plugin-specific configs for `sriov` and `bond`, results in
//! every spec version from 0.3.0 to 1.1.0, and the spec's error and version
//! replies.
//!
//! This crate knows the CNI protocol and nothing about the kernel. Input is
//! read leniently (numbers written as strings, numeric aliases, unknown fields
//! kept) and written strictly (canonical forms).
//!
//! Interface names, MAC and PCI addresses, a VF's VLAN protocol and link
//! state, and bond modes and options are [`netplumb_types`]'s (re-exported
//! here, and whole as [`types`]), which the kernel crates use too: a value
//! that passes here is never refused there for another reason. Every field
//! and variable holding one is read by that type's parser, and an error
//! names the field or variable, then says what the type's parser says.
//!
//! Known keys of configurations and results match in any ASCII case
//! (`"Vlan"`, `"deviceId"`, `"MIIMON"`), since the reference plugins decode
//! with Go's encoding/json, which matches them so; the same key spelled two
//! ways is an error naming both. A configuration list's own keys
//! (`plugins`, `cniVersions`, ...) match exactly, as libcni reads them. Every parse error names the
//! field or variable at fault and what would be right, and maps to a CNI error
//! code through [`Error::code`].
//!
//! [`skel`] is the plugin skeleton the plugin binaries share: environment
//! and stdin in, stdout bytes and an exit code out, and IPAM delegation.
//!
//! ```
//! use netplumb_cniconf::{BondConf, BondMode, CniVersion, Command, Env};
//!
//! let env = Env::from_vars([
//!     ("CNI_COMMAND", "ADD"),
//!     ("CNI_CONTAINERID", "c1"),
//!     ("CNI_NETNS", "/run/netns/pod"),
//!     ("CNI_IFNAME", "bond0"),
//! ])?;
//! assert_eq!(env.command, Command::Add);
//!
//! let conf = BondConf::from_slice(br#"{
//!     "cniVersion": "0.3.1", "name": "bond-net1", "type": "bond",
//!     "mode": "active-backup", "miimon": "100", "failOverMac": 1,
//!     "links": [{"name": "net1"}, {"name": "net2"}]
//! }"#)?;
//! assert_eq!(conf.options.mode, BondMode::ActiveBackup);
//! assert_eq!(conf.options.miimon, Some(100));
//! assert_eq!(conf.net.result_version(), CniVersion::V0_3_1);
//! # Ok::<(), netplumb_cniconf::Error>(())
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bond;
mod conf;
mod env;
mod error;
mod json;
mod names;
mod plugin_options;
mod result;
pub mod skel;
mod sriov;
mod version;

/// The `ipnetwork` crate this crate's API uses ([`IpConfig::address`],
/// [`Route::dst`], [`RuntimeConfig::ips`]), so that callers name the same
/// version.
pub use ipnetwork;
/// The `serde_json` crate this crate's API uses (`extra` fields, `args`,
/// `prevResult`, the `to_json` methods), so that callers name the same
/// version.
pub use serde_json;

/// The value types this crate shares with the kernel crates, and the rules
/// they follow.
pub use netplumb_types as types;
pub use netplumb_types::{
    BondMode, BondOptions, FailOverMac, IfName, MacAddr, PciAddr, VfLinkState, VlanProto,
    XmitHashPolicy,
};

pub use bond::BondConf;
pub use conf::{Dns, GcAttachment, Ipam, NetConf, NetConfList, RuntimeConfig};
pub use env::{CniArgs, Command, Env};
pub use error::{codes, Error, ErrorReply};
pub use names::{check_network_name, ContainerId, ValueError, MAX_CONTAINER_ID, MAX_NETWORK_NAME};
pub use plugin_options::{LogLevel, PluginOptions};
pub use result::{CniResult, Interface, IpConfig, Route};
pub use sriov::{SriovConf, VfSelector};
pub use version::{CniVersion, VersionReply};
