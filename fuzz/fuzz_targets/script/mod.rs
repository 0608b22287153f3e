//! Fuzzer bytes as the replies of netns's scripted fake kernel
//! (`netplumb_netns::testing`), for the targets that drive the public
//! netlink verbs: every reply goes through the whole receive path
//! (datagram splitting, sequence numbers, acks and extended acks, the end
//! of a dump and its retries) and then through a decoder.
//!
//! An input is a control byte, then netlink messages laid out as in a
//! datagram: each header's length says where the next message starts,
//! rounded up to 4 bytes, so a captured reply is a seed as it is.
//!
//! - The control byte's low three bits pick the operation, its high four
//!   bits a small number the operation may use (an interface index), and
//!   bit 3 whether each message's length goes out as given (so lengths
//!   that lie reach the client) or set to the bytes the message has.
//! - A message's type is kept when it is a control message (`NLMSG_NOOP`
//!   to `NLMSG_OVERRUN`), is `t` when given as `0xff00 | t`, and is
//!   otherwise the type the request is answered with, so most messages get
//!   past the type check and into the decoder.
//! - An `NLMSG_ERROR` or `NLMSG_DONE` ends an answer; the messages after it
//!   answer the next request (a retried dump, the next dump of a verb that
//!   makes two, the second request of a batch). The fake kernel ends every
//!   answer with an ack or `NLMSG_DONE` of its own.

#![allow(dead_code, reason = "each target uses part of it")]

use netplumb_netns::testing::{Answer, FakeKernel, Request};
use netplumb_netns::{Error, LinkInfo, Netlink};
use netplumb_types::{AltName, IfName};

const NLMSG_HDRLEN: usize = 16;
const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;

/// Enough answers for a dump retried as often as the client retries one
/// (10 times), and for the longest script an operation here has.
const MAX_ANSWERS: usize = 12;

/// A fuzzer input: the operation to run, and the messages to answer with.
pub struct Input<'a> {
    /// Which operation (0 to 7).
    pub op: u8,
    /// A small number for the operation (0 to 15).
    pub param: u8,
    lengths_as_given: bool,
    messages: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Option<Input<'a>> {
        let (&control, messages) = data.split_first()?;
        Some(Input {
            op: control & 7,
            param: control >> 4,
            lengths_as_given: control & 8 != 0,
            messages,
        })
    }

    /// A fake kernel that answers requests of the kinds in `requests`, in
    /// order (the last kind repeating), with the input's answers.
    pub fn kernel(&self, requests: &[Request]) -> Kernel {
        let request = |answer: usize| requests[answer.min(requests.len() - 1)];
        let mut answers: Vec<Vec<Vec<u8>>> = vec![Vec::new()];
        let mut count = 0;
        let mut rest = self.messages;
        while !rest.is_empty() {
            let claimed = rest
                .get(..4)
                .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize);
            let len = claimed.clamp(NLMSG_HDRLEN.min(rest.len()), rest.len());
            let mut message = rest[..len].to_vec();
            rest = rest.get((len + 3) & !3..).unwrap_or_default();
            if message.len() < NLMSG_HDRLEN {
                // A tail too short for a header: junk, sent as it is only
                // when lengths go out as given.
                if self.lengths_as_given {
                    answers.last_mut().expect("one answer").push(message);
                    count += 1;
                }
                break;
            }
            if !self.lengths_as_given {
                message[..4].copy_from_slice(&(len as u32).to_ne_bytes());
            }
            let given = u16::from_ne_bytes([message[4], message[5]]);
            let kind = match given {
                NLMSG_NOOP..=NLMSG_OVERRUN => given,
                0xff00.. => given & 0xff,
                _ => reply_type(request(answers.len() - 1)),
            };
            message[4..6].copy_from_slice(&kind.to_ne_bytes());
            answers.last_mut().expect("one answer").push(message);
            count += 1;
            if matches!(kind, NLMSG_ERROR | NLMSG_DONE)
                && !rest.is_empty()
                && answers.len() < MAX_ANSWERS
            {
                answers.push(Vec::new());
            }
        }
        let fake = FakeKernel::new();
        for (i, answer) in answers.into_iter().enumerate() {
            fake.expect(request(i), Answer::Raw(answer));
        }
        Kernel {
            fake,
            messages: count,
        }
    }
}

/// The message type the kernel answers a request of this kind with.
fn reply_type(request: Request) -> u16 {
    match request {
        Request::DumpAddresses => 20,  // RTM_NEWADDR
        Request::DumpRoutes => 24,     // RTM_NEWROUTE
        Request::DumpNeighbours => 28, // RTM_NEWNEIGH
        // RTM_NEWLINK, for gets and dumps of links and for changes that
        // echo the link.
        _ => 16,
    }
}

/// A scripted fake kernel, and how many messages its script holds.
pub struct Kernel {
    pub fake: FakeKernel,
    pub messages: usize,
}

impl Kernel {
    pub fn netlink(&self) -> Netlink {
        self.fake.netlink()
    }
}

/// An error from replies that are not what the kernel sends is one of the
/// errors the client documents for them, whole enough to print and class.
pub fn check_error(error: &Error) {
    match error {
        Error::Decode { .. } | Error::NoAnswer { .. } | Error::DumpInterrupted { .. } => {}
        Error::Kernel { errno, .. } => assert!(*errno > 0, "the errno is positive: {error:?}"),
        Error::MovedNotRenamed {
            error: first,
            move_back_error,
            name_now,
            ..
        } => {
            check_link_name(name_now);
            check_error(first);
            check_error(move_back_error);
        }
        Error::DuplicateAddress { address, .. } => assert!(address.is_ipv6(), "{error:?}"),
        Error::StillTentative { addresses, .. } => assert!(
            !addresses.is_empty() && addresses.iter().all(|a| a.is_ipv6()),
            "{error:?}"
        ),
        other => panic!("not an error replies can cause: {other:?}"),
    }
    let _ = error.kind();
    let _ = netplumb_types::Chain(error).to_string();
}

fn check_link_name(name: &IfName) {
    assert!(IfName::new(name.as_bytes()).is_ok(), "{name:?}");
}

/// What `LinkInfo` promises of a decoded link.
pub fn check_link(link: &LinkInfo) {
    check_link_name(&link.name);
    for alt in &link.alt_names {
        assert!(AltName::new(alt.as_bytes()).is_ok(), "{alt:?}");
    }
    if let Some(alias) = &link.alias {
        assert!(!alias.is_empty(), "an empty alias is no alias");
    }
    assert!(
        link.vfs.windows(2).all(|w| w[0].index <= w[1].index),
        "VFs ordered by index: {:?}",
        link.vfs
    );
    assert_ne!(link.controller, Some(0), "0 is no controller");
    if link.bond.is_some() {
        assert_eq!(link.kind.as_deref(), Some("bond"));
    }
    if link.bond_port.is_some() {
        assert_eq!(link.port_kind.as_deref(), Some("bond"));
    }
    for text in [
        &link.kind,
        &link.port_kind,
        &link.parent_device,
        &link.parent_bus,
    ]
    .into_iter()
    .flatten()
    {
        assert!(!text.contains('\0'), "{text:?}");
    }
}

/// Links described back to a fake kernel, which lays them out as the
/// kernel does, read back the same: the decoder reads what the layout
/// means. Links too large for the fake kernel's layout (its nested
/// attributes have 16-bit lengths) are left out.
pub fn round_trip(links: &[LinkInfo]) {
    let fits = |l: &&LinkInfo| {
        l.vfs.len() <= 256
            && l.alt_names.len() <= 256
            && [&l.kind, &l.port_kind, &l.parent_device, &l.parent_bus]
                .into_iter()
                .flatten()
                .all(|s| s.len() <= 1024)
    };
    let links: Vec<LinkInfo> = links.iter().filter(fits).cloned().collect();
    if links.is_empty() {
        return;
    }
    let fake = FakeKernel::new();
    fake.expect(Request::DumpLinks, Answer::Links(links.clone()));
    let back = fake
        .netlink()
        .links()
        .expect("links as the fake kernel lays them out decode");
    assert_eq!(back, links);
}
