//! The kernel's replies about addresses, routes and neighbours, played by
//! netns's fake kernel to the public verbs (see `script` for the input's
//! layout): the addresses of every link, of one link by index and by name,
//! the routes (two dumps, IPv4 then IPv6, multipath next hops included),
//! the neighbours (two dumps likewise), and the wait for IPv6 duplicate
//! address detection, which reads the address flags. Every call returns
//! `Ok` or one of the errors replies can cause; a dump returns no more
//! entries than there were messages, the addresses of a link are on that
//! link, a label has no NUL, and a route's gateways and source are of its
//! destination's family, its links named by index, its next hops' weights
//! from 1 to 256.
#![no_main]

mod script;

use std::net::IpAddr;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use netplumb_netns::testing::Request::{DumpAddresses, DumpNeighbours, DumpRoutes, GetLink};
use netplumb_netns::{Address, LinkRef, Route};
use script::{check_error, Input};

fn check_addresses(addresses: &[Address], messages: usize, link: Option<u32>) {
    assert!(addresses.len() <= messages);
    for a in addresses {
        if let Some(link) = link {
            assert_eq!(a.link, link, "only the addresses of the link asked for");
        }
        if let Some(label) = &a.label {
            assert!(!label.contains('\0'), "{label:?}");
        }
    }
}

fn check_route(route: &Route) {
    let v4 = route.destination.is_ipv4();
    let same_family = |ip: &Option<IpAddr>| ip.is_none_or(|ip| ip.is_ipv4() == v4);
    assert!(same_family(&route.gateway), "{route:?}");
    assert!(same_family(&route.source), "{route:?}");
    let by_index = |link: &Option<LinkRef>| !matches!(link, Some(LinkRef::Name(_)));
    assert!(by_index(&route.link), "{route:?}");
    for hop in &route.next_hops {
        assert!(same_family(&hop.gateway), "{route:?}");
        assert!((1..=256).contains(&hop.weight), "{route:?}");
        assert!(by_index(&hop.link), "{route:?}");
        assert_ne!(hop.link, Some(LinkRef::Index(0)), "{route:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::new(data) else {
        return;
    };
    let index = u32::from(input.param);
    match input.op {
        0 => {
            let kernel = input.kernel(&[DumpAddresses]);
            match kernel.netlink().all_addresses() {
                Ok(addresses) => check_addresses(&addresses, kernel.messages, None),
                Err(e) => check_error(&e),
            }
        }
        1 => {
            let kernel = input.kernel(&[DumpAddresses]);
            match kernel.netlink().addresses(index) {
                Ok(addresses) => check_addresses(&addresses, kernel.messages, Some(index)),
                Err(e) => check_error(&e),
            }
        }
        2 => {
            // The link's index is looked up first.
            let kernel = input.kernel(&[GetLink, DumpAddresses]);
            match kernel.netlink().addresses("eth0") {
                Ok(addresses) => {
                    let link = addresses.first().map(|a| a.link);
                    check_addresses(&addresses, kernel.messages, link);
                }
                Err(e) => check_error(&e),
            }
        }
        3 | 5 => {
            let kernel = input.kernel(&[DumpRoutes]);
            match kernel.netlink().routes() {
                Ok(routes) => {
                    assert!(routes.len() <= kernel.messages);
                    routes.iter().for_each(check_route);
                }
                Err(e) => check_error(&e),
            }
        }
        4 | 6 => {
            let kernel = input.kernel(&[DumpNeighbours]);
            match kernel.netlink().neighbours() {
                Ok(neighbours) => assert!(neighbours.len() <= kernel.messages),
                Err(e) => check_error(&e),
            }
        }
        _ => {
            // With no time to wait, tentative addresses make it read the
            // link once, and it never sleeps.
            let kernel = input.kernel(&[DumpAddresses, GetLink]);
            if let Err(e) = kernel.netlink().settle_ipv6(index, Duration::ZERO) {
                check_error(&e);
            }
        }
    }
});
