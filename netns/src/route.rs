//! Routes.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteNextHop, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::addr::{family_of, ip_of};
use crate::attr::{attributes, u32_of};
use crate::netlink::{Op, RawMessage};
use crate::{Error, LinkRef, Netlink, Scope};

const RTM_NEWROUTE: u16 = 24;
const RTMSG_LEN: usize = 12;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTN_UNICAST: u8 = 1;
/// Size of `struct rtnexthop`, which starts each next hop in
/// `RTA_MULTIPATH`.
const RTNEXTHOP_LEN: usize = 8;

/// The main routing table (`RT_TABLE_MAIN`).
pub const MAIN_TABLE: u32 = 254;

/// A unicast route.
///
/// Build one with [`Route::new`] and the setters:
/// `Route::new(dst).via(gw).dev("net1").metric(100)`; a link may be named
/// by index or by name. A multipath route has
/// its gateways and links in [`next_hops`](Route::next_hops) instead:
/// `Route::new(dst).next_hop(NextHop::via(gw1)).next_hop(NextHop::via(gw2))`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The destination network (`0.0.0.0/0` or `::/0` for a default route).
    pub destination: IpNetwork,
    /// The next hop, if the route is not directly connected.
    pub gateway: Option<IpAddr>,
    /// The outgoing link. Routes read from the kernel name it by index; a
    /// route given by name costs one round trip to look the index up.
    pub link: Option<LinkRef>,
    /// The metric (priority); `None` lets the kernel choose (0 for IPv4,
    /// 1024 for IPv6).
    pub metric: Option<u32>,
    /// The routing table.
    pub table: u32,
    /// The scope (ignored by the kernel for IPv6).
    pub scope: Scope,
    /// The preferred source address.
    pub source: Option<IpAddr>,
    /// The next hops of a multipath route (`RTA_MULTIPATH`); empty for a
    /// route with one path, whose next hop is `gateway` and `link`. The
    /// kernel keeps a multipath route given only one next hop as an
    /// ordinary route, and lists it as one.
    pub next_hops: Vec<NextHop>,
}

/// One next hop of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NextHop {
    /// The gateway, if the next hop is not directly connected.
    pub gateway: Option<IpAddr>,
    /// The outgoing link, by index or name.
    pub link: Option<LinkRef>,
    /// The share of traffic this next hop gets relative to the others, 1
    /// to 256.
    pub weight: u16,
}

impl NextHop {
    /// A next hop through `gateway`, with weight 1.
    pub fn via(gateway: IpAddr) -> NextHop {
        NextHop {
            gateway: Some(gateway),
            link: None,
            weight: 1,
        }
    }

    /// A directly connected next hop out of `link`, with weight 1.
    pub fn through(link: impl Into<LinkRef>) -> NextHop {
        NextHop {
            gateway: None,
            link: Some(link.into()),
            weight: 1,
        }
    }

    /// Sets the outgoing link.
    pub fn dev(mut self, link: impl Into<LinkRef>) -> NextHop {
        self.link = Some(link.into());
        self
    }

    /// Sets the weight (1 to 256).
    pub fn weight(mut self, weight: u16) -> NextHop {
        self.weight = weight;
        self
    }
}

impl Route {
    /// A route to `destination` in the main table with global scope.
    pub fn new(destination: IpNetwork) -> Route {
        Route {
            destination,
            gateway: None,
            link: None,
            metric: None,
            table: MAIN_TABLE,
            scope: Scope::Universe,
            source: None,
            next_hops: Vec::new(),
        }
    }

    /// Sets the next hop.
    pub fn via(mut self, gateway: IpAddr) -> Route {
        self.gateway = Some(gateway);
        self
    }

    /// Sets the outgoing link.
    pub fn dev(mut self, link: impl Into<LinkRef>) -> Route {
        self.link = Some(link.into());
        self
    }

    /// Sets the metric.
    pub fn metric(mut self, metric: u32) -> Route {
        self.metric = Some(metric);
        self
    }

    /// Sets the routing table.
    pub fn table(mut self, table: u32) -> Route {
        self.table = table;
        self
    }

    /// Sets the scope.
    pub fn scope(mut self, scope: Scope) -> Route {
        self.scope = scope;
        self
    }

    /// Sets the preferred source address.
    pub fn source(mut self, source: IpAddr) -> Route {
        self.source = Some(source);
        self
    }

    /// Adds a next hop, making this a multipath route.
    pub fn next_hop(mut self, hop: NextHop) -> Route {
        self.next_hops.push(hop);
        self
    }

    /// Checks what the kernel would refuse or misread: mixed families, a
    /// destination with host bits, table 0, a multipath route with a
    /// gateway of its own.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        let v4 = self.destination.is_ipv4();
        let mixed = |ip: Option<IpAddr>| ip.is_some_and(|ip| ip.is_ipv4() != v4);
        if mixed(self.gateway) {
            return Err(Error::InvalidArgument {
                field: "route gateway",
                value: format!("{:?}", self.gateway),
                expected: "an address of the destination's family",
            });
        }
        if let Some(hop) = self.next_hops.iter().find(|h| mixed(h.gateway)) {
            return Err(Error::InvalidArgument {
                field: "route next hop gateway",
                value: format!("{:?}", hop.gateway),
                expected: "an address of the destination's family",
            });
        }
        if let Some(hop) = self
            .next_hops
            .iter()
            .find(|h| !(1..=256).contains(&h.weight))
        {
            return Err(Error::InvalidArgument {
                field: "route next hop weight",
                value: hop.weight.to_string(),
                expected: "a weight from 1 to 256",
            });
        }
        if !self.next_hops.is_empty() && (self.gateway.is_some() || self.link.is_some()) {
            return Err(Error::InvalidArgument {
                field: "route gateway",
                value: format!("{:?} dev {:?}", self.gateway, self.link),
                expected: "none on a multipath route: each next hop has its own gateway and link",
            });
        }
        if mixed(self.source) {
            return Err(Error::InvalidArgument {
                field: "route source",
                value: format!("{:?}", self.source),
                expected: "an address of the destination's family",
            });
        }
        if self.destination.ip() != self.destination.network() {
            return Err(Error::InvalidArgument {
                field: "route destination",
                value: self.destination.to_string(),
                expected: "a network address with no host bits set, e.g. 192.0.2.0/24",
            });
        }
        if self.table == 0 {
            return Err(Error::InvalidArgument {
                field: "route table",
                value: "0".into(),
                expected: "a table id from 1 to 4294967295 (254 is main)",
            });
        }
        Ok(())
    }
}

/// An `RTM_NEWROUTE`/`RTM_DELROUTE` for `route`, with protocol `boot` as
/// `ip route add` uses. Tables above 255 go in `RTA_TABLE`.
pub(crate) fn route_request(route: &Route, add: bool) -> Result<RouteNetlinkMessage, Error> {
    route.validate()?;
    let mut msg = RouteMessage::default();
    msg.header.address_family = family_of(route.destination.ip());
    msg.header.destination_prefix_length = route.destination.prefix();
    msg.header.protocol = if add {
        RouteProtocol::Boot
    } else {
        RouteProtocol::Unspec
    };
    // A delete matches any scope, as `ip route del` does.
    msg.header.scope = if add {
        RouteScope::from(u8::from(route.scope))
    } else {
        RouteScope::NoWhere
    };
    msg.header.kind = RouteType::Unicast;
    match u8::try_from(route.table) {
        Ok(table) => msg.header.table = table,
        Err(_) => {
            msg.header.table = 0;
            msg.attributes.push(RouteAttribute::Table(route.table));
        }
    }
    if route.destination.prefix() > 0 {
        msg.attributes
            .push(RouteAttribute::Destination(route_address(
                route.destination.ip(),
            )));
    }
    if let Some(gw) = route.gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(route_address(gw)));
    }
    if let Some(src) = route.source {
        msg.attributes
            .push(RouteAttribute::PrefSource(route_address(src)));
    }
    if let Some(metric) = route.metric {
        msg.attributes.push(RouteAttribute::Priority(metric));
    }
    if let Some(link) = &route.link {
        msg.attributes.push(RouteAttribute::Oif(index(link)?));
    }
    if !route.next_hops.is_empty() {
        let hops = route.next_hops.iter().map(|hop| {
            let mut nh = RouteNextHop::default();
            // The kernel keeps weight - 1; validate() kept it in 1..=256.
            nh.hops = u8::try_from(hop.weight.saturating_sub(1)).unwrap_or(u8::MAX);
            nh.interface_index = hop.link.as_ref().map(index).transpose()?.unwrap_or(0);
            nh.attributes.extend(
                hop.gateway
                    .map(|gw| RouteAttribute::Gateway(route_address(gw))),
            );
            Ok(nh)
        });
        msg.attributes.push(RouteAttribute::MultiPath(
            hops.collect::<Result<_, Error>>()?,
        ));
    }
    Ok(if add {
        RouteNetlinkMessage::NewRoute(msg)
    } else {
        RouteNetlinkMessage::DelRoute(msg)
    })
}

/// The index of a link a route names; names were looked up before the
/// request is built ([`Netlink::with_indexes`]).
fn index(link: &LinkRef) -> Result<u32, Error> {
    match link {
        LinkRef::Index(index) => Ok(*index),
        LinkRef::Name(_) => Err(Error::InvalidArgument {
            field: "route link",
            value: link.to_string(),
            expected: "an interface index: names are looked up before the request is built",
        }),
    }
}

fn route_address(ip: IpAddr) -> RouteAddress {
    match ip {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

pub(crate) fn dump_routes_request(family: AddressFamily) -> RouteNetlinkMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = family;
    RouteNetlinkMessage::GetRoute(msg)
}

/// Decodes an `RTM_NEWROUTE`; `None` for routes that are not unicast
/// (local, broadcast, multicast, blackhole, ...).
pub(crate) fn parse_route(msg: &RawMessage<'_>) -> Result<Option<Route>, String> {
    if msg.kind != RTM_NEWROUTE {
        return Err(format!(
            "expected RTM_NEWROUTE, got message type {}",
            msg.kind
        ));
    }
    let payload = msg.payload();
    let header = payload
        .get(..RTMSG_LEN)
        .ok_or_else(|| format!("route message of {} bytes has no rtmsg", payload.len()))?;
    let family = header[0];
    let prefix = header[1];
    if header[7] != RTN_UNICAST {
        return Ok(None);
    }
    let zero = match i32::from(family) {
        libc::AF_INET => IpAddr::from([0u8; 4]),
        libc::AF_INET6 => IpAddr::from([0u8; 16]),
        // Unicast routes of other families (MPLS, ...) are not ours.
        _ => return Ok(None),
    };
    let mut route = Route::new(IpNetwork::new(zero, 0).expect("zero prefix is valid"));
    route.table = u32::from(header[4]);
    route.scope = Scope::from(header[6]);
    let mut destination = zero;
    for attr in attributes(&payload[RTMSG_LEN..]) {
        let (kind, value) = attr?;
        match kind {
            RTA_DST => destination = ip_of(family, value)?,
            RTA_GATEWAY => route.gateway = Some(ip_of(family, value)?),
            RTA_PREFSRC => route.source = Some(ip_of(family, value)?),
            RTA_OIF => route.link = Some(LinkRef::Index(u32_of(value, "RTA_OIF")?)),
            RTA_PRIORITY => route.metric = Some(u32_of(value, "RTA_PRIORITY")?),
            RTA_TABLE => route.table = u32_of(value, "RTA_TABLE")?,
            RTA_MULTIPATH => route.next_hops = parse_next_hops(family, value)?,
            _ => {}
        }
    }
    route.destination =
        IpNetwork::new(destination, prefix).map_err(|e| format!("bad route prefix: {e}"))?;
    Ok(Some(route))
}

/// Decodes the value of `RTA_MULTIPATH`: `struct rtnexthop` (length,
/// flags, weight - 1, link index) followed by its attributes, per hop.
fn parse_next_hops(family: u8, bytes: &[u8]) -> Result<Vec<NextHop>, String> {
    let mut hops = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let head = rest.get(..RTNEXTHOP_LEN).ok_or_else(|| {
            format!(
                "RTA_MULTIPATH ends in {} bytes, less than a next hop",
                rest.len()
            )
        })?;
        let len = usize::from(u16::from_ne_bytes([head[0], head[1]]));
        let attrs = rest.get(RTNEXTHOP_LEN..len).ok_or_else(|| {
            format!(
                "RTA_MULTIPATH next hop claims {len} bytes with {} left",
                rest.len()
            )
        })?;
        let link = u32::from_ne_bytes([head[4], head[5], head[6], head[7]]);
        let mut hop = NextHop {
            gateway: None,
            link: Some(link).filter(|&l| l != 0).map(LinkRef::Index),
            weight: u16::from(head[3]) + 1,
        };
        for attr in attributes(attrs) {
            let (kind, value) = attr?;
            if kind == RTA_GATEWAY {
                hop.gateway = Some(ip_of(family, value)?);
            }
        }
        hops.push(hop);
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    Ok(hops)
}

impl Netlink {
    /// Adds a route. Adding one that exists fails with `EEXIST`.
    pub fn add_route(&self, route: &Route) -> Result<(), Error> {
        let what = format!("add route {}", route.destination);
        let req = route_request(&self.with_indexes(route)?, true)?;
        self.request_ack(Op::new(&what), req, NLM_F_CREATE | NLM_F_EXCL)
    }

    /// Deletes the route matching `route`: its destination and table, and
    /// its gateway, link and metric where given, in any scope.
    pub fn delete_route(&self, route: &Route) -> Result<(), Error> {
        let what = format!("delete route {}", route.destination);
        let req = route_request(&self.with_indexes(route)?, false)?;
        self.request_ack(Op::new(&what), req, 0)
    }

    /// `route` with the links it names by name named by index.
    fn with_indexes(&self, route: &Route) -> Result<Route, Error> {
        let mut route = route.clone();
        let links = route.link.iter_mut().chain(
            route
                .next_hops
                .iter_mut()
                .filter_map(|hop| hop.link.as_mut()),
        );
        for link in links {
            if let LinkRef::Name(_) = link {
                *link = LinkRef::Index(self.index_of(&*link)?);
            }
        }
        Ok(route)
    }

    /// Lists the IPv4 and IPv6 unicast routes of every table.
    pub fn routes(&self) -> Result<Vec<Route>, Error> {
        let mut all = Vec::new();
        for (what, family) in [
            ("dump IPv4 routes", AddressFamily::Inet),
            ("dump IPv6 routes", AddressFamily::Inet6),
        ] {
            let op = Op::new(what);
            all.extend(self.dump(op, dump_routes_request(family), |m| {
                parse_route(m).map_err(|d| op.decode_error(d))
            })?);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{decode_request, encode_request, split_messages};
    use netlink_packet_core::NLM_F_ACK;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn add_route_matches_ip_route_add() {
        // `ip route add 198.51.100.0/24 via 192.0.2.2 dev d0 metric 50`
        // (ifindex 3), as strace showed it (seq 1795313920).
        let ip: &[u8] = &[
            0x3c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x05, 0x06, 0x00, 0x51, 0x02, 0x6b, 0x00, 0x00,
            0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0xfe, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
            0x08, 0x00, 0x01, 0x00, 0xc6, 0x33, 0x64, 0x00, 0x08, 0x00, 0x05, 0x00, 0xc0, 0x00,
            0x02, 0x02, 0x08, 0x00, 0x06, 0x00, 0x32, 0x00, 0x00, 0x00, 0x08, 0x00, 0x04, 0x00,
            0x03, 0x00, 0x00, 0x00,
        ];
        let route = Route::new(net("198.51.100.0/24"))
            .via("192.0.2.2".parse().unwrap())
            .dev(3)
            .metric(50);
        let req = route_request(&route, true).unwrap();
        let bytes = encode_request(
            req.clone(),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            1_795_313_920,
        );
        assert_eq!(bytes, ip);
        assert_eq!(decode_request(&bytes).1, req);
    }

    #[test]
    fn big_tables_go_in_rta_table_and_deletes_match_any_scope() {
        let route = Route::new(net("2001:db8::/32"))
            .table(1000)
            .scope(Scope::Link);
        let req = route_request(&route, false).unwrap();
        let bytes = encode_request(req.clone(), NLM_F_ACK, 1);
        let (_, decoded) = decode_request(&bytes);
        assert_eq!(decoded, req);
        let RouteNetlinkMessage::DelRoute(m) = decoded else {
            panic!("not RTM_DELROUTE")
        };
        assert_eq!(m.header.table, 0);
        assert!(m.attributes.contains(&RouteAttribute::Table(1000)));
        assert_eq!(m.header.scope, RouteScope::NoWhere);
        assert_eq!(m.header.protocol, RouteProtocol::Unspec);
    }

    #[test]
    fn default_route_has_no_destination_attribute() {
        let req = route_request(
            &Route::new(net("0.0.0.0/0")).via("192.0.2.1".parse().unwrap()),
            true,
        )
        .unwrap();
        let RouteNetlinkMessage::NewRoute(m) = &req else {
            panic!("not RTM_NEWROUTE")
        };
        assert!(!m
            .attributes
            .iter()
            .any(|a| matches!(a, RouteAttribute::Destination(_))));
        assert_eq!(m.header.table, 254);
    }

    #[test]
    fn bad_routes_are_rejected_with_the_field_named() {
        let cases = [
            (Route::new(net("192.0.2.1/24")), "route destination"),
            (
                Route::new(net("192.0.2.0/24")).via("2001:db8::1".parse().unwrap()),
                "route gateway",
            ),
            (
                Route::new(net("2001:db8::/32")).source("192.0.2.1".parse().unwrap()),
                "route source",
            ),
            (Route::new(net("192.0.2.0/24")).table(0), "route table"),
        ];
        for (route, field) in cases {
            match route_request(&route, true) {
                Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{route:?}: {other:?}"),
            }
        }
    }

    fn reply(msg: RouteMessage) -> Vec<u8> {
        encode_request(RouteNetlinkMessage::NewRoute(msg), 0, 1)
    }

    #[test]
    fn parses_routes_and_skips_non_unicast() {
        let route = Route::new(net("198.51.100.0/24"))
            .via("192.0.2.2".parse().unwrap())
            .dev(3)
            .metric(50)
            .table(1000)
            .source("192.0.2.1".parse().unwrap());
        let RouteNetlinkMessage::NewRoute(msg) = route_request(&route, true).unwrap() else {
            panic!("not RTM_NEWROUTE")
        };
        let bytes = reply(msg.clone());
        let parsed = parse_route(&split_messages(&bytes).unwrap()[0]).unwrap();
        assert_eq!(parsed, Some(route));

        let mut local = msg;
        local.header.kind = RouteType::Local;
        let bytes = reply(local);
        assert_eq!(
            parse_route(&split_messages(&bytes).unwrap()[0]).unwrap(),
            None
        );
    }

    #[test]
    fn multipath_routes_round_trip_and_are_checked() {
        let route = Route::new(net("203.0.113.0/24"))
            .next_hop(NextHop::via("192.0.2.1".parse().unwrap()).dev(3))
            .next_hop(
                NextHop::via("198.51.100.1".parse().unwrap())
                    .dev(4)
                    .weight(256),
            )
            .next_hop(NextHop::through(5).weight(2));
        let RouteNetlinkMessage::NewRoute(msg) = route_request(&route, true).unwrap() else {
            panic!("not RTM_NEWROUTE")
        };
        let bytes = reply(msg);
        let parsed = parse_route(&split_messages(&bytes).unwrap()[0]).unwrap();
        assert_eq!(parsed, Some(route.clone()));

        let cases = [
            (
                route.clone().via("192.0.2.9".parse().unwrap()),
                "route gateway",
            ),
            (route.clone().dev(3), "route gateway"),
            (
                route
                    .clone()
                    .next_hop(NextHop::via("2001:db8::1".parse().unwrap())),
                "route next hop gateway",
            ),
            (
                route.clone().next_hop(NextHop::through(3).weight(0)),
                "route next hop weight",
            ),
            (
                route.next_hop(NextHop::through(3).weight(257)),
                "route next hop weight",
            ),
        ];
        for (bad, field) in cases {
            match route_request(&bad, true) {
                Err(Error::InvalidArgument { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn malformed_next_hops_are_errors() {
        let v4 = libc::AF_INET as u8;
        assert!(
            parse_next_hops(v4, &[16, 0, 0, 0, 3, 0, 0, 0]).is_err(),
            "too long"
        );
        assert!(
            parse_next_hops(v4, &[4, 0, 0, 0, 3, 0, 0, 0]).is_err(),
            "too short"
        );
        assert!(parse_next_hops(v4, &[8, 0, 0, 0]).is_err(), "cut");
        let hops = parse_next_hops(v4, &[8, 0, 0, 4, 3, 0, 0, 0]).unwrap();
        assert_eq!(hops, vec![NextHop::through(3).weight(5)]);
    }

    proptest::proptest! {
        #[test]
        fn next_hop_parser_never_panics(family: u8, bytes: Vec<u8>) {
            let _ = parse_next_hops(family, &bytes);
        }

        #[test]
        fn routes_round_trip(
            dst in proptest::array::uniform4(0u8..), prefix in 0u8..=32,
            gw in proptest::option::of(proptest::array::uniform4(0u8..)),
            metric in proptest::option::of(0u32..), table in 1u32..,
            link in proptest::option::of(1u32..), scope: u8,
        ) {
            let dst = ipnetwork::Ipv4Network::new(dst.into(), prefix).unwrap();
            let dst = IpNetwork::new(IpAddr::V4(dst.network()), prefix).unwrap();
            let mut route = Route::new(dst).table(table).scope(Scope::from(scope));
            route.gateway = gw.map(IpAddr::from);
            route.metric = metric;
            route.link = link.map(LinkRef::Index);
            let RouteNetlinkMessage::NewRoute(msg) = route_request(&route, true).unwrap() else {
                panic!("not RTM_NEWROUTE")
            };
            let bytes = reply(msg);
            let parsed = parse_route(&split_messages(&bytes).unwrap()[0]).unwrap();
            proptest::prop_assert_eq!(parsed, Some(route));
        }
    }
}
