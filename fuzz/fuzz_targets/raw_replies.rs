//! The kernel's replies to the `raw` requests of netns, which hand them to
//! vf and bond as netlink-packet-route messages, played by netns's fake
//! kernel (see `script` for the input's layout): a new bond's creation,
//! which asks the kernel to echo the link (bond's `create`), a VF setting
//! on a PF (vf's `Host`), a get and a dump. Every call returns `Ok` or one
//! of the errors replies can cause, and no more messages than it was sent.
#![no_main]

mod script;

use libfuzzer_sys::fuzz_target;
use netplumb_netns::raw::link_message;
use netplumb_netns::raw::netlink_packet_core::{NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL};
use netplumb_netns::raw::netlink_packet_route::link::LinkMessage;
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
use netplumb_netns::testing::Request::{DumpLinks, GetLink, NewLink, SetLink};
use netplumb_netns::LinkRef;
use script::{check_error, Input};

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::new(data) else {
        return;
    };
    let index = LinkRef::Index(u32::from(input.param));
    let (kernel, got) = match input.op {
        0..=2 => {
            let bond = LinkRef::from("bond0");
            let msg = link_message(&bond).expect("a valid name");
            let kernel = input.kernel(&[NewLink]);
            let got = kernel.netlink().raw_request(
                "create bond",
                Some(&bond),
                RouteNetlinkMessage::NewLink(msg),
                NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
            );
            (kernel, got)
        }
        3 | 4 => {
            let msg = link_message(&index).expect("an index");
            let kernel = input.kernel(&[SetLink]);
            let got = kernel.netlink().raw_request(
                "set VF",
                Some(&index),
                RouteNetlinkMessage::SetLink(msg),
                0,
            );
            (kernel, got)
        }
        5 => {
            let msg = link_message(&index).expect("an index");
            let kernel = input.kernel(&[GetLink]);
            let got = kernel
                .netlink()
                .raw_get("get link", Some(&index), RouteNetlinkMessage::GetLink(msg))
                .map(|m| vec![m]);
            (kernel, got)
        }
        _ => {
            let msg = RouteNetlinkMessage::GetLink(LinkMessage::default());
            let kernel = input.kernel(&[DumpLinks]);
            let got = kernel.netlink().raw_dump("dump links", msg);
            (kernel, got)
        }
    };
    match got {
        Ok(messages) => assert!(messages.len() <= kernel.messages),
        Err(e) => check_error(&e),
    }
});
