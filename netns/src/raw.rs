//! The request machinery over netlink-packet-route message types, for
//! messages this crate does not model (VF settings in `IFLA_VFINFO_LIST`,
//! bond options in `IFLA_INFO_DATA`, port options in
//! `IFLA_INFO_SLAVE_DATA`).
//!
//! **Not covered by semver.** netlink-packet-route changes its API between
//! minor versions; this module re-exports the exact version this crate is
//! built with, so callers never mix two versions, and it may change in any
//! release of this crate.
//!
//! Requests still get sequence numbers, dump retries, buffer growth,
//! extended-ack errors and round-trip counting.

pub use netlink_packet_core;
pub use netlink_packet_route;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::link::LinkMessage;
use netlink_packet_route::RouteNetlinkMessage;

use crate::netlink::{Op, RawMessage};
use crate::{Error, LinkRef, Netlink};

/// A link message addressed to `link`: the index in the header, or the
/// (validated) name as `IFLA_IFNAME` / `IFLA_ALT_IFNAME`. Add attributes and
/// send it with [`Netlink::raw_request`].
pub fn link_message(link: &LinkRef) -> Result<LinkMessage, Error> {
    crate::link::link_message(link)
}

impl Netlink {
    /// Sends `msg` with `NLM_F_REQUEST | NLM_F_ACK | flags` and waits for
    /// the ack. Returns the messages the kernel sent before the ack (none,
    /// unless `flags` asks for some, e.g. `NLM_F_ECHO`). `what` and `link`
    /// name the operation in errors.
    pub fn raw_request(
        &self,
        what: &str,
        link: Option<&LinkRef>,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        let op = op(what, link);
        self.request_collect(op, msg, flags, |m| decode(op, m).map(Some))
    }

    /// Sends a get request and returns its one reply. The request carries
    /// `NLM_F_ACK` too, so a message the kernel answers with no reply ends
    /// in an [`Error::Decode`] instead of a wait.
    pub fn raw_get(
        &self,
        what: &str,
        link: Option<&LinkRef>,
        msg: RouteNetlinkMessage,
    ) -> Result<RouteNetlinkMessage, Error> {
        let op = op(what, link);
        self.request_one(op, msg, |m| decode(op, m))
    }

    /// Dumps (`NLM_F_DUMP`), retrying while the kernel reports the dump
    /// inconsistent, and returns every message.
    pub fn raw_dump(
        &self,
        what: &str,
        msg: RouteNetlinkMessage,
    ) -> Result<Vec<RouteNetlinkMessage>, Error> {
        let op = Op::new(what);
        self.dump(op, msg, |m| decode(op, m).map(Some))
    }
}

fn op<'a>(what: &'a str, link: Option<&'a LinkRef>) -> Op<'a> {
    Op {
        what,
        link: link.map(|l| l as &dyn std::fmt::Display),
    }
}

fn decode(op: Op<'_>, m: &RawMessage<'_>) -> Result<RouteNetlinkMessage, Error> {
    let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(m.bytes)
        .map_err(|e| op.decode_error(e.to_string()))?;
    match parsed.payload {
        NetlinkPayload::InnerMessage(inner) => Ok(inner),
        other => Err(op.decode_error(format!("unexpected netlink payload {other:?}"))),
    }
}
