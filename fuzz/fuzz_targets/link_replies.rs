//! The kernel's replies about links, played by netns's fake kernel to the
//! public link verbs (see `script` for the input's layout): a dump, a get
//! by index or name, a PF's VF table, and a move-and-rename with its undo.
//! Every call returns `Ok` or one of the errors replies can cause; a
//! decoded link keeps what `LinkInfo` promises (a valid name and
//! alternative names, no empty alias, VFs ordered by index, bond data only
//! on bonds), a dump returns no more links than there were messages, and
//! links described back to a fake kernel read back the same.
#![no_main]

mod script;

use libfuzzer_sys::fuzz_target;
use netplumb_netns::testing::Request::{DumpLinks, GetLink, SetLink};
use netplumb_netns::IfName;
use script::{check_error, check_link, round_trip, Input};

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::new(data) else {
        return;
    };
    let index = u32::from(input.param);
    match input.op {
        0 | 5 => {
            let kernel = input.kernel(&[DumpLinks]);
            match kernel.netlink().links() {
                Ok(links) => {
                    assert!(links.len() <= kernel.messages);
                    links.iter().for_each(check_link);
                    round_trip(&links);
                }
                Err(e) => check_error(&e),
            }
        }
        1 | 2 => {
            let kernel = input.kernel(&[GetLink]);
            let nl = kernel.netlink();
            let got = if input.op == 1 {
                nl.link(index)
            } else {
                nl.link("eth0")
            };
            match got {
                Ok(link) => {
                    check_link(&link);
                    round_trip(&[link]);
                }
                Err(e) => check_error(&e),
            }
        }
        3 | 6 => match input.kernel(&[GetLink]).netlink().vfs(index) {
            Ok(vfs) => assert!(vfs.windows(2).all(|w| w[0].index <= w[1].index)),
            Err(e) => check_error(&e),
        },
        _ => {
            // The read and the move in one datagram, then the undo of a
            // move that left the link under its old name: read it here,
            // find it in the target, move it back with and without its
            // old index.
            let kernel = input.kernel(&[GetLink, SetLink, GetLink, GetLink, SetLink, SetLink]);
            let target = kernel.fake.namespace("/run/netns/pod");
            let net1: IfName = "net1".parse().expect("a valid name");
            if let Err(e) = kernel.netlink().move_link(index, &target, Some(&net1)) {
                check_error(&e);
            }
        }
    }
});
