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
//! routes, and every error names the operation, the link, the errno and the
//! kernel's extended-ack text.
//!
//! ```no_run
//! use netplumb_netns::{NetNs, Route};
//!
//! # fn main() -> Result<(), netplumb_netns::Error> {
//! let pod = NetNs::open("/run/netns/pod")?;
//! let host = NetNs::current()?.netlink()?;
//! let vf = host.link("enp1s0f0v3")?;
//! host.move_link(vf.index, &pod, Some("net1"))?;
//!
//! let nl = pod.netlink()?;
//! nl.add_address("net1", "192.0.2.10/24".parse().unwrap())?;
//! nl.set_up("net1")?;
//! let index = nl.index_of("net1")?;
//! nl.add_route(&Route::new("0.0.0.0/0".parse().unwrap()).via("192.0.2.1".parse().unwrap()).dev(index))?;
//! # Ok(())
//! # }
//! ```
//!
//! netlink-packet-route types never appear in this API, except behind the
//! `raw` cargo feature, whose `raw` module is not covered by semver.

#![warn(missing_docs)]

mod addr;
mod attr;
mod caps;
mod error;
mod link;
mod netlink;
mod ns;
#[cfg(feature = "raw")]
pub mod raw;
mod route;
mod types;
mod vfinfo;

pub use crate::addr::Address;
pub use crate::caps::{require_capabilities, Capability};
pub use crate::error::Error;
pub use crate::link::{LinkInfo, OperState, MAX_ALIAS_LEN};
pub use crate::netlink::{Netlink, INITIAL_RECV_BUFFER};
pub use crate::ns::{current_id, NetNs, NsId, NETNS_RUN_DIR};
pub use crate::route::{NextHop, Route, MAIN_TABLE};
pub use crate::types::{IfName, LinkRef, MacAddr, Scope, MAX_ALTNAME_LEN, MAX_IFNAME_LEN};
pub use crate::vfinfo::{VfInfo, VfLinkState, VlanProto};
