//! Addresses and routes on a link, configured in one call the way CNI
//! plugins do it, and the waits that go with it (carrier, IPv6 duplicate
//! address detection).

use std::fmt;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use netplumb_types::IfName;

use crate::sysctl::IpFamily;
use crate::{Error, LinkRef, NetNs, Netlink, Route};

/// `IFA_F_DADFAILED`: duplicate address detection found the address in use.
const IFA_F_DADFAILED: u32 = 0x08;
/// `IFA_F_TENTATIVE`: duplicate address detection has not finished.
const IFA_F_TENTATIVE: u32 = 0x40;

/// How often [`Netlink::settle_ipv6`] looks at the addresses again.
const SETTLE_INTERVAL: Duration = Duration::from_millis(50);
/// How long [`NetNs::configure_ip`] waits for IPv6 duplicate address
/// detection. With the default one probe a second, it ends after about a
/// second.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(5);
/// The first and the longest pause of [`Netlink::wait_for_carrier`].
const CARRIER_FIRST_PAUSE: Duration = Duration::from_millis(5);
const CARRIER_LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// The addresses and routes [`NetNs::configure_ip`] puts on a link.
///
/// ```
/// use netplumb_netns::{IpConfig, Route};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let config = IpConfig::new()
///     .address("192.0.2.10/24".parse()?)
///     .address("2001:db8::10/64".parse()?)
///     .gateway("2001:db8::1".parse()?)
///     .route(Route::new("0.0.0.0/0".parse()?).via("192.0.2.1".parse()?))
///     .route(Route::new("::/0".parse()?).via("2001:db8::1".parse()?));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpConfig {
    /// The addresses, with their prefix lengths, added in this order.
    pub addresses: Vec<IpNetwork>,
    /// The gateways of the addresses' networks (CNI's `ips[].gateway`).
    /// They route nothing by themselves: every route names its own
    /// gateway. An IPv6 one here (or on a route) makes
    /// [`NetNs::configure_ip`] wait for IPv6 duplicate address detection
    /// before it adds the routes.
    pub gateways: Vec<IpAddr>,
    /// The routes, added in this order after the addresses. A route (or a
    /// next hop of one) that names no link goes out of the link being
    /// configured.
    pub routes: Vec<Route>,
}

impl IpConfig {
    /// A configuration with nothing in it.
    pub fn new() -> IpConfig {
        IpConfig::default()
    }

    /// Adds an address.
    pub fn address(mut self, address: IpNetwork) -> IpConfig {
        self.addresses.push(address);
        self
    }

    /// Adds a gateway.
    pub fn gateway(mut self, gateway: IpAddr) -> IpConfig {
        self.gateways.push(gateway);
        self
    }

    /// Adds a route.
    pub fn route(mut self, route: Route) -> IpConfig {
        self.routes.push(route);
        self
    }

    /// True when an IPv6 gateway is given, on its own or on a route: that
    /// is when the routes wait for IPv6 duplicate address detection.
    fn has_ipv6_gateway(&self) -> bool {
        let on_routes = self.routes.iter().flat_map(|r| {
            r.gateway
                .into_iter()
                .chain(r.next_hops.iter().filter_map(|h| h.gateway))
        });
        self.gateways
            .iter()
            .copied()
            .chain(on_routes)
            .any(|gw| gw.is_ipv6())
    }
}

/// A step of [`NetNs::configure_ip`], named by the error of the step that
/// failed ([`Error::ip_step`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IpStep {
    /// Looking the link up.
    LookUpLink,
    /// Setting `disable_ipv6` to 0 on a link: on `lo` and on the link
    /// being configured, before an IPv6 address is added.
    EnableIpv6(IfName),
    /// Setting `keep_addr_on_down` to 1 on the link, so that its IPv6
    /// addresses survive it going down.
    KeepAddressesOnDown,
    /// Adding an address.
    AddAddress(IpNetwork),
    /// Setting the link up.
    SetUp,
    /// Waiting for IPv6 duplicate address detection to finish.
    SettleIpv6,
    /// Adding a route, as the configuration gave it.
    AddRoute(Route),
}

impl fmt::Display for IpStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpStep::LookUpLink => f.write_str("look up the link"),
            IpStep::EnableIpv6(link) => write!(f, "enable IPv6 on {link}"),
            IpStep::KeepAddressesOnDown => f.write_str("keep addresses when the link goes down"),
            IpStep::AddAddress(address) => write!(f, "add address {address}"),
            IpStep::SetUp => f.write_str("set the link up"),
            IpStep::SettleIpv6 => f.write_str("wait for IPv6 duplicate address detection"),
            IpStep::AddRoute(route) => {
                write!(f, "add route {}", route.destination)?;
                if let Some(gateway) = route.gateway {
                    write!(f, " via {gateway}")?;
                }
                Ok(())
            }
        }
    }
}

impl NetNs {
    /// Configures `link` in this namespace with `config`, as the CNI
    /// plugins' `ipam.ConfigureIface` does:
    ///
    /// 1. when there is an IPv6 address, `disable_ipv6` is set to 0 on `lo`
    ///    and on the link where it is not 0 already, and `keep_addr_on_down`
    ///    to 1 on the link;
    /// 2. every address is added (one the link already has is an error);
    /// 3. the link is set up;
    /// 4. when there is an IPv6 gateway, it waits up to 5 s for IPv6
    ///    duplicate address detection ([`Netlink::settle_ipv6`]);
    /// 5. every route is added, out of `link` unless it names its own.
    ///
    /// The routes are checked before anything is changed. Any failure is
    /// an [`Error::ConfigureIp`] naming the [`IpStep`], with the cause as
    /// its source; what the steps before it did is left in place.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use netplumb_netns::{IfName, IpConfig, NetNs, Route};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let pod = NetNs::open("/run/netns/pod")?;
    /// let net1: IfName = "net1".parse()?;
    /// let config = IpConfig::new()
    ///     .address("192.0.2.10/24".parse()?)
    ///     .route(Route::new("0.0.0.0/0".parse()?).via("192.0.2.1".parse()?));
    /// pod.configure_ip(&net1, &config)?;
    /// if pod.netlink()?.wait_for_carrier(net1, Duration::from_secs(5))? {
    ///     pod.announce(&net1, &["192.0.2.10".parse()?])?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn configure_ip(&self, link: &IfName, config: &IpConfig) -> Result<(), Error> {
        let failed = |step: IpStep| {
            move |source: Error| Error::ConfigureIp {
                link: *link,
                step: Box::new(step),
                source: Box::new(source),
            }
        };
        let nl = self.netlink().map_err(failed(IpStep::LookUpLink))?;
        let index = nl.index_of(link).map_err(failed(IpStep::LookUpLink))?;
        let routes = config
            .routes
            .iter()
            .map(|route| {
                let on_link = route_on_link(route, index);
                on_link
                    .validate()
                    .map(|()| on_link)
                    .map_err(failed(IpStep::AddRoute(route.clone())))
            })
            .collect::<Result<Vec<_>, _>>()?;

        if config.addresses.iter().any(|a| a.is_ipv6()) {
            let lo: IfName = "lo".parse().expect("a valid name");
            for name in [&lo, link] {
                self.ensure_link_sysctl(IpFamily::V6, name, "disable_ipv6", "0")
                    .map_err(failed(IpStep::EnableIpv6(*name)))?;
            }
            self.ensure_link_sysctl(IpFamily::V6, link, "keep_addr_on_down", "1")
                .map_err(failed(IpStep::KeepAddressesOnDown))?;
        }
        for &address in &config.addresses {
            nl.add_address(index, address)
                .map_err(failed(IpStep::AddAddress(address)))?;
        }
        nl.set_up(index).map_err(failed(IpStep::SetUp))?;
        if config.has_ipv6_gateway() {
            nl.settle_ipv6(link, SETTLE_TIMEOUT)
                .map_err(failed(IpStep::SettleIpv6))?;
        }
        for (route, given) in routes.iter().zip(&config.routes) {
            nl.add_route(route)
                .map_err(failed(IpStep::AddRoute(given.clone())))?;
        }
        Ok(())
    }
}

/// `route` with its link, and the links of its next hops, defaulting to
/// link `index`.
fn route_on_link(route: &Route, index: u32) -> Route {
    let mut route = route.clone();
    if route.next_hops.is_empty() {
        route.link.get_or_insert(LinkRef::Index(index));
    }
    for hop in &mut route.next_hops {
        hop.link.get_or_insert(LinkRef::Index(index));
    }
    route
}

impl Netlink {
    /// Waits until `link` has carrier (`IFF_LOWER_UP`): true when it has
    /// it within `timeout`, false when not. It looks again after a pause
    /// that starts at 5 ms and doubles up to 100 ms.
    pub fn wait_for_carrier(
        &self,
        link: impl Into<LinkRef>,
        timeout: Duration,
    ) -> Result<bool, Error> {
        let link = link.into();
        let deadline = Instant::now() + timeout;
        let mut pause = CARRIER_FIRST_PAUSE;
        loop {
            if self.link(&link)?.is_lower_up() {
                return Ok(true);
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(false);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(CARRIER_LONGEST_PAUSE);
        }
    }

    /// Waits until no IPv6 address of `link` is tentative, that is until
    /// duplicate address detection has finished for all of them, looking
    /// every 50 ms. The kernel has no event for it.
    ///
    /// An address that failed detection is [`Error::DuplicateAddress`] at
    /// once. When `timeout` passes with addresses still tentative, that is
    /// [`Error::StillTentative`] if the link is up and has carrier;
    /// without carrier detection cannot run yet (it runs once the link has
    /// carrier), and the wait ends without an error.
    pub fn settle_ipv6(&self, link: impl Into<LinkRef>, timeout: Duration) -> Result<(), Error> {
        let link = link.into();
        let index = self.index_of(&link)?;
        let start = Instant::now();
        loop {
            let addresses = self.addresses(index)?;
            let v6 = addresses.iter().filter(|a| a.address.is_ipv6());
            if let Some(failed) = v6.clone().find(|a| a.flags & IFA_F_DADFAILED != 0) {
                return Err(Error::DuplicateAddress {
                    link,
                    address: failed.address,
                });
            }
            let tentative: Vec<IpNetwork> = v6
                .filter(|a| a.flags & IFA_F_TENTATIVE != 0)
                .map(|a| a.address)
                .collect();
            if tentative.is_empty() {
                return Ok(());
            }
            let waited = start.elapsed();
            if waited >= timeout {
                let now = self.link(index)?;
                if now.is_up() && now.is_lower_up() {
                    return Err(Error::StillTentative {
                        link,
                        addresses: tentative,
                        waited,
                    });
                }
                return Ok(());
            }
            std::thread::sleep(SETTLE_INTERVAL.min(timeout - waited));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Answer, FakeKernel, Request};
    use crate::{Errno, LinkInfo, NextHop};

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_ipv6_gateway_anywhere_means_waiting_for_dad() {
        let v4 = IpConfig::new()
            .address(net("192.0.2.10/24"))
            .address(net("2001:db8::10/64"))
            .gateway(ip("192.0.2.1"))
            .route(Route::new(net("0.0.0.0/0")).via(ip("192.0.2.1")));
        assert!(!v4.has_ipv6_gateway());
        assert!(v4.clone().gateway(ip("2001:db8::1")).has_ipv6_gateway());
        assert!(v4
            .clone()
            .route(Route::new(net("::/0")).via(ip("2001:db8::1")))
            .has_ipv6_gateway());
        assert!(v4
            .route(Route::new(net("::/0")).next_hop(NextHop::via(ip("fe80::1"))))
            .has_ipv6_gateway());
    }

    #[test]
    fn routes_default_to_the_configured_link() {
        let plain = route_on_link(&Route::new(net("0.0.0.0/0")).via(ip("192.0.2.1")), 7);
        assert_eq!(plain.link, Some(LinkRef::Index(7)));
        let elsewhere = route_on_link(&Route::new(net("198.51.100.0/24")).dev("eth9"), 7);
        assert_eq!(elsewhere.link, Some(LinkRef::from("eth9")));
        let multipath = route_on_link(
            &Route::new(net("203.0.113.0/24"))
                .next_hop(NextHop::via(ip("192.0.2.1")))
                .next_hop(NextHop::via(ip("192.0.2.2")).dev(3)),
            7,
        );
        assert_eq!(multipath.link, None, "a multipath route has no link itself");
        assert_eq!(multipath.next_hops[0].link, Some(LinkRef::Index(7)));
        assert_eq!(multipath.next_hops[1].link, Some(LinkRef::Index(3)));
    }

    #[test]
    fn steps_say_what_was_being_done() {
        let cases = [
            (IpStep::LookUpLink, "look up the link"),
            (
                IpStep::EnableIpv6("lo".parse().unwrap()),
                "enable IPv6 on lo",
            ),
            (
                IpStep::AddAddress(net("192.0.2.10/24")),
                "add address 192.0.2.10/24",
            ),
            (
                IpStep::AddRoute(Route::new(net("::/0")).via(ip("2001:db8::1"))),
                "add route ::/0 via 2001:db8::1",
            ),
            (
                IpStep::AddRoute(Route::new(net("198.51.100.0/24"))),
                "add route 198.51.100.0/24",
            ),
        ];
        for (step, text) in cases {
            assert_eq!(step.to_string(), text);
        }
    }

    fn net1() -> IfName {
        "net1".parse().unwrap()
    }

    #[test]
    fn a_refused_route_is_named_and_nothing_after_it_is_sent() {
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::GetLink, Answer::link(LinkInfo::new(5, net1())))
            .expect(Request::NewAddress, Answer::Ack)
            .expect(Request::SetLink, Answer::Ack)
            .expect(Request::NewRoute, Answer::Ack)
            .expect(
                Request::NewRoute,
                Answer::error(Errno::ENETUNREACH, "Nexthop has invalid gateway"),
            );
        let refused = Route::new(net("198.51.100.0/24")).via(ip("203.0.113.1"));
        let config = IpConfig::new()
            .address(net("192.0.2.10/24"))
            .route(Route::new(net("0.0.0.0/0")).via(ip("192.0.2.1")))
            .route(refused.clone())
            .route(Route::new(net("203.0.113.0/24")).via(ip("192.0.2.1")));
        let err = kernel
            .namespace("/run/netns/pod")
            .configure_ip(&net1(), &config)
            .unwrap_err();
        kernel.finish();
        assert_eq!(err.ip_step(), Some(&IpStep::AddRoute(refused)));
        assert_eq!(
            err.to_string(),
            "configure IP on link net1: add route 198.51.100.0/24 via 203.0.113.1"
        );
        assert_eq!(err.errno(), Some(Errno::ENETUNREACH));
        assert_eq!(err.ext_ack(), Some("Nexthop has invalid gateway"));
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("Nexthop has invalid gateway"), "{source}");
    }

    #[test]
    fn a_bad_route_is_refused_before_anything_changes() {
        let kernel = FakeKernel::new();
        kernel.expect(Request::GetLink, Answer::link(LinkInfo::new(5, net1())));
        let bad = Route::new(net("198.51.100.7/24"));
        let config = IpConfig::new()
            .address(net("192.0.2.10/24"))
            .route(bad.clone());
        let err = kernel
            .namespace("/run/netns/pod")
            .configure_ip(&net1(), &config)
            .unwrap_err();
        kernel.finish();
        assert_eq!(err.ip_step(), Some(&IpStep::AddRoute(bad)));
        assert_eq!(err.kind(), crate::ErrorKind::Invalid);
    }

    #[test]
    fn an_address_present_already_is_an_error_naming_it() {
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::GetLink, Answer::link(LinkInfo::new(5, net1())))
            .expect(Request::NewAddress, Answer::Ack)
            .expect(
                Request::NewAddress,
                Answer::error(Errno::EEXIST, "ipv4: Address already assigned"),
            );
        let config = IpConfig::new()
            .address(net("192.0.2.10/24"))
            .address(net("192.0.2.11/24"));
        let err = kernel
            .namespace("/run/netns/pod")
            .configure_ip(&net1(), &config)
            .unwrap_err();
        kernel.finish();
        assert_eq!(
            err.ip_step(),
            Some(&IpStep::AddAddress(net("192.0.2.11/24")))
        );
        assert!(err.is_already_exists());
        assert_eq!(err.kind(), crate::ErrorKind::AlreadyExists);
    }
}
