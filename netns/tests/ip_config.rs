//! What a plugin does to an interface once it is in the pod (sysctls,
//! addresses, routes, waiting for carrier, announcing the addresses),
//! against this host's kernel, with veth pairs between private namespaces
//! each test creates.

mod common;

use std::net::{IpAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::{root_or_skip, unique_name};
use ipnetwork::IpNetwork;
use netplumb_netns::{
    Errno, Error, ErrorKind, IfName, IpConfig, IpFamily, IpStep, LinkRef, MacAddr, NetNs, Netlink,
    Route,
};

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

/// A pod and a peer namespace joined by a veth pair, the peer's end up.
struct Wire {
    pod: NetNs,
    pod_nl: Netlink,
    pod_link: IfName,
    peer: NetNs,
    peer_nl: Netlink,
    peer_link: IfName,
}

fn wire() -> Wire {
    let pod = NetNs::new_unnamed().unwrap();
    let peer = NetNs::new_unnamed().unwrap();
    let pod_nl = pod.netlink().unwrap();
    let peer_nl = peer.netlink().unwrap();
    let (pod_link, peer_link) = (unique_name("pa"), unique_name("pb"));
    pod_nl.add_veth(&pod_link, &peer_link, Some(&peer)).unwrap();
    peer_nl.set_up(peer_link).unwrap();
    Wire {
        pod,
        pod_nl,
        pod_link,
        peer,
        peer_nl,
        peer_link,
    }
}

fn wire_or_skip(test: &str) -> Option<Wire> {
    root_or_skip(test).then(wire)
}

/// Gives the peer `addresses` at once, without duplicate address
/// detection, so that they answer as soon as the pod asks.
fn address_peer(w: &Wire, addresses: &[&str]) {
    w.peer
        .set_link_sysctl(IpFamily::V6, &w.peer_link, "accept_dad", "0")
        .unwrap();
    for a in addresses {
        w.peer_nl.add_address(w.peer_link, net(a)).unwrap();
    }
}

/// Polls `f` until it gives a value, for up to `timeout`.
fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The MAC the namespace's neighbour table has for `address`, if any.
fn neighbour_mac(nl: &Netlink, address: IpAddr) -> Option<MacAddr> {
    nl.neighbours()
        .unwrap()
        .into_iter()
        .find(|n| n.address == address)
        .and_then(|n| n.mac)
}

const TENTATIVE: u32 = 0x40;

#[test]
fn link_sysctls_are_written_and_read_inside_the_namespace() {
    let test = "link_sysctls_are_written_and_read_inside_the_namespace";
    let Some(w) = wire_or_skip(test) else {
        return;
    };
    // A name that is not UTF-8 reaches /proc as the bytes it is.
    let odd = IfName::new(b"p\xffd0").unwrap();
    w.pod_nl.set_name(w.pod_link, &odd).unwrap();
    for value in ["1", "0"] {
        w.pod
            .set_link_sysctl(IpFamily::V6, &odd, "disable_ipv6", value)
            .unwrap();
        assert_eq!(
            w.pod
                .link_sysctl(IpFamily::V6, &odd, "disable_ipv6")
                .unwrap(),
            value
        );
    }
    // The pod's lo, not the host's.
    let lo = name("lo");
    let host_lo = std::fs::read_to_string("/proc/sys/net/ipv4/conf/lo/arp_notify").unwrap();
    let flipped = if host_lo.trim() == "1" { "0" } else { "1" };
    w.pod
        .set_link_sysctl(IpFamily::V4, &lo, "arp_notify", flipped)
        .unwrap();
    assert_eq!(
        w.pod.link_sysctl(IpFamily::V4, &lo, "arp_notify").unwrap(),
        flipped
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/conf/lo/arp_notify").unwrap(),
        host_lo
    );

    // The peer's link is not in the pod.
    let err = w
        .pod
        .set_link_sysctl(IpFamily::V6, &w.peer_link, "disable_ipv6", "0")
        .unwrap_err();
    assert!(matches!(err, Error::Sysctl { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!(
            "cannot set sysctl net/ipv6/conf/{}/disable_ipv6 to \"0\"",
            w.peer_link
        )
    );
    // A value the kernel does not take.
    let err = w
        .pod
        .set_link_sysctl(IpFamily::V6, &odd, "disable_ipv6", "yes")
        .unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EINVAL), "{err:?}");
    // A setting that would leave the link's directory.
    let err = w
        .pod
        .set_link_sysctl(IpFamily::V6, &odd, "../all/forwarding", "1")
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidArgument {
                field: "sysctl setting",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn carrier_is_waited_for_and_its_absence_reported() {
    let Some(w) = wire_or_skip("carrier_is_waited_for_and_its_absence_reported") else {
        return;
    };
    w.peer_nl.set_down(w.peer_link).unwrap();
    w.pod_nl.set_up(w.pod_link).unwrap();
    let start = Instant::now();
    assert!(!w
        .pod_nl
        .wait_for_carrier(w.pod_link, Duration::from_millis(200))
        .unwrap());
    assert!(start.elapsed() >= Duration::from_millis(200));

    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(Duration::from_millis(100));
            w.peer_nl.set_up(w.peer_link).unwrap();
        });
        assert!(w
            .pod_nl
            .wait_for_carrier(w.pod_link, Duration::from_secs(5))
            .unwrap());
    });
    let gone = w
        .pod_nl
        .wait_for_carrier("nosuchlink0", Duration::from_millis(10))
        .unwrap_err();
    assert!(gone.is_no_such_link(), "{gone}");
}

#[test]
fn configure_ip_sets_sysctls_addresses_link_and_routes() {
    let Some(w) = wire_or_skip("configure_ip_sets_sysctls_addresses_link_and_routes") else {
        return;
    };
    address_peer(&w, &["192.0.2.1/24", "2001:db8::1/64"]);
    let lo = name("lo");
    // As a pod might start: IPv6 off, addresses dropped on down.
    for link in [&lo, &w.pod_link] {
        w.pod
            .set_link_sysctl(IpFamily::V6, link, "disable_ipv6", "1")
            .unwrap();
    }
    w.pod
        .set_link_sysctl(IpFamily::V6, &w.pod_link, "keep_addr_on_down", "0")
        .unwrap();

    let config = IpConfig::new()
        .address(net("192.0.2.10/24"))
        .address(net("2001:db8::10/64"))
        .gateway(ip("192.0.2.1"))
        .gateway(ip("2001:db8::1"))
        .route(Route::new(net("0.0.0.0/0")).via(ip("192.0.2.1")))
        .route(Route::new(net("::/0")).via(ip("2001:db8::1")))
        .route(
            Route::new(net("198.51.100.0/24"))
                .via(ip("192.0.2.1"))
                .metric(50),
        );
    w.pod.configure_ip(&w.pod_link, &config).unwrap();

    for link in [&lo, &w.pod_link] {
        assert_eq!(
            w.pod
                .link_sysctl(IpFamily::V6, link, "disable_ipv6")
                .unwrap(),
            "0",
            "{link}"
        );
    }
    assert_eq!(
        w.pod
            .link_sysctl(IpFamily::V6, &w.pod_link, "keep_addr_on_down")
            .unwrap(),
        "1"
    );
    let link = w.pod_nl.link(w.pod_link).unwrap();
    assert!(link.is_up());
    let addresses = w.pod_nl.addresses(link.index).unwrap();
    for want in &config.addresses {
        let found = addresses
            .iter()
            .find(|a| a.address == *want)
            .unwrap_or_else(|| panic!("{want} not in {addresses:#?}"));
        assert_eq!(found.flags & TENTATIVE, 0, "settled: {found:?}");
    }
    let routes = w.pod_nl.routes().unwrap();
    for want in &config.routes {
        let found = routes
            .iter()
            .find(|r| r.destination == want.destination && r.table == want.table)
            .unwrap_or_else(|| panic!("{want:?} not in {routes:#?}"));
        assert_eq!(found.gateway, want.gateway, "{found:?}");
        assert_eq!(found.link, Some(LinkRef::Index(link.index)), "{found:?}");
    }
    let metric = routes
        .iter()
        .find(|r| r.destination == net("198.51.100.0/24"))
        .and_then(|r| r.metric);
    assert_eq!(metric, Some(50));
}

#[test]
fn an_address_the_link_has_already_is_an_error_naming_it() {
    let Some(w) = wire_or_skip("an_address_the_link_has_already_is_an_error_naming_it") else {
        return;
    };
    w.pod_nl
        .add_address(w.pod_link, net("192.0.2.11/24"))
        .unwrap();
    let config = IpConfig::new()
        .address(net("192.0.2.10/24"))
        .address(net("192.0.2.11/24"))
        .route(Route::new(net("0.0.0.0/0")).via(ip("192.0.2.1")));
    let err = w.pod.configure_ip(&w.pod_link, &config).unwrap_err();
    assert_eq!(
        err.ip_step(),
        Some(&IpStep::AddAddress(net("192.0.2.11/24")))
    );
    assert_eq!(
        err.to_string(),
        format!(
            "configure IP on link {}: add address 192.0.2.11/24",
            w.pod_link
        )
    );
    assert!(err.is_already_exists(), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    // The steps after it were not taken.
    assert!(!w.pod_nl.link(w.pod_link).unwrap().is_up());
}

#[test]
fn a_route_the_kernel_refuses_is_an_error_naming_it() {
    let Some(w) = wire_or_skip("a_route_the_kernel_refuses_is_an_error_naming_it") else {
        return;
    };
    // The gateway is on no network of the link.
    let refused = Route::new(net("198.51.100.0/24")).via(ip("203.0.113.1"));
    let config = IpConfig::new()
        .address(net("192.0.2.10/24"))
        .route(Route::new(net("0.0.0.0/0")).via(ip("192.0.2.1")))
        .route(refused.clone());
    let err = w.pod.configure_ip(&w.pod_link, &config).unwrap_err();
    assert_eq!(err.ip_step(), Some(&IpStep::AddRoute(refused)));
    assert_eq!(
        err.to_string(),
        format!(
            "configure IP on link {}: add route 198.51.100.0/24 via 203.0.113.1",
            w.pod_link
        )
    );
    assert_eq!(err.errno(), Some(Errno::ENETUNREACH), "{err:?}");
    assert!(err.ext_ack().is_some(), "the kernel says why: {err:?}");
    // The steps before it stay done.
    let routes = w.pod_nl.routes().unwrap();
    assert!(routes.iter().any(|r| r.destination == net("0.0.0.0/0")));
}

#[test]
fn an_ipv6_address_another_node_has_fails_duplicate_address_detection() {
    let test = "an_ipv6_address_another_node_has_fails_duplicate_address_detection";
    let Some(w) = wire_or_skip(test) else {
        return;
    };
    address_peer(&w, &["2001:db8::10/64"]);
    let config = IpConfig::new()
        .address(net("2001:db8::10/64"))
        .route(Route::new(net("::/0")).via(ip("2001:db8::1")));
    let err = w.pod.configure_ip(&w.pod_link, &config).unwrap_err();
    assert_eq!(err.ip_step(), Some(&IpStep::SettleIpv6), "{err:?}");
    let source = std::error::Error::source(&err).unwrap();
    assert_eq!(
        source.to_string(),
        format!(
            "address 2001:db8::10/64 on link {} failed IPv6 duplicate address detection",
            w.pod_link
        )
    );
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
}

#[test]
fn settling_a_link_without_carrier_ends_without_an_error() {
    let Some(w) = wire_or_skip("settling_a_link_without_carrier_ends_without_an_error") else {
        return;
    };
    w.peer_nl.set_down(w.peer_link).unwrap();
    w.pod_nl
        .add_address(w.pod_link, net("2001:db8::10/64"))
        .unwrap();
    w.pod_nl.set_up(w.pod_link).unwrap();
    w.pod_nl
        .settle_ipv6(w.pod_link, Duration::from_millis(200))
        .unwrap();
    let still = w.pod_nl.addresses(w.pod_link).unwrap();
    assert!(
        still
            .iter()
            .any(|a| a.address == net("2001:db8::10/64") && a.flags & TENTATIVE != 0),
        "detection waits for carrier: {still:#?}"
    );
}

#[test]
fn announce_moves_the_peer_s_entries_to_the_new_mac() {
    let Some(w) = wire_or_skip("announce_moves_the_peer_s_entries_to_the_new_mac") else {
        return;
    };
    let (v4, v6) = (ip("192.0.2.10"), ip("2001:db8::10"));
    address_peer(&w, &["192.0.2.1/24", "2001:db8::1/64"]);
    // Only the announcement may tell the peer: the pod's kernel must not
    // announce a new MAC on its own.
    for link in [&name("all"), &w.pod_link] {
        w.pod
            .set_link_sysctl(IpFamily::V4, link, "arp_notify", "0")
            .unwrap();
        w.pod
            .set_link_sysctl(IpFamily::V6, link, "ndisc_notify", "0")
            .unwrap();
    }
    let config = IpConfig::new()
        .address(net("192.0.2.10/24"))
        .address(net("2001:db8::10/64"))
        .gateway(ip("2001:db8::1"));
    w.pod.configure_ip(&w.pod_link, &config).unwrap();
    let old_mac = w.pod_nl.link(w.pod_link).unwrap().mac.unwrap();

    // The peer learns the pod's addresses at the old MAC from the pod's
    // own address resolution; a socket there takes the datagrams, so the
    // peer sends nothing back but the resolution's answers.
    let sinks = w
        .peer
        .run(|| {
            (
                UdpSocket::bind("192.0.2.1:9999").unwrap(),
                UdpSocket::bind("[2001:db8::1]:9999").unwrap(),
            )
        })
        .unwrap();
    w.pod
        .run(|| {
            let to4 = UdpSocket::bind("192.0.2.10:0").unwrap();
            to4.send_to(b"hello", "192.0.2.1:9999").unwrap();
            let to6 = UdpSocket::bind("[2001:db8::10]:0").unwrap();
            to6.send_to(b"hello", "[2001:db8::1]:9999").unwrap();
        })
        .unwrap();
    for address in [v4, v6] {
        let learned = eventually("the peer to learn the pod", Duration::from_secs(3), || {
            neighbour_mac(&w.peer_nl, address)
        });
        assert_eq!(learned, old_mac, "{address}");
    }

    let new_mac = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x42]);
    w.pod_nl.set_mac(w.pod_link, new_mac).unwrap();
    for address in [v4, v6] {
        assert_eq!(
            neighbour_mac(&w.peer_nl, address),
            Some(old_mac),
            "nothing but the announcement tells the peer"
        );
    }

    w.pod.announce(&w.pod_link, &[v4, v6]).unwrap();
    for address in [v4, v6] {
        eventually(
            "the peer to take the new MAC",
            Duration::from_secs(2),
            || (neighbour_mac(&w.peer_nl, address) == Some(new_mac)).then_some(()),
        );
    }
    drop(sinks);
}

#[test]
fn addresses_are_announced_while_still_tentative() {
    let Some(w) = wire_or_skip("addresses_are_announced_while_still_tentative") else {
        return;
    };
    let (v4, v6) = (ip("192.0.2.10"), ip("2001:db8::10"));
    address_peer(&w, &["192.0.2.1/24", "2001:db8::1/64"]);
    // The peer takes announcements of addresses it has no entry for: a
    // router accepting untracked advertisements, and gratuitous ARP.
    let peer_settings = [
        (IpFamily::V6, "forwarding", "1"),
        (IpFamily::V4, "arp_accept", "1"),
    ];
    for (family, setting, value) in peer_settings {
        w.peer
            .set_link_sysctl(family, &w.peer_link, setting, value)
            .unwrap();
    }
    let untracked = w
        .peer
        .set_link_sysctl(IpFamily::V6, &w.peer_link, "accept_untracked_na", "1");
    if untracked.is_err() {
        // A kernel without it (5.10) takes no advertisement for an address
        // it has no entry for: give the peer a stale one to override.
        let peer_link = w.peer_link.to_string();
        let seeded = w
            .peer
            .run(|| {
                std::process::Command::new("/usr/sbin/ip")
                    .args(["-6", "neigh", "replace", "2001:db8::10"])
                    .args(["lladdr", "02:00:00:00:0e:01", "nud", "stale"])
                    .args(["dev", &peer_link])
                    .status()
            })
            .unwrap()
            .unwrap();
        assert!(seeded.success(), "ip -6 neigh replace: {seeded}");
    }
    // No IPv6 gateway: configure_ip does not wait for detection.
    let config = IpConfig::new()
        .address(net("192.0.2.10/24"))
        .address(net("2001:db8::10/64"));
    w.pod.configure_ip(&w.pod_link, &config).unwrap();
    w.pod.announce(&w.pod_link, &[v4, v6]).unwrap();

    let addresses = w.pod_nl.addresses(w.pod_link).unwrap();
    let tentative = |want: IpNetwork| {
        addresses
            .iter()
            .any(|a| a.address == want && a.flags & TENTATIVE != 0)
    };
    assert!(
        tentative(net("2001:db8::10/64")),
        "announced before detection ended: {addresses:#?}"
    );
    assert!(
        addresses
            .iter()
            .filter(|a| a.address.ip().is_ipv6() && a.address.prefix() == 64)
            .all(|a| a.flags & TENTATIVE != 0),
        "the link-local address too: {addresses:#?}"
    );
    let mac = w.pod_nl.link(w.pod_link).unwrap().mac;
    for address in [v4, v6] {
        let learned = eventually(
            "the peer to take the announcement",
            Duration::from_secs(2),
            || neighbour_mac(&w.peer_nl, address),
        );
        assert_eq!(Some(learned), mac, "{address}");
    }
}

#[test]
fn announcing_on_a_link_without_a_mac_is_refused() {
    let Some(w) = wire_or_skip("announcing_on_a_link_without_a_mac_is_refused") else {
        return;
    };
    w.pod_nl.set_up("lo").unwrap();
    let err = w.pod.announce(&name("lo"), &[ip("127.0.0.1")]).unwrap_err();
    assert!(matches!(err, Error::NotAnnounceable { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    // Nothing to announce is nothing to do.
    w.pod.announce(&w.pod_link, &[]).unwrap();
}
