//! Network namespaces and a synchronous rtnetlink client bound to one.
//!
//! [`NetNs`] opens a namespace (checked to really be a network namespace),
//! creates and removes named ones the way `ip netns` does, and runs code
//! inside one on a throw-away thread ([`NetNs::run`]), so the caller's
//! thread never changes namespace.
//!
//! [`Netlink`] is an rtnetlink socket created inside a namespace; it keeps
//! that namespace for life and can be used from any thread. Its verbs read
//! and change links (including moving a link into another namespace and
//! renaming it in one message, and reading a PF's VF table), addresses and
//! routes, read the neighbour table, and wait for carrier and for IPv6
//! duplicate address detection; every error names the operation, the link,
//! the errno and the kernel's extended-ack text.
//!
//! What a link needs once it is in a pod is done from inside the pod's
//! namespace: per-link sysctls ([`NetNs::set_link_sysctl`]), its addresses
//! and routes in one call ([`NetNs::configure_ip`] with an [`IpConfig`]),
//! and announcing its addresses at its MAC with gratuitous ARP and
//! unsolicited neighbour advertisements ([`NetNs::announce`]).
//!
//! ```no_run
//! use netplumb_netns::{IfName, NetNs, Route};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let pod = NetNs::open("/run/netns/pod")?;
//! let host = NetNs::current()?.netlink()?;
//! let vf = host.link("enp1s0f0v3")?;
//! let net1: IfName = "net1".parse()?;
//! host.move_link(vf.index, &pod, Some(&net1))?;
//!
//! let nl = pod.netlink()?;
//! nl.add_address(&net1, "192.0.2.10/24".parse()?)?;
//! nl.set_up(&net1)?;
//! nl.add_route(&Route::new("0.0.0.0/0".parse()?).via("192.0.2.1".parse()?).dev(&net1))?;
//! # Ok(())
//! # }
//! ```
//!
//! Every reply about links is decoded by one decoder ([`LinkInfo`]) that
//! skips what it does not know and keeps names and aliases as the bytes
//! they are, and every link change is built by one builder
//! ([`LinkChange`]). Names, aliases and MACs are the shared value types of
//! `netplumb-types` ([`IfName`], [`AltName`], [`Alias`], [`MacAddr`]),
//! re-exported here.
//!
//! Errors follow the workspace's convention: a message says what failed
//! and never repeats its source (follow [`std::error::Error::source`] for
//! the cause), and [`Error::kind`] classes it.
//!
//! netlink-packet-route types never appear in this API, except behind the
//! `raw` cargo feature, whose `raw` module is not covered by semver.

#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs)]

mod addr;
mod announce;
mod attr;
mod caps;
mod change;
mod error;
mod ethtool;
mod ipconf;
mod link;
mod link_ref;
mod neigh;
mod netlink;
mod ns;
#[cfg(feature = "raw")]
pub mod raw;
mod route;
mod sysctl;
#[cfg(feature = "test-support")]
pub mod testing;
mod vfinfo;

/// The `ipnetwork` crate this crate's API uses ([`Address::address`],
/// [`Route::destination`]), so that callers name the same version.
pub use ipnetwork;
/// The shared value types this crate's API uses.
pub use netplumb_types as types;
pub use netplumb_types::{Alias, AltName, ErrorKind, IfName, MacAddr, VfLinkState, VlanProto};
/// The errno type of [`Error::errno`].
pub use nix::errno::Errno;

pub use crate::addr::Address;
pub use crate::caps::{require_capabilities, Capability};
pub use crate::change::LinkChange;
pub use crate::error::Error;
pub use crate::ipconf::{IpConfig, IpStep};
pub use crate::link::{BondData, BondPortData, LinkInfo, OperState};
pub use crate::link_ref::{LinkRef, Scope};
pub use crate::neigh::Neighbour;
pub use crate::netlink::{round_trips_in_process, Netlink, INITIAL_RECV_BUFFER};
pub use crate::ns::{current_id, NetNs, NsId, NETNS_RUN_DIR};
pub use crate::route::{NextHop, Route, MAIN_TABLE};
pub use crate::sysctl::IpFamily;
pub use crate::vfinfo::VfInfo;
