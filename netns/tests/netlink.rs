//! The rtnetlink client against this host's kernel, inside private
//! namespaces each test creates.

mod common;

use std::net::IpAddr;

use common::{root_or_skip, unique_name};
use ipnetwork::IpNetwork;
use netplumb_netns::testing::kernel_at_least;
use netplumb_netns::{
    Alias, AltName, Error, IfName, LinkChange, LinkRef, MacAddr, NetNs, Netlink, NextHop,
    OperState, Route, Scope, INITIAL_RECV_BUFFER,
};
use nix::errno::Errno;

/// A fresh unnamed namespace and a client in it.
fn private_ns() -> (NetNs, Netlink) {
    let ns = NetNs::new_unnamed().unwrap();
    let nl = ns.netlink().unwrap();
    (ns, nl)
}

/// [`private_ns`] for a root test; `None`, after the skip line, without
/// root.
fn private_ns_or_skip(test: &str) -> Option<(NetNs, Netlink)> {
    root_or_skip(test).then(private_ns)
}

/// Adds every one of `routes`, then returns the route listed for each
/// (same destination and table), in the same order.
fn routes_after_adding(nl: &Netlink, routes: &[Route]) -> Vec<Route> {
    for route in routes {
        nl.add_route(route).unwrap();
    }
    let listed = nl.routes().unwrap();
    routes
        .iter()
        .map(|want| {
            listed
                .iter()
                .find(|r| r.destination == want.destination && r.table == want.table)
                .unwrap_or_else(|| panic!("{want:?} not in {listed:#?}"))
                .clone()
        })
        .collect()
}

/// Checks that no route to any of `routes`' destinations (in their
/// tables) is listed any more.
fn assert_routes_gone(nl: &Netlink, routes: &[Route]) {
    let listed = nl.routes().unwrap();
    for gone in routes {
        assert!(
            !listed
                .iter()
                .any(|r| r.destination == gone.destination && r.table == gone.table),
            "{gone:?} still listed"
        );
    }
}

/// Creates a veth pair with unique names and returns them.
fn veth_pair(nl: &Netlink) -> (IfName, IfName) {
    let (a, b) = (unique_name("va"), unique_name("vb"));
    nl.add_veth(&a, &b, None).unwrap();
    (a, b)
}

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

fn alias(s: &str) -> Alias {
    Alias::new(s).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn veth_pair_is_created_read_changed_and_deleted() {
    let Some((_ns, nl)) = private_ns_or_skip("veth_pair_is_created_read_changed_and_deleted")
    else {
        return;
    };
    let (a, b) = veth_pair(&nl);

    let link = nl.link(a).unwrap();
    assert_eq!(link.name, a);
    assert_eq!(link.kind.as_deref(), Some("veth"));
    assert!(!link.is_up());
    assert_eq!(link.mtu, 1500);
    assert!(link.mac.is_some_and(|m| m.is_valid_unicast()));
    assert_eq!(nl.link(link.index).unwrap().name, a, "get by index");

    let mac: MacAddr = "02:00:5e:10:00:01".parse().unwrap();
    nl.set_mtu(a, 9000).unwrap();
    nl.set_mac(a, mac).unwrap();
    nl.set_alias(a, &alias("uplink to the pod")).unwrap();
    nl.set_up(a).unwrap();
    nl.set_up(b).unwrap();
    let link = nl.link(a).unwrap();
    assert_eq!(link.mtu, 9000);
    assert_eq!(link.mac, Some(mac));
    assert_eq!(link.alias, Some(alias("uplink to the pod")));
    assert!(link.is_up());
    // With both ends up, the veth gets carrier.
    assert!(
        matches!(link.oper_state, OperState::Up | OperState::Unknown),
        "{link:?}"
    );

    nl.set_down(a).unwrap();
    let renamed = unique_name("vr");
    nl.set_name(a, &renamed).unwrap();
    let link = nl.link(renamed).unwrap();
    assert!(!link.is_up());
    assert_eq!(link.mac, Some(mac));

    nl.delete_link(renamed).unwrap();
    let gone = nl.link(b).unwrap_err();
    assert!(gone.is_no_such_link(), "{gone}");
    let text = gone.to_string();
    assert!(text.contains(&format!("get link on link {b}")), "{text}");
}

#[test]
fn an_alias_of_the_longest_length_is_set_and_cleared() {
    let Some((_ns, nl)) = private_ns_or_skip("an_alias_of_the_longest_length_is_set_and_cleared")
    else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    let longest = alias(&"a".repeat(Alias::MAX_LEN));
    nl.set_alias(a, &longest).unwrap();
    assert_eq!(nl.link(a).unwrap().alias, Some(longest.clone()));
    // Set exactly: with a NUL the kernel would keep 254 bytes of it.
    let odd = Alias::new([b"\xff".as_slice(), &[b'b'; 254]].concat()).unwrap();
    nl.set_alias(a, &odd).unwrap();
    assert_eq!(nl.link(a).unwrap().alias, Some(odd));
    nl.set_alias(a, &Alias::default()).unwrap();
    assert_eq!(nl.link(a).unwrap().alias, None);
}

#[test]
fn veth_peer_can_be_created_in_another_namespace() {
    let Some((_ns, nl)) = private_ns_or_skip("veth_peer_can_be_created_in_another_namespace")
    else {
        return;
    };
    let (peer_ns, peer_nl) = private_ns();
    let (a, b) = (unique_name("va"), unique_name("vb"));
    nl.add_veth(&a, &b, Some(&peer_ns)).unwrap();
    assert!(nl.link(b).unwrap_err().is_no_such_link());
    assert_eq!(peer_nl.link(b).unwrap().kind.as_deref(), Some("veth"));
    assert_eq!(nl.link(a).unwrap().kind.as_deref(), Some("veth"));
}

#[test]
fn move_and_rename_is_one_round_trip() {
    let Some((_ns, nl)) = private_ns_or_skip("move_and_rename_is_one_round_trip") else {
        return;
    };
    let (pod, pod_nl) = private_ns();
    let (a, b) = veth_pair(&nl);
    let index = nl.link(b).unwrap().index;
    // A link with the target name already exists here; the rename happens
    // in the pod, so there is no clash.
    nl.set_name(a, &name("net1")).unwrap();

    let before = nl.round_trips();
    nl.move_link(index, &pod, Some(&name("net1"))).unwrap();
    assert_eq!(nl.round_trips() - before, 1);

    let moved = pod_nl.link("net1").unwrap();
    assert_eq!(moved.kind.as_deref(), Some("veth"));
    assert!(nl.link(b).unwrap_err().is_no_such_link());
    assert_eq!(nl.link("net1").unwrap().name, "net1");

    // And back again without renaming, by name (one lookup plus the move).
    let host_ns = NetNs::new_unnamed().unwrap();
    let before = pod_nl.round_trips();
    pod_nl.move_link("net1", &host_ns, None).unwrap();
    assert_eq!(pod_nl.round_trips() - before, 2);
    assert_eq!(
        host_ns.netlink().unwrap().link("net1").unwrap().index,
        moved.index
    );
}

#[test]
fn a_move_whose_rename_fails_leaves_the_link_where_it_was() {
    let Some((_ns, nl)) =
        private_ns_or_skip("a_move_whose_rename_fails_leaves_the_link_where_it_was")
    else {
        return;
    };
    let (pod, pod_nl) = private_ns();
    let (_a, b) = veth_pair(&nl);
    let before = nl.link(b).unwrap();
    // The new name is taken in the pod, and the old one is not: the kernel
    // moves the link first, then fails to rename it.
    pod_nl
        .add_veth(&name("net1"), &unique_name("vp"), None)
        .unwrap();
    let pod_links = pod_nl.links().unwrap().len();

    for link in [LinkRef::Index(before.index), LinkRef::from(b)] {
        let err = nl.move_link(&link, &pod, Some(&name("net1"))).unwrap_err();
        assert!(err.is_already_exists(), "{link}: {err}");
        assert!(
            matches!(err, Error::Kernel { .. }),
            "{link}: the kernel's own error: {err:?}"
        );
        let after = nl.link(b).unwrap();
        // 5.10 takes the link back but cannot give it its old index.
        if kernel_at_least(5, 15) {
            assert_eq!(after.index, before.index, "{link}: back under its index");
        }
        assert_eq!(after.name, before.name);
        assert_eq!(pod_nl.links().unwrap().len(), pod_links, "{link}");
        assert!(pod_nl.link(b).unwrap_err().is_no_such_link());
    }

    // The same move with a free name works afterwards.
    nl.move_link(nl.index_of(b).unwrap(), &pod, Some(&name("net2")))
        .unwrap();
    assert_eq!(pod_nl.link("net2").unwrap().kind.as_deref(), Some("veth"));
}

#[test]
fn addresses_v4_and_v6_are_added_listed_and_deleted() {
    let Some((_ns, nl)) = private_ns_or_skip("addresses_v4_and_v6_are_added_listed_and_deleted")
    else {
        return;
    };
    let (a, b) = veth_pair(&nl);
    let index = nl.index_of(a).unwrap();
    let v4 = net("192.0.2.10/24");
    let v6 = net("2001:db8::10/64");
    nl.add_address(index, v4).unwrap();
    nl.add_address(a, v6).unwrap();
    nl.add_address(b, net("198.51.100.1/24")).unwrap();

    let mut on_a: Vec<IpNetwork> = nl
        .addresses(a)
        .unwrap()
        .into_iter()
        .map(|x| {
            assert_eq!(x.link, index);
            x.address
        })
        .collect();
    on_a.sort();
    assert_eq!(
        on_a,
        vec![v4, v6],
        "the link is down, so no link-local address yet"
    );
    let v4_entry = nl
        .all_addresses()
        .unwrap()
        .into_iter()
        .find(|x| x.address == v4)
        .unwrap();
    assert_eq!(v4_entry.scope, Scope::Universe);
    assert_eq!(v4_entry.label.as_deref(), a.to_str());
    assert_eq!(nl.all_addresses().unwrap().len(), 3);

    nl.delete_address(a, v4).unwrap();
    nl.delete_address(a, v6).unwrap();
    assert!(nl.addresses(index).unwrap().is_empty());
    let again = nl.delete_address(a, v4).unwrap_err();
    assert_eq!(again.errno(), Some(Errno::EADDRNOTAVAIL), "{again}");
}

#[test]
fn duplicate_address_error_carries_the_kernels_text() {
    let Some((_ns, nl)) = private_ns_or_skip("duplicate_address_error_carries_the_kernels_text")
    else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    nl.add_address(a, net("192.0.2.1/24")).unwrap();
    let err = nl.add_address(a, net("192.0.2.1/24")).unwrap_err();
    match &err {
        Error::Kernel {
            op,
            link,
            errno,
            ext_ack,
            ..
        } => {
            assert_eq!(op, "add address 192.0.2.1/24");
            assert_eq!(link.clone(), Some(a.to_string()));
            assert_eq!(*errno, libc::EEXIST);
            // Older kernels (5.10, 6.1) refuse without saying why; 6.12 says.
            if ext_ack.is_some() || kernel_at_least(6, 12) {
                assert_eq!(ext_ack.as_deref(), Some("ipv4: Address already assigned"));
                assert!(err
                    .to_string()
                    .contains("kernel says: ipv4: Address already assigned"));
            }
        }
        other => panic!("expected a kernel error, got {other:?}"),
    }
    assert!(err.is_already_exists());
}

#[test]
fn routes_with_gateway_metric_table_and_scope() {
    let Some((_ns, nl)) = private_ns_or_skip("routes_with_gateway_metric_table_and_scope") else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    let index = nl.index_of(a).unwrap();
    nl.set_up(a).unwrap();
    nl.add_address(index, net("192.0.2.10/24")).unwrap();
    nl.add_address(index, net("2001:db8::10/64")).unwrap();

    let routes = [
        Route::new(net("198.51.100.0/24"))
            .via(ip("192.0.2.1"))
            .dev(index)
            .metric(50),
        Route::new(net("203.0.113.0/24"))
            .dev(index)
            .scope(Scope::Link)
            .table(100),
        Route::new(net("0.0.0.0/0"))
            .via(ip("192.0.2.1"))
            .table(1000)
            .metric(7),
        Route::new(net("2001:db8:1::/48"))
            .via(ip("2001:db8::1"))
            .dev(index)
            .metric(300),
    ];
    for (want, got) in routes.iter().zip(routes_after_adding(&nl, &routes)) {
        assert_eq!(got.gateway, want.gateway, "{got:?}");
        assert_eq!(got.metric, want.metric, "{got:?}");
        assert_eq!(got.link, Some(LinkRef::Index(index)), "{got:?}");
        if want.destination.is_ipv4() {
            assert_eq!(got.scope, want.scope, "{got:?}");
        }
    }
    // Connected routes the kernel made are listed too.
    assert!(nl
        .routes()
        .unwrap()
        .iter()
        .any(|r| r.destination == net("192.0.2.0/24") && r.scope == Scope::Link));

    let dup = nl.add_route(&routes[0]).unwrap_err();
    assert!(dup.is_already_exists(), "{dup}");

    for route in &routes {
        nl.delete_route(route).unwrap();
    }
    assert_routes_gone(&nl, &routes);
    let missing = nl.delete_route(&routes[0]).unwrap_err();
    assert_eq!(missing.errno(), Some(Errno::ESRCH), "{missing}");
}

#[test]
fn multipath_routes_are_added_listed_and_deleted() {
    let Some((_ns, nl)) = private_ns_or_skip("multipath_routes_are_added_listed_and_deleted")
    else {
        return;
    };
    let (a, _) = veth_pair(&nl);
    let (c, _) = veth_pair(&nl);
    let (a, c) = (nl.index_of(a).unwrap(), nl.index_of(c).unwrap());
    for (link, v4, v6) in [
        (a, "192.0.2.10/24", "2001:db8:a::10/64"),
        (c, "198.51.100.10/24", "2001:db8:c::10/64"),
    ] {
        nl.set_up(link).unwrap();
        nl.add_address(link, net(v4)).unwrap();
        nl.add_address(link, net(v6)).unwrap();
    }
    let routes = [
        Route::new(net("203.0.113.0/24"))
            .next_hop(NextHop::via(ip("192.0.2.1")).dev(a))
            .next_hop(NextHop::via(ip("198.51.100.1")).dev(c).weight(3)),
        Route::new(net("2001:db8:1::/48"))
            .metric(1024)
            .next_hop(NextHop::via(ip("2001:db8:a::1")).dev(a))
            .next_hop(NextHop::via(ip("2001:db8:c::1")).dev(c).weight(2)),
    ];
    for (want, got) in routes.iter().zip(routes_after_adding(&nl, &routes)) {
        assert_eq!(got.gateway, None, "{got:?}");
        assert_eq!(got.link, None, "{got:?}");
        assert_eq!(got.next_hops, want.next_hops, "{got:?}");
    }
    for route in &routes {
        nl.delete_route(route).unwrap();
    }
    assert_routes_gone(&nl, &routes);
}

#[test]
fn bad_route_input_is_rejected_before_the_kernel() {
    let Some((_ns, nl)) = private_ns_or_skip("bad_route_input_is_rejected_before_the_kernel")
    else {
        return;
    };
    let before = nl.round_trips();
    let host_bits = nl.add_route(&Route::new(net("192.0.2.1/24"))).unwrap_err();
    assert!(matches!(
        host_bits,
        Error::InvalidArgument {
            field: "route destination",
            ..
        }
    ));
    let mixed = nl
        .add_route(&Route::new(net("192.0.2.0/24")).via(ip("2001:db8::1")))
        .unwrap_err();
    assert!(matches!(
        mixed,
        Error::InvalidArgument {
            field: "route gateway",
            ..
        }
    ));
    assert_eq!(nl.round_trips(), before);
}

#[test]
fn bad_link_input_is_rejected_before_the_kernel() {
    let Some((_ns, nl)) = private_ns_or_skip("bad_link_input_is_rejected_before_the_kernel") else {
        return;
    };
    let before = nl.round_trips();
    // Names, aliases and alternative names are refused where they are made
    // (IfName, Alias, AltName); what is left is checked before sending.
    for (err, field) in [
        (nl.set_up("a/b").unwrap_err(), "link name"),
        (nl.link("x".repeat(128)).unwrap_err(), "link name"),
        (nl.add_link(&name("br0"), "").unwrap_err(), "link kind"),
        (
            nl.set_mac(1, MacAddr([1, 0, 0, 0, 0, 1])).unwrap_err(),
            "MAC address",
        ),
        (
            nl.change_link("lo", &LinkChange::new().name(name("x")))
                .unwrap_err(),
            "link to rename",
        ),
    ] {
        match err {
            Error::InvalidArgument { field: f, .. } | Error::Value { what: f, .. } => {
                assert_eq!(f, field)
            }
            other => panic!("expected InvalidArgument for {field}, got {other:?}"),
        }
    }
    assert_eq!(nl.round_trips(), before);
    assert_eq!(nl.links().unwrap().len(), 1, "nothing was created");
}

#[test]
fn links_are_found_by_alternative_name() {
    let Some((_ns, nl)) = private_ns_or_skip("links_are_found_by_alternative_name") else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    let short = AltName::from(unique_name("alt"));
    let long: AltName = format!(
        "{}-an-alternative-name-longer-than-ifnamsiz",
        unique_name("alt")
    )
    .parse()
    .unwrap();
    nl.add_altname(a, &short).unwrap();
    nl.add_altname(a, &long).unwrap();

    let by_short = nl.link(&short).unwrap();
    let by_long = nl.link(&long).unwrap();
    assert_eq!(by_short.name, a);
    assert_eq!(by_long.index, by_short.index);
    assert_eq!(by_long.alt_names, vec![short.clone(), long.clone()]);
    // Changes can address the link by alternative name too.
    nl.set_mtu(&long, 1400).unwrap();
    assert_eq!(nl.link(a).unwrap().mtu, 1400);

    nl.delete_altname(a, &short).unwrap();
    assert!(nl.link(&short).unwrap_err().is_no_such_link());
    assert_eq!(nl.link(a).unwrap().alt_names, vec![long]);
}

#[test]
fn controller_is_set_and_released() {
    let Some((_ns, nl)) = private_ns_or_skip("controller_is_set_and_released") else {
        return;
    };
    let bridge = unique_name("br");
    match nl.add_link(&bridge, "bridge") {
        Ok(()) => {}
        Err(e) if e.errno() == Some(Errno::EOPNOTSUPP) => {
            eprintln!("skipped: controller_is_set_and_released needs the bridge module");
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let (a, _b) = veth_pair(&nl);
    let bridge_index = nl.index_of(bridge).unwrap();
    assert_eq!(
        nl.link(bridge_index).unwrap().kind.as_deref(),
        Some("bridge")
    );

    nl.set_controller(a, bridge).unwrap();
    let port = nl.link(a).unwrap();
    assert_eq!(port.controller, Some(bridge_index));
    assert_eq!(port.port_kind.as_deref(), Some("bridge"));

    nl.set_no_controller(a).unwrap();
    let port = nl.link(a).unwrap();
    assert_eq!(port.controller, None);
    assert_eq!(port.port_kind, None);
}

#[test]
fn a_dump_of_many_links_is_read_whole_and_grows_the_buffer() {
    if !root_or_skip("a_dump_of_many_links_is_read_whole_and_grows_the_buffer") {
        return;
    }
    const PAIRS: usize = 300;
    let (_ns, nl) = private_ns();
    for i in 0..PAIRS {
        nl.add_veth(&name(&format!("da{i}")), &name(&format!("db{i}")), None)
            .unwrap();
    }
    // One link whose message alone is larger than the initial buffer: many
    // long alternative names. Only acks are read while setting it up.
    let big = unique_name("big");
    nl.add_veth(&big, &unique_name("bp"), None).unwrap();
    let altnames: Vec<AltName> = (0..48)
        .map(|i| format!("{big}-{i:02}-{}", "n".repeat(100)).parse().unwrap())
        .collect();
    for alt in &altnames {
        nl.add_altname(big, alt).unwrap();
    }
    assert_eq!(
        nl.recv_buffer_len(),
        INITIAL_RECV_BUFFER,
        "nothing large was read yet"
    );

    let before = nl.round_trips();
    let links = nl.links().unwrap();
    assert_eq!(nl.round_trips() - before, 1, "one dump, not retried");
    assert_eq!(
        links.len(),
        1 + 2 * PAIRS + 2,
        "lo, the pairs, and the big pair"
    );
    for i in 0..PAIRS {
        for n in [format!("da{i}"), format!("db{i}")] {
            assert!(links.iter().any(|l| l.name == n.as_str()), "{n} missing");
        }
    }
    let big_info = links.iter().find(|l| l.name == big).unwrap();
    assert_eq!(
        big_info.alt_names, altnames,
        "the big message was not truncated"
    );
    assert!(
        nl.recv_buffer_len() > INITIAL_RECV_BUFFER,
        "buffer is still {} bytes",
        nl.recv_buffer_len()
    );
}

#[test]
fn one_client_is_usable_from_many_threads() {
    let Some((_ns, nl)) = private_ns_or_skip("one_client_is_usable_from_many_threads") else {
        return;
    };
    std::thread::scope(|s| {
        for t in 0..4 {
            let nl = &nl;
            s.spawn(move || {
                for i in 0..10 {
                    let (a, b) = (name(&format!("t{t}a{i}")), name(&format!("t{t}b{i}")));
                    nl.add_veth(&a, &b, None).unwrap();
                    assert_eq!(nl.link(a).unwrap().name, a);
                }
            });
        }
    });
    assert_eq!(nl.links().unwrap().len(), 1 + 4 * 10 * 2);
}

#[test]
fn a_client_keeps_its_namespace_after_the_handle_is_gone() {
    if !root_or_skip("a_client_keeps_its_namespace_after_the_handle_is_gone") {
        return;
    }
    let (ns, nl) = private_ns();
    drop(ns);
    let (a, _b) = veth_pair(&nl);
    assert_eq!(nl.links().unwrap().len(), 3);
    // The caller's own namespace did not see any of it.
    let host = NetNs::current().unwrap().netlink().unwrap();
    assert!(host.link(a).unwrap_err().is_no_such_link());
}

#[cfg(feature = "raw")]
#[test]
fn raw_requests_share_the_machinery() {
    use netplumb_netns::raw::netlink_packet_route::link::{
        InfoKind, LinkAttribute, LinkInfo, LinkMessage,
    };
    use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
    use netplumb_netns::raw::{link_message, netlink_packet_core};

    let Some((_ns, nl)) = private_ns_or_skip("raw_requests_share_the_machinery") else {
        return;
    };
    let (a, _b) = veth_pair(&nl);

    let mut msg = link_message(&LinkRef::from(a)).unwrap();
    msg.attributes.push(LinkAttribute::Mtu(1280));
    let before = nl.round_trips();
    let replies = nl
        .raw_request(
            "set MTU",
            Some(&LinkRef::from(a)),
            RouteNetlinkMessage::SetLink(msg),
            0,
        )
        .unwrap();
    assert!(replies.is_empty());
    assert_eq!(nl.round_trips() - before, 1);
    assert_eq!(nl.link(a).unwrap().mtu, 1280);

    let mut get = link_message(&LinkRef::from(a)).unwrap();
    get.attributes.clear();
    get.header.index = nl.index_of(a).unwrap();
    match nl
        .raw_get("get link", None, RouteNetlinkMessage::GetLink(get))
        .unwrap()
    {
        RouteNetlinkMessage::NewLink(m) => {
            assert!(m.attributes.contains(&LinkAttribute::IfName(a.to_string())))
        }
        other => panic!("{other:?}"),
    }
    // A message that gets no reply, only the ack, ends with an error
    // rather than waiting for a reply that never comes.
    let mut no_reply = link_message(&LinkRef::from(a)).unwrap();
    no_reply.attributes.push(LinkAttribute::Mtu(1300));
    match nl.raw_get("set MTU", None, RouteNetlinkMessage::SetLink(no_reply)) {
        Err(Error::Decode { op, detail }) => {
            assert_eq!(op, "set MTU");
            assert!(detail.contains("no reply"), "{detail}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    assert_eq!(nl.link(a).unwrap().mtu, 1300);

    let dumped = nl
        .raw_dump(
            "dump links",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
        )
        .unwrap();
    assert_eq!(dumped.len(), 3);

    // Kernel errors keep their context and extended ack.
    let mut bad = LinkMessage::default();
    bad.attributes.push(LinkAttribute::IfName(a.to_string()));
    bad.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Veth,
        )]));
    let err = nl
        .raw_request(
            "create link",
            Some(&LinkRef::from(a)),
            RouteNetlinkMessage::NewLink(bad),
            netlink_packet_core::NLM_F_CREATE | netlink_packet_core::NLM_F_EXCL,
        )
        .unwrap_err();
    assert!(err.is_already_exists(), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("create link on link {a}: ")),
        "{err}"
    );
}

#[cfg(feature = "raw")]
#[test]
fn the_kernel_points_at_the_attribute_it_rejects() {
    use netplumb_netns::raw::link_message;
    use netplumb_netns::raw::netlink_packet_core::DefaultNla;
    use netplumb_netns::raw::netlink_packet_route::link::LinkAttribute;
    use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;

    let Some((_ns, nl)) = private_ns_or_skip("the_kernel_points_at_the_attribute_it_rejects")
    else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    let link = LinkRef::from(a);
    // IFLA_MTU (type 4) is a u32; two bytes fail the kernel's policy
    // check, and its extended ack gives the attribute's offset.
    let mut msg = link_message(&link).unwrap();
    msg.attributes
        .push(LinkAttribute::Other(DefaultNla::new(4, vec![0xdc, 0x05])));
    let err = nl
        .raw_request("set MTU", Some(&link), RouteNetlinkMessage::SetLink(msg), 0)
        .unwrap_err();
    match &err {
        Error::Kernel {
            errno,
            ext_ack,
            attribute,
            ..
        } => {
            assert_eq!(*attribute, Some(4), "{err}");
            assert!(*errno == libc::EINVAL || *errno == libc::ERANGE, "{err}");
            assert!(ext_ack.is_some(), "{err}");
        }
        other => panic!("expected a kernel error, got {other:?}"),
    }
    assert!(err.to_string().ends_with("(attribute type 4)"), "{err}");
    assert_eq!(nl.link(a).unwrap().mtu, 1500, "nothing changed");
}

#[test]
fn a_link_named_and_aliased_in_bytes_that_are_not_utf8_is_read_like_any_other() {
    let Some((_ns, nl)) = private_ns_or_skip(
        "a_link_named_and_aliased_in_bytes_that_are_not_utf8_is_read_like_any_other",
    ) else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    let index = nl.index_of(a).unwrap();
    // What a pod with CAP_NET_ADMIN may do to a link it was given.
    let odd = IfName::new(b"pod\xff\xfe").unwrap();
    let odd_alias = Alias::new(b"alias \xff").unwrap();
    let odd_alt = AltName::new(b"alt\xfd-name").unwrap();
    nl.set_name(index, &odd).unwrap();
    nl.set_alias(index, &odd_alias).unwrap();
    nl.add_altname(index, &odd_alt).unwrap();

    let links = nl.links().unwrap();
    assert_eq!(links.len(), 3, "lo and both ends: no link left out");
    let found = links.iter().find(|l| l.index == index).unwrap();
    assert_eq!(found.name, odd);
    assert_eq!(found.alias, Some(odd_alias));
    assert_eq!(found.alt_names, vec![odd_alt.clone()]);
    // And it can be looked up by those bytes.
    assert_eq!(nl.link(odd).unwrap().index, index);
    assert_eq!(nl.link(&odd_alt).unwrap().index, index);
}

#[test]
fn a_virtual_link_sits_on_no_device_whoever_names_it() {
    let Some((_ns, nl)) = private_ns_or_skip("a_virtual_link_sits_on_no_device_whoever_names_it")
    else {
        return;
    };
    let (a, _b) = veth_pair(&nl);
    // A veth's driver answers ethtool with no bus info, whatever alias,
    // MAC or name the link is given.
    nl.set_alias(a, &alias("netplumb-host-name:eth4")).unwrap();
    nl.set_mac(a, "02:00:00:00:00:01".parse().unwrap()).unwrap();
    let link = nl.link(a).unwrap();
    assert_eq!(link.parent_device, None);
    assert_eq!(nl.device_of(&link).unwrap(), None);
    let lo = nl.link(name("lo")).unwrap();
    assert_eq!(nl.device_of(&lo).unwrap(), None);

    // A link that is gone is an error, named as such.
    nl.delete_link(a).unwrap();
    let err = nl.device_of(&link).unwrap_err();
    assert!(err.is_no_such_link(), "{err}");
    assert!(
        err.to_string()
            .starts_with(&format!("read bus info on link {a}: ")),
        "{err}"
    );
}
