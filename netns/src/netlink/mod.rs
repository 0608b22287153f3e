//! The synchronous rtnetlink client.
//!
//! One [`Netlink`] is one `NETLINK_ROUTE` socket, bound for life to the
//! namespace it was created in. Requests carry sequence numbers; dumps are
//! retried when the kernel flags them inconsistent (`NLM_F_DUMP_INTR`);
//! every datagram is peeked first (`MSG_PEEK|MSG_TRUNC`) so the receive
//! buffer can grow to fit it; errors carry the kernel's extended-ack text.
//! An answer abandoned midway (an undecodable datagram, a panic) gets the
//! socket replaced by a fresh one in the same namespace before the next
//! request, so nothing of it is left to confuse that request.

mod ack;
mod buffer;

use std::fmt;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR, NLM_F_ACK, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_REQUEST,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use crate::{Error, NetNs};

pub(crate) use buffer::RecvBuffer;
pub use buffer::INITIAL_RECV_BUFFER;

/// How often a dump is retried when the kernel reports that the objects
/// changed while it was being dumped.
const DUMP_ATTEMPTS: u32 = 10;

/// How long to wait for the kernel's next datagram before giving up on a
/// request. The kernel answers at once; this only ends a wait that would
/// otherwise never end (and hold the client's lock while it lasts).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);

const NLMSG_HDRLEN: usize = 16;

/// Round trips of every client in this process, for [`round_trips_in_process`].
static PROCESS_ROUND_TRIPS: AtomicU64 = AtomicU64::new(0);

/// How many round trips every [`Netlink`] client of this process has made
/// together, counted as [`Netlink::round_trips`] counts them: what one
/// short-lived process (a plugin invocation) cost the kernel, whichever
/// clients it opened.
pub fn round_trips_in_process() -> u64 {
    PROCESS_ROUND_TRIPS.load(Ordering::Relaxed)
}

/// An rtnetlink client bound to one network namespace.
///
/// Created by [`NetNs::netlink`](crate::NetNs::netlink). It is `Send` and
/// `Sync`: requests from several threads are serialised on the one socket.
#[derive(Debug)]
pub struct Netlink {
    ns: NetNs,
    transport: Mutex<Transport>,
    round_trips: AtomicU64,
}

#[derive(Debug)]
pub(crate) struct Transport {
    pub(crate) channel: Channel,
    seq: u32,
    recv: RecvBuffer,
    send: Vec<u8>,
    /// How long a receive waits before the request counts as unanswered
    /// (the socket's `SO_RCVTIMEO`).
    answer_timeout: Duration,
    /// Set from sending a request until its answer has been read to the
    /// end. Still set at the next request means the last answer was
    /// abandoned midway (an error or a panic while reading it): the rest of
    /// it may still be queued, and a dump the kernel is still producing
    /// makes it refuse the next dump with `EBUSY`. The socket is then
    /// replaced, which discards all of that.
    mid_answer: bool,
    /// Test hook: abandon the next answer after this many datagrams, as if
    /// the next one could not be split into messages.
    #[cfg(test)]
    abandon_after: Option<u32>,
}

/// Where requests go: the kernel's socket, or a scripted fake kernel.
#[derive(Debug)]
pub(crate) enum Channel {
    Kernel(Socket),
    #[cfg(feature = "test-support")]
    Fake(crate::testing::Wire),
}

impl Channel {
    fn send(&self, bytes: &[u8]) -> std::io::Result<()> {
        match self {
            Channel::Kernel(socket) => socket.send(bytes, 0).map(drop),
            #[cfg(feature = "test-support")]
            Channel::Fake(wire) => wire.send(bytes),
        }
    }
}

/// What one request is, for error messages: the operation and the link it
/// is on.
#[derive(Clone, Copy)]
pub(crate) struct Op<'a> {
    pub what: &'a str,
    pub link: Option<&'a dyn fmt::Display>,
}

impl<'a> Op<'a> {
    pub fn new(what: &'a str) -> Op<'a> {
        Op { what, link: None }
    }

    pub fn on(what: &'a str, link: &'a dyn fmt::Display) -> Op<'a> {
        Op {
            what,
            link: Some(link),
        }
    }

    pub fn decode_error(&self, detail: impl Into<String>) -> Error {
        Error::Decode {
            op: self.describe(),
            detail: detail.into(),
        }
    }

    /// A socket failure while doing this operation.
    pub fn socket_error(&self, action: &'static str, source: std::io::Error) -> Error {
        Error::Socket {
            action,
            op: Some(self.what.to_string()),
            link: self.link.map(|l| l.to_string()),
            source,
        }
    }

    fn describe(&self) -> String {
        match self.link {
            Some(link) => format!("{} on link {link}", self.what),
            None => self.what.to_string(),
        }
    }
}

/// One netlink message inside a received datagram.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawMessage<'a> {
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    /// The whole message, header included.
    pub bytes: &'a [u8],
}

impl<'a> RawMessage<'a> {
    /// The message after its netlink header.
    pub fn payload(&self) -> &'a [u8] {
        &self.bytes[NLMSG_HDRLEN..]
    }
}

/// Splits a datagram into its netlink messages.
pub(crate) fn split_messages(datagram: &[u8]) -> Result<Vec<RawMessage<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = datagram;
    while !rest.is_empty() {
        if rest.len() < NLMSG_HDRLEN {
            return Err(format!(
                "{} trailing bytes, less than a netlink header",
                rest.len()
            ));
        }
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return Err(format!(
                "netlink message claims {len} bytes with {} left in the datagram",
                rest.len()
            ));
        }
        out.push(RawMessage {
            kind: u16::from_ne_bytes([rest[4], rest[5]]),
            flags: u16::from_ne_bytes([rest[6], rest[7]]),
            seq: u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]),
            bytes: &rest[..len],
        });
        let next = (len + 3) & !3;
        rest = rest.get(next..).unwrap_or_default();
    }
    Ok(out)
}

/// Serialises one request.
pub(crate) fn encode_request(msg: RouteNetlinkMessage, flags: u16, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | flags;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::from(msg));
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    bytes
}

/// Opens an rtnetlink socket in the calling thread's namespace, set up the
/// way every request here expects.
pub(crate) fn open_socket_here() -> Result<Socket, Error> {
    let sock_err = |action: &'static str| {
        move |source: std::io::Error| Error::Socket {
            action,
            op: None,
            link: None,
            source,
        }
    };
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(sock_err("create"))?;
    socket.bind_auto().map_err(sock_err("bind"))?;
    socket
        .connect(&SocketAddr::new(0, 0))
        .map_err(sock_err("connect to the kernel"))?;
    socket
        .set_ext_ack(true)
        .map_err(sock_err("enable NETLINK_EXT_ACK"))?;
    // The kernel then echoes only our header in errors, not the request.
    socket
        .set_cap_ack(true)
        .map_err(sock_err("enable NETLINK_CAP_ACK"))?;
    // Strict checking lets the kernel filter dumps by the header fields
    // we set; kernels before 4.20 lack it and we filter ourselves anyway.
    let _ = socket.set_netlink_get_strict_chk(true);
    set_receive_timeout(&socket, ANSWER_TIMEOUT).map_err(sock_err("set a receive timeout"))?;
    Ok(socket)
}

/// Makes a receive on `socket` give up with `EAGAIN` after `timeout`.
fn set_receive_timeout(socket: &Socket, timeout: Duration) -> std::io::Result<()> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs().try_into().unwrap_or(libc::time_t::MAX),
        tv_usec: timeout.subsec_micros().into(),
    };
    // SAFETY: the fd is open for the whole call, and SO_RCVTIMEO reads a
    // timeval of exactly the size passed.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Netlink {
    /// A client on `channel`, which leads into `ns`.
    pub(crate) fn new(ns: NetNs, channel: Channel) -> Netlink {
        Netlink {
            ns,
            transport: Mutex::new(Transport {
                channel,
                seq: 0,
                recv: RecvBuffer::new(),
                send: Vec::new(),
                answer_timeout: ANSWER_TIMEOUT,
                mid_answer: false,
                #[cfg(test)]
                abandon_after: None,
            }),
            round_trips: AtomicU64::new(0),
        }
    }

    /// The namespace this client's socket lives in.
    pub fn namespace(&self) -> &NetNs {
        &self.ns
    }

    /// How many round trips this client has made: datagrams of requests
    /// sent to the kernel. One counts when it is sent, whether or not its
    /// answer then arrives or decodes. Each attempt of a retried dump
    /// counts; requests sent together in one datagram (a move-and-rename by
    /// index reads the link in the same one) count once.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    /// The current size of the receive buffer. It starts at
    /// [`INITIAL_RECV_BUFFER`] and grows when the kernel sends a larger
    /// datagram.
    pub fn recv_buffer_len(&self) -> usize {
        self.lock().recv.len()
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Transport> {
        // A panic in another thread mid-request leaves the answer unread;
        // `mid_answer` makes the next request replace the socket.
        self.transport.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sends a request that changes something and waits for its ack.
    pub(crate) fn request_ack(
        &self,
        op: Op<'_>,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<(), Error> {
        self.exchange(op, msg, NLM_F_ACK | flags, &mut |_| Ok(()))
            .map(|_| ())
    }

    /// Sends a request and decodes every reply message before the ack.
    #[cfg(feature = "raw")]
    pub(crate) fn request_collect<T>(
        &self,
        op: Op<'_>,
        msg: RouteNetlinkMessage,
        flags: u16,
        mut decode: impl FnMut(&RawMessage<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        self.exchange(op, msg, NLM_F_ACK | flags, &mut |m| {
            out.extend(decode(m)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// Sends a get request and decodes its one reply.
    ///
    /// The request asks for an ack as well: the kernel sends it right
    /// after the reply, in the same round trip, and it ends the answer even
    /// when the kernel has no reply to give (a request that is not a get,
    /// say), so the wait always ends.
    pub(crate) fn request_one<T>(
        &self,
        op: Op<'_>,
        msg: RouteNetlinkMessage,
        mut decode: impl FnMut(&RawMessage<'_>) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut out = None;
        self.exchange(op, msg, NLM_F_ACK, &mut |m| {
            if out.is_none() {
                out = Some(decode(m)?);
            }
            Ok(())
        })?;
        out.ok_or_else(|| op.decode_error("the kernel acknowledged the request but sent no reply"))
    }

    /// Dumps, retrying while the kernel reports the dump inconsistent.
    /// `decode` returns `None` for messages the caller filters out.
    pub(crate) fn dump<T>(
        &self,
        op: Op<'_>,
        msg: RouteNetlinkMessage,
        mut decode: impl FnMut(&RawMessage<'_>) -> Result<Option<T>, Error>,
    ) -> Result<Vec<T>, Error> {
        retry_interrupted(op, || {
            let mut out = Vec::new();
            let interrupted = self.exchange(op, msg.clone(), NLM_F_DUMP, &mut |m| {
                out.extend(decode(m)?);
                Ok(())
            })?;
            Ok((!interrupted).then_some(out))
        })
    }

    /// One round trip: send `msg`, feed every reply message with its
    /// sequence number to `on_msg` until the answer ends. Returns whether a
    /// dump was flagged `NLM_F_DUMP_INTR`.
    fn exchange(
        &self,
        op: Op<'_>,
        msg: RouteNetlinkMessage,
        flags: u16,
        on_msg: &mut dyn FnMut(&RawMessage<'_>) -> Result<(), Error>,
    ) -> Result<bool, Error> {
        let mut outcomes = self.exchange_batch(vec![Request {
            op,
            msg,
            flags,
            on_msg,
        }])?;
        outcomes.pop().expect("one outcome per request")
    }

    /// Sends a get request and a change in one datagram, so they cost one
    /// round trip; the kernel handles them in order. Fails only when the
    /// socket does; each request's own outcome comes back in the result.
    pub(crate) fn request_one_then_ack<T>(
        &self,
        get: (Op<'_>, RouteNetlinkMessage),
        mut decode: impl FnMut(&RawMessage<'_>) -> Result<T, Error>,
        change: (Op<'_>, RouteNetlinkMessage, u16),
    ) -> Result<GetThenChange<T>, Error> {
        let mut reply = None;
        let mut outcomes = self.exchange_batch(vec![
            Request {
                op: get.0,
                msg: get.1,
                flags: NLM_F_ACK,
                on_msg: &mut |m| {
                    if reply.is_none() {
                        reply = Some(decode(m)?);
                    }
                    Ok(())
                },
            },
            Request {
                op: change.0,
                msg: change.1,
                flags: NLM_F_ACK | change.2,
                on_msg: &mut |_| Ok(()),
            },
        ])?;
        let changed = outcomes.pop().expect("one outcome per request");
        let got = outcomes.pop().expect("one outcome per request");
        let got = got.and_then(|_| {
            reply.ok_or_else(|| {
                get.0
                    .decode_error("the kernel acknowledged the request but sent no reply")
            })
        });
        Ok(GetThenChange {
            got,
            changed: changed.map(|_| ()),
        })
    }

    /// Sends `requests` in one datagram (one round trip) and feeds every
    /// reply message to the `on_msg` of the request whose sequence number
    /// it carries, until every answer has ended. Returns each request's
    /// outcome, in order: its first error, or whether its dump was flagged
    /// `NLM_F_DUMP_INTR`. Fails as a whole only when the socket fails or an
    /// answer cannot be read, naming the first request's operation.
    ///
    /// Every answer is read to its end, even after an `on_msg` fails, so no
    /// leftover replies or half-read dump stay on the socket.
    fn exchange_batch(
        &self,
        requests: Vec<Request<'_, '_>>,
    ) -> Result<Vec<Result<bool, Error>>, Error> {
        let op = requests.first().expect("at least one request").op;
        let mut guard = self.lock();
        let t = &mut *guard;
        if t.mid_answer {
            t.channel = self.ns.open_channel()?;
            t.answer_timeout = ANSWER_TIMEOUT;
            t.mid_answer = false;
        }
        t.send.clear();
        let mut pending = Vec::with_capacity(requests.len());
        for request in requests {
            t.seq = t.seq.wrapping_add(1).max(1);
            let start = t.send.len();
            t.send
                .extend(encode_request(request.msg, request.flags, t.seq));
            pending.push((
                Answer::new(t.seq),
                request.op,
                start..t.send.len(),
                request.on_msg,
            ));
        }
        t.channel
            .send(&t.send)
            .map_err(|source| op.socket_error("send", source))?;
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        PROCESS_ROUND_TRIPS.fetch_add(1, Ordering::Relaxed);
        t.mid_answer = true;
        #[cfg(test)]
        let mut abandon_after = t.abandon_after.take();

        while pending.iter().any(|(answer, ..)| !answer.done) {
            #[cfg(test)]
            if let Some(n) = abandon_after.as_mut() {
                if *n == 0 {
                    return Err(op.decode_error("test hook: answer abandoned"));
                }
                *n -= 1;
            }
            let len = t.recv_datagram().map_err(|source| {
                if source.kind() == std::io::ErrorKind::WouldBlock {
                    Error::NoAnswer {
                        op: op.what.to_string(),
                        link: op.link.map(|l| l.to_string()),
                        waited: t.answer_timeout,
                    }
                } else {
                    op.socket_error("receive", source)
                }
            })?;
            let datagram = t.recv.filled(len);
            for m in split_messages(datagram).map_err(|d| op.decode_error(d))? {
                // Replies to an earlier, abandoned request match no answer.
                if let Some((answer, op, sent, on_msg)) =
                    pending.iter_mut().find(|(answer, ..)| answer.seq == m.seq)
                {
                    answer.take(*op, &t.send[sent.clone()], &m, *on_msg)?;
                }
            }
        }
        t.mid_answer = false;
        Ok(pending
            .into_iter()
            .map(|(answer, ..)| answer.finish())
            .collect())
    }
}

/// The outcomes of [`Netlink::request_one_then_ack`].
pub(crate) struct GetThenChange<T> {
    /// The get's decoded reply.
    pub got: Result<T, Error>,
    /// The change's outcome.
    pub changed: Result<(), Error>,
}

/// Runs `attempt` until it returns a complete result (`Some`), at most
/// [`DUMP_ATTEMPTS`] times; `None` means the kernel flagged the dump
/// interrupted.
fn retry_interrupted<T>(
    op: Op<'_>,
    mut attempt: impl FnMut() -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    for _ in 0..DUMP_ATTEMPTS {
        if let Some(done) = attempt()? {
            return Ok(done);
        }
    }
    Err(Error::DumpInterrupted {
        op: op.describe(),
        attempts: DUMP_ATTEMPTS,
    })
}

/// One request of a batch: what it is for error messages, the message and
/// its flags, and what to do with each reply message.
struct Request<'a, 'f> {
    op: Op<'a>,
    msg: RouteNetlinkMessage,
    flags: u16,
    on_msg: &'f mut dyn FnMut(&RawMessage<'_>) -> Result<(), Error>,
}

/// Follows the answer to one request through the messages that arrive.
/// Every request asks for an ack or a dump, so every answer ends with an
/// `NLMSG_ERROR` or an `NLMSG_DONE`.
struct Answer {
    seq: u32,
    interrupted: bool,
    first_err: Option<Error>,
    done: bool,
}

impl Answer {
    fn new(seq: u32) -> Answer {
        Answer {
            seq,
            interrupted: false,
            first_err: None,
            done: false,
        }
    }

    /// Takes one received message. After the first error (the kernel's or
    /// `on_msg`'s) the rest of the answer is still read, so nothing of it is
    /// left on the socket, but no longer handed to `on_msg`. Fails at once
    /// only when the kernel's error itself cannot be decoded.
    fn take(
        &mut self,
        op: Op<'_>,
        request: &[u8],
        m: &RawMessage<'_>,
        on_msg: &mut dyn FnMut(&RawMessage<'_>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        // Replies to an earlier request that was abandoned, and anything
        // after the end of this answer.
        if m.seq != self.seq || self.done {
            return Ok(());
        }
        self.interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
        let ack = match m.kind {
            NLMSG_ERROR => ack::parse_error(m.flags, m.payload()),
            NLMSG_DONE => ack::parse_done(m.flags, m.payload()),
            // Nothing for us in these.
            netlink_packet_core::NLMSG_NOOP | netlink_packet_core::NLMSG_OVERRUN => return Ok(()),
            _ => {
                if self.first_err.is_none() {
                    self.first_err = on_msg(m).err();
                }
                return Ok(());
            }
        };
        let ack = ack.map_err(|d| op.decode_error(d))?;
        if ack.errno != 0 && self.first_err.is_none() {
            self.first_err = Some(kernel_error(op, &ack, request));
        }
        self.done = true;
        Ok(())
    }

    /// The outcome: the first error, or whether a dump was flagged
    /// `NLM_F_DUMP_INTR` and must be repeated.
    fn finish(self) -> Result<bool, Error> {
        match self.first_err {
            Some(e) => Err(e),
            None => Ok(self.interrupted),
        }
    }
}

impl Transport {
    /// Receives one datagram whole: peek at its size, grow the buffer to
    /// fit, then read it.
    fn recv_datagram(&mut self) -> std::io::Result<usize> {
        #[allow(
            clippy::infallible_destructuring_match,
            reason = "the fake kernel is a second channel in test builds"
        )]
        let socket = match &self.channel {
            Channel::Kernel(socket) => socket,
            #[cfg(feature = "test-support")]
            Channel::Fake(wire) => return wire.recv(&mut self.recv),
        };
        loop {
            let mut probe: &mut [u8] = &mut [];
            let size = match socket.recv(&mut probe, libc::MSG_PEEK | libc::MSG_TRUNC) {
                Ok(size) => size,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let mut room = self.recv.room_for(size);
            match socket.recv(&mut room, 0) {
                Ok(got) => return Ok(got),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Decodes a request as the kernel would see it, for checking encoders.
#[cfg(test)]
pub(crate) fn decode_request(bytes: &[u8]) -> (NetlinkHeader, RouteNetlinkMessage) {
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).expect("decodes");
    assert_eq!(msg.header.length as usize, bytes.len());
    match msg.payload {
        NetlinkPayload::InnerMessage(inner) => (msg.header, inner),
        other => panic!("not a route message: {other:?}"),
    }
}

fn kernel_error(op: Op<'_>, ack: &ack::Ack, request: &[u8]) -> Error {
    Error::Kernel {
        op: op.what.to_string(),
        link: op.link.map(|l| l.to_string()),
        errno: ack.errno,
        ext_ack: ack.ext.message.clone(),
        attribute: ack.ext.attribute(request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NLM_F_MULTIPART;

    fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let len = (NLMSG_HDRLEN + payload.len()) as u32;
        let mut m = len.to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        while !m.len().is_multiple_of(4) {
            m.push(0);
        }
        m
    }

    #[test]
    fn splits_aligned_messages() {
        let mut datagram = message(16, 2, 7, &[1, 2, 3, 4, 5]);
        datagram.extend(message(3, 2, 7, &[0, 0, 0, 0]));
        let messages = split_messages(&datagram).unwrap();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].kind, 16);
        assert_eq!(messages[0].payload(), &[1, 2, 3, 4, 5]);
        assert_eq!(messages[1].kind, NLMSG_DONE);
        assert_eq!(messages[1].seq, 7);
        assert_eq!(messages[1].flags, NLM_F_MULTIPART);
    }

    #[test]
    fn rejects_lying_lengths() {
        let mut datagram = message(16, 0, 1, &[0; 8]);
        datagram[0] = 200;
        assert!(split_messages(&datagram).is_err());
        assert!(split_messages(&datagram[..10]).is_err());
        datagram[0] = 4;
        assert!(split_messages(&datagram).is_err());
    }

    #[test]
    fn encoded_request_has_header_flags_and_sequence() {
        let msg = RouteNetlinkMessage::GetLink(Default::default());
        let bytes = encode_request(msg, NLM_F_DUMP, 42);
        let m = split_messages(&bytes).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].kind, 18); // RTM_GETLINK
        assert_eq!(m[0].flags, NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(m[0].seq, 42);
        assert_eq!(m[0].bytes.len(), bytes.len());
    }

    /// Feeds every one of `messages` (kind, flags, seq, payload) to an
    /// answer for seq 7, and returns it with the kinds it handed on.
    fn answer(messages: &[(u16, u16, u32, Vec<u8>)]) -> (Answer, Vec<u16>) {
        let mut answer = Answer::new(7);
        let mut seen = Vec::new();
        let request = message(16, 0, 7, &[0; 16]);
        for (kind, flags, seq, payload) in messages {
            let bytes = message(*kind, *flags, *seq, payload);
            let m = split_messages(&bytes).unwrap()[0];
            answer
                .take(Op::new("test"), &request, &m, &mut |m| {
                    seen.push(m.kind);
                    if m.kind == 99 {
                        Err(Op::new("test").decode_error("bad"))
                    } else {
                        Ok(())
                    }
                })
                .unwrap();
        }
        (answer, seen)
    }

    fn done_msg(flags: u16, errno: i32) -> (u16, u16, u32, Vec<u8>) {
        (
            NLMSG_DONE,
            NLM_F_MULTIPART | flags,
            7,
            (-errno).to_ne_bytes().to_vec(),
        )
    }

    fn ack_msg(errno: i32) -> (u16, u16, u32, Vec<u8>) {
        let mut payload = (-errno).to_ne_bytes().to_vec();
        payload.extend(message(16, 0, 7, &[]));
        (NLMSG_ERROR, netlink_packet_core::NLM_F_CAPPED, 7, payload)
    }

    #[test]
    fn a_dump_skips_stale_replies_and_ends_at_done() {
        let (a, seen) = answer(&[
            (16, NLM_F_MULTIPART, 6, vec![]),
            (16, NLM_F_MULTIPART, 7, vec![]),
            (20, NLM_F_MULTIPART, 7, vec![]),
            done_msg(0, 0),
            (24, NLM_F_MULTIPART, 7, vec![]),
            ack_msg(libc::EINVAL),
        ]);
        assert_eq!(
            seen,
            vec![16, 20],
            "seq 6 is stale; nothing after DONE is this answer's"
        );
        assert!(a.done);
        assert!(!a.finish().unwrap(), "not interrupted, and no error");
    }

    #[test]
    fn an_interrupted_dump_asks_for_a_retry() {
        let (a, _) = answer(&[
            (16, NLM_F_MULTIPART | NLM_F_DUMP_INTR, 7, vec![]),
            done_msg(0, 0),
        ]);
        assert!(a.finish().unwrap(), "interrupted");
        let (a, _) = answer(&[
            (16, NLM_F_MULTIPART, 7, vec![]),
            done_msg(NLM_F_DUMP_INTR, 0),
        ]);
        assert!(a.finish().unwrap(), "interrupted");
    }

    #[test]
    fn errors_end_the_answer_and_later_messages_are_not_decoded() {
        let (a, _) = answer(&[done_msg(0, libc::EOPNOTSUPP)]);
        assert_eq!(
            a.finish().unwrap_err().errno(),
            Some(nix::errno::Errno::EOPNOTSUPP)
        );

        let (a, seen) = answer(&[
            (99, NLM_F_MULTIPART, 7, vec![]),
            (16, NLM_F_MULTIPART, 7, vec![]),
            done_msg(0, 0),
        ]);
        assert_eq!(seen, vec![99], "nothing is decoded after the first failure");
        assert!(a.done, "but the dump is still read to its end");
        assert!(matches!(a.finish(), Err(Error::Decode { .. })));
    }

    #[test]
    fn replies_then_the_ack_end_the_answer() {
        let (a, _) = answer(&[ack_msg(0)]);
        assert!(a.done);
        assert!(!a.finish().unwrap(), "not interrupted");
        let (a, _) = answer(&[ack_msg(libc::ENODEV)]);
        assert!(a.finish().unwrap_err().is_no_such_link());
        let (a, seen) = answer(&[(16, 0, 7, vec![]), (16, 0, 7, vec![]), ack_msg(0)]);
        assert!(a.done);
        assert_eq!(seen, vec![16, 16]);
        let (a, seen) = answer(&[(16, 0, 7, vec![])]);
        assert!(
            !a.done,
            "a reply alone does not end the answer: the ack does"
        );
        assert_eq!(seen, vec![16]);
    }

    #[test]
    fn a_request_the_kernel_leaves_unanswered_times_out() {
        if crate::require_capabilities(crate::Capability::PLUGIN).is_err() {
            eprintln!("skipped: a_request_the_kernel_leaves_unanswered_times_out needs root");
            return;
        }
        let ns = NetNs::new_unnamed().unwrap();
        let nl = ns.netlink().unwrap();
        {
            let mut t = nl.lock();
            let short = Duration::from_millis(100);
            let Channel::Kernel(socket) = &t.channel else {
                unreachable!("a kernel client")
            };
            set_receive_timeout(socket, short).unwrap();
            t.answer_timeout = short;
        }
        // A change sent without NLM_F_ACK: the kernel makes it and sends
        // nothing back.
        let req = crate::LinkChange::new()
            .mtu(1280)
            .request(&crate::LinkRef::Index(1))
            .unwrap();
        let lo = crate::LinkRef::Index(1);
        let err = nl
            .exchange(Op::on("set MTU", &lo), req, 0, &mut |_| Ok(()))
            .unwrap_err();
        match &err {
            Error::NoAnswer { op, link, waited } => {
                assert_eq!(op, "set MTU");
                assert_eq!(link.as_deref(), Some("#1"));
                assert_eq!(*waited, Duration::from_millis(100));
            }
            other => panic!("expected NoAnswer, got {other:?}"),
        }
        assert!(
            err.to_string()
                .starts_with("set MTU on link #1: the kernel did not answer within "),
            "{err}"
        );
        // The client goes on working, and the change was made.
        assert_eq!(nl.link(1).unwrap().mtu, 1280);
    }

    #[test]
    fn a_dump_interrupted_every_time_gives_up_after_the_last_attempt() {
        let mut attempts = 0;
        let result: Result<(), Error> = retry_interrupted(Op::new("dump links"), || {
            attempts += 1;
            Ok(None)
        });
        assert_eq!(attempts, DUMP_ATTEMPTS);
        match result {
            Err(e @ Error::DumpInterrupted { .. }) => {
                let text = e.to_string();
                assert_eq!(
                    text,
                    format!(
                        "dump links: dump interrupted by concurrent changes {DUMP_ATTEMPTS} \
                         times in a row"
                    )
                );
            }
            other => panic!("expected DumpInterrupted, got {other:?}"),
        }

        // The last attempt still counts; an error ends the retries at once.
        let mut attempts = 0;
        let last = retry_interrupted(Op::new("dump links"), || {
            attempts += 1;
            Ok((attempts == DUMP_ATTEMPTS).then_some(attempts))
        });
        assert_eq!(last.unwrap(), DUMP_ATTEMPTS);
        let mut attempts = 0;
        let failed: Result<(), Error> = retry_interrupted(Op::new("dump links"), || {
            attempts += 1;
            Err(Op::new("dump links").decode_error("bad"))
        });
        assert!(matches!(failed, Err(Error::Decode { .. })));
        assert_eq!(attempts, 1);
    }

    /// A private namespace with `pairs` veth pairs, so that a dump of its
    /// links spans many datagrams; `None` (and a skip line) without the
    /// capabilities for it.
    fn namespace_with_veths(test: &str, pairs: usize) -> Option<(NetNs, Netlink)> {
        if crate::require_capabilities(crate::Capability::PLUGIN).is_err() {
            eprintln!("skipped: {test} needs root");
            return None;
        }
        let ns = NetNs::new_unnamed().unwrap();
        let nl = ns.netlink().unwrap();
        for i in 0..pairs {
            let name = |side: &str| format!("v{side}{i}").parse().unwrap();
            nl.add_veth(&name("a"), &name("b"), None).unwrap();
        }
        Some((ns, nl))
    }

    #[test]
    fn a_dump_abandoned_midway_does_not_block_the_next_one() {
        let test = "a_dump_abandoned_midway_does_not_block_the_next_one";
        let Some((_ns, nl)) = namespace_with_veths(test, 20) else {
            return;
        };
        nl.lock().abandon_after = Some(1);
        match nl.links() {
            Err(Error::Decode { op, detail }) => {
                assert_eq!(op, "dump links");
                assert!(detail.contains("test hook"), "{detail}");
            }
            other => panic!("expected the injected failure, got {other:?}"),
        }
        // The kernel still had most of the dump to send; the next dump must
        // not be refused with EBUSY or see the old one's messages.
        assert_eq!(nl.links().unwrap().len(), 1 + 2 * 20);
        assert_eq!(nl.links().unwrap().len(), 1 + 2 * 20);
    }

    #[test]
    fn a_panic_midway_through_a_dump_does_not_block_the_next_one() {
        let test = "a_panic_midway_through_a_dump_does_not_block_the_next_one";
        let Some((_ns, nl)) = namespace_with_veths(test, 20) else {
            return;
        };
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = nl.dump(
                Op::new("dump links"),
                crate::link::dump_links_request(),
                |_| -> Result<Option<()>, Error> { panic!("decoder bug") },
            );
        }));
        assert!(panicked.is_err());
        assert_eq!(nl.links().unwrap().len(), 1 + 2 * 20);
        // Requests that are not dumps work on the replaced socket too.
        nl.set_up("va0").unwrap();
        assert!(nl.link("va0").unwrap().is_up());
    }

    proptest::proptest! {
        #[test]
        fn split_never_panics(bytes: Vec<u8>) {
            let _ = split_messages(&bytes);
        }
    }
}
