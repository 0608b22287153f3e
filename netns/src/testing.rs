//! A scripted fake kernel, for tests of what happens when the kernel
//! refuses or fails (the `test-support` feature).
//!
//! A [`FakeKernel`] answers requests in order from a script of
//! [`Answer`]s, each for a request of the [`Request`] kind the script
//! expects; [`FakeKernel::namespace`] is a namespace handle whose clients
//! ([`NetNs::netlink`]) talk to it instead of the kernel, so code that opens
//! clients itself (as `vf` and `bond` do) talks to it too. Replies go
//! through the same machinery as the kernel's (sequence numbers, acks,
//! extended acks, dumps), so everything above the socket runs as it does
//! for real.
//!
//! ```
//! use netplumb_netns::testing::{Answer, FakeKernel, Request};
//! use netplumb_netns::{LinkInfo, Errno};
//!
//! let kernel = FakeKernel::new();
//! kernel
//!     .expect(Request::GetLink, Answer::link(LinkInfo::new(3, "eth0".parse().unwrap())))
//!     .expect(Request::SetLink, Answer::error(Errno::EBUSY, "device busy"));
//! let nl = kernel.netlink();
//! assert_eq!(nl.link("eth0").unwrap().index, 3);
//! let err = nl.set_mtu(3, 9000).unwrap_err();
//! assert_eq!(err.ext_ack(), Some("device busy"));
//! kernel.finish();
//! ```
//!
//! youki's fake netlink client is the model: a test states what the kernel
//! answers, and checks what was asked.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use netlink_packet_core::{
    DefaultNla, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLMSG_DONE, NLMSG_ERROR,
    NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP, NLM_F_MULTIPART,
};
use netlink_packet_route::link::{
    BondAllPortActive, BondFailOverMac, BondMode, BondPortState, BondXmitHashPolicy, InfoBond,
    InfoBondPort, InfoData, InfoKind, InfoPortData, InfoPortKind, LinkAttribute,
    LinkInfo as NlLinkInfo, LinkMessage, MiiStatus, Prop, State as OperStateAttr,
};
use netlink_packet_route::RouteNetlinkMessage;
use nix::errno::Errno;

use crate::link::string_attr;
use crate::netlink::split_messages;
use crate::netlink::Channel;
use crate::{LinkInfo, NetNs, Netlink, VfInfo};

const IFLA_IFNAME: u16 = 3;
const IFLA_IFALIAS: u16 = 20;
const IFLA_VFINFO_LIST: u16 = 22;
const IFLA_ALT_IFNAME: u16 = 53;
const IFLA_BOND_TLB_DYNAMIC_LB: u16 = 27;
/// Where `ifi_type` is in an `RTM_NEWLINK`: after the netlink header, the
/// family and a pad byte.
const IFI_TYPE: std::ops::Range<usize> = 18..20;

/// The kind of a request, as a script expects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Request {
    /// `RTM_GETLINK` for one link.
    GetLink,
    /// `RTM_GETLINK` dump.
    DumpLinks,
    /// `RTM_SETLINK`.
    SetLink,
    /// `RTM_NEWLINK`.
    NewLink,
    /// `RTM_DELLINK`.
    DelLink,
    /// `RTM_NEWADDR`.
    NewAddress,
    /// `RTM_DELADDR`.
    DelAddress,
    /// `RTM_GETADDR` dump.
    DumpAddresses,
    /// `RTM_NEWROUTE`.
    NewRoute,
    /// `RTM_DELROUTE`.
    DelRoute,
    /// `RTM_GETROUTE` dump.
    DumpRoutes,
    /// `RTM_GETNEIGH` dump.
    DumpNeighbours,
    /// `RTM_NEWLINKPROP` (an alternative name added).
    NewLinkProp,
    /// `RTM_DELLINKPROP`.
    DelLinkProp,
    /// The ethtool request for a link's bus info (not netlink: the
    /// `SIOCETHTOOL` ioctl), answered by [`Answer::BusInfo`] or
    /// [`Answer::Error`].
    BusInfo,
    /// Any other message type.
    Other(u16),
}

impl Request {
    fn of(kind: u16, flags: u16) -> Request {
        let dump = flags & NLM_F_DUMP == NLM_F_DUMP;
        match (kind, dump) {
            (18, false) => Request::GetLink,
            (18, true) => Request::DumpLinks,
            (19, _) => Request::SetLink,
            (16, _) => Request::NewLink,
            (17, _) => Request::DelLink,
            (20, _) => Request::NewAddress,
            (21, _) => Request::DelAddress,
            (22, _) => Request::DumpAddresses,
            (24, _) => Request::NewRoute,
            (25, _) => Request::DelRoute,
            (26, _) => Request::DumpRoutes,
            (30, true) => Request::DumpNeighbours,
            (108, _) => Request::NewLinkProp,
            (109, _) => Request::DelLinkProp,
            (other, _) => Request::Other(other),
        }
    }
}

/// What the fake kernel answers one request with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Success: an ack.
    Ack,
    /// A refusal with this errno and, when given, this extended-ack text.
    Error {
        /// The errno.
        errno: Errno,
        /// The extended-ack text.
        ext_ack: Option<String>,
    },
    /// One link, then the ack: the answer to a get, or to a change sent
    /// with `NLM_F_ECHO` ([`Answer::link`] boxes it).
    Link(Box<LinkInfo>),
    /// A dump of these links.
    Links(Vec<LinkInfo>),
    /// These messages as the kernel sent them, captured from a real
    /// socket, then the ack (or, for a dump, its end): each a whole netlink
    /// message whose sequence number is set to the request's.
    Raw(Vec<Vec<u8>>),
    /// The bus info a driver reports to ethtool (empty for none), for
    /// [`Request::BusInfo`].
    BusInfo(String),
    /// Nothing at all: the client waits, and gives up with
    /// [`Error::NoAnswer`](crate::Error::NoAnswer).
    Silence,
}

impl Answer {
    /// One link, then the ack.
    pub fn link(link: LinkInfo) -> Answer {
        Answer::Link(Box::new(link))
    }

    /// A refusal with `errno` and extended-ack text `ext_ack`.
    pub fn error(errno: Errno, ext_ack: &str) -> Answer {
        Answer::Error {
            errno,
            ext_ack: Some(ext_ack.to_owned()),
        }
    }
}

/// A request the fake kernel was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// Its kind.
    pub request: Request,
    /// The whole message, netlink header included.
    pub bytes: Vec<u8>,
}

/// A scripted fake kernel (see the [module](self) documentation). Clones
/// share one script.
#[derive(Debug, Clone, Default)]
pub struct FakeKernel {
    wire: Wire,
}

impl FakeKernel {
    /// A fake kernel with an empty script.
    pub fn new() -> FakeKernel {
        FakeKernel::default()
    }

    /// Adds to the script: the next request not yet answered must be of
    /// kind `request`, and gets `answer`.
    pub fn expect(&self, request: Request, answer: Answer) -> &FakeKernel {
        self.wire.lock().script.push_back((request, answer));
        self
    }

    /// A handle on the calling thread's network namespace whose clients talk
    /// to this fake kernel; its path (for messages) is `path`. Its file
    /// descriptor is real, so requests that carry it (a move to this
    /// namespace) are well-formed.
    pub fn namespace(&self, path: &str) -> NetNs {
        NetNs::faked(self.wire.clone(), path).expect("the calling thread's namespace can be opened")
    }

    /// A client that talks to this fake kernel, in a namespace named
    /// `/run/netns/fake`.
    pub fn netlink(&self) -> Netlink {
        let ns = self.namespace("/run/netns/fake");
        Netlink::new(
            ns.duplicate().expect("a second handle"),
            Channel::Fake(self.wire.clone()),
        )
    }

    /// Every request sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.wire.lock().sent.clone()
    }

    /// The kinds of the requests sent so far, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.wire.lock().sent.iter().map(|s| s.request).collect()
    }

    /// Checks the script was played out exactly: every expected request
    /// came, in order, and nothing else. Panics with what differed.
    #[track_caller]
    pub fn finish(&self) {
        let state = self.wire.lock();
        let mut problems = state.problems.clone();
        problems.extend(
            state
                .script
                .iter()
                .map(|(request, _)| format!("expected {request:?}, never sent")),
        );
        assert!(
            problems.is_empty(),
            "the fake kernel's script was not played out: {}; sent: {:?}",
            problems.join("; "),
            state.sent.iter().map(|s| s.request).collect::<Vec<_>>()
        );
    }
}

/// The shared state between a [`FakeKernel`] and its clients.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wire(Arc<Mutex<State>>);

#[derive(Debug, Default)]
struct State {
    script: VecDeque<(Request, Answer)>,
    sent: Vec<Sent>,
    /// Datagrams waiting to be received.
    replies: VecDeque<Vec<u8>>,
    /// What went against the script.
    problems: Vec<String>,
}

impl State {
    /// The script's answer to `request`, noting a request out of script.
    fn answer(&mut self, request: Request) -> Answer {
        match self.script.pop_front() {
            Some((expected, answer)) if expected == request => answer,
            Some((expected, _)) => {
                self.problems
                    .push(format!("expected {expected:?}, got {request:?}"));
                Answer::Error {
                    errno: Errno::EPROTO,
                    ext_ack: Some("the fake kernel expected another request".into()),
                }
            }
            None => {
                self.problems.push(format!("unexpected {request:?}"));
                Answer::Error {
                    errno: Errno::EPROTO,
                    ext_ack: Some("the fake kernel's script is played out".into()),
                }
            }
        }
    }
}

impl Wire {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a datagram of requests and queues the answer to each.
    pub(crate) fn send(&self, datagram: &[u8]) -> io::Result<()> {
        let messages =
            split_messages(datagram).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut state = self.lock();
        for m in messages {
            let request = Request::of(m.kind, m.flags);
            state.sent.push(Sent {
                request,
                bytes: m.bytes.to_vec(),
            });
            let answer = state.answer(request);
            let dump = m.flags & NLM_F_DUMP == NLM_F_DUMP;
            let reply = reply(&answer, m.seq, m.bytes, dump);
            if !reply.is_empty() {
                state.replies.push_back(reply);
            }
        }
        Ok(())
    }

    /// Answers the ethtool bus-info request for the link named `name`.
    pub(crate) fn bus_info(&self, name: &crate::IfName) -> Result<String, Errno> {
        let mut state = self.lock();
        state.sent.push(Sent {
            request: Request::BusInfo,
            bytes: name.as_bytes().to_vec(),
        });
        match state.answer(Request::BusInfo) {
            Answer::BusInfo(bus_info) => Ok(bus_info),
            Answer::Error { errno, .. } => Err(errno),
            other => {
                state
                    .problems
                    .push(format!("{other:?} cannot answer a BusInfo request"));
                Err(Errno::EPROTO)
            }
        }
    }

    /// Gives the next queued datagram; `WouldBlock` when there is none, as
    /// a socket whose receive timeout passed.
    pub(crate) fn recv(&self, buffer: &mut crate::netlink::RecvBuffer) -> io::Result<usize> {
        let Some(datagram) = self.lock().replies.pop_front() else {
            return Err(io::Error::from(io::ErrorKind::WouldBlock));
        };
        buffer.room_for(datagram.len())[..datagram.len()].copy_from_slice(&datagram);
        Ok(datagram.len())
    }
}

/// The datagram answering one request.
fn reply(answer: &Answer, seq: u32, request: &[u8], dump: bool) -> Vec<u8> {
    match answer {
        Answer::Ack => error_message(seq, request, 0, None),
        Answer::Error { errno, ext_ack } => {
            error_message(seq, request, *errno as i32, ext_ack.as_deref())
        }
        Answer::Link(link) => {
            let mut out = link_message(link, seq, 0);
            out.extend(error_message(seq, request, 0, None));
            out
        }
        Answer::Links(links) => {
            let mut out = Vec::new();
            for link in links {
                out.extend(link_message(link, seq, NLM_F_MULTIPART));
            }
            out.extend(message(
                NLMSG_DONE,
                NLM_F_MULTIPART,
                seq,
                &0i32.to_ne_bytes(),
            ));
            if !dump {
                out.extend(error_message(seq, request, 0, None));
            }
            out
        }
        Answer::Raw(messages) => {
            let mut out = Vec::new();
            for m in messages {
                let mut m = m.clone();
                if let Some(field) = m.get_mut(8..12) {
                    field.copy_from_slice(&seq.to_ne_bytes());
                }
                out.extend(m);
                pad(&mut out);
            }
            if dump {
                out.extend(message(
                    NLMSG_DONE,
                    NLM_F_MULTIPART,
                    seq,
                    &0i32.to_ne_bytes(),
                ));
            } else {
                out.extend(error_message(seq, request, 0, None));
            }
            out
        }
        Answer::Silence | Answer::BusInfo(_) => Vec::new(),
    }
}

/// A netlink message of `kind` with `payload`, padded to 4 bytes.
fn message(kind: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(16 + payload.len()).expect("a small message");
    let mut out = Vec::with_capacity(16 + payload.len() + 3);
    out.extend(len.to_ne_bytes());
    out.extend(kind.to_ne_bytes());
    out.extend(flags.to_ne_bytes());
    out.extend(seq.to_ne_bytes());
    out.extend(0u32.to_ne_bytes());
    out.extend(payload);
    pad(&mut out);
    out
}

fn pad(bytes: &mut Vec<u8>) {
    while !bytes.len().is_multiple_of(4) {
        bytes.push(0);
    }
}

/// An `NLMSG_ERROR` as the kernel sends it to a client with
/// `NETLINK_CAP_ACK` and `NETLINK_EXT_ACK`: the errno, the request's header,
/// and the extended-ack text as `NLMSGERR_ATTR_MSG`.
fn error_message(seq: u32, request: &[u8], errno: i32, ext_ack: Option<&str>) -> Vec<u8> {
    let mut payload = (-errno).to_ne_bytes().to_vec();
    payload.extend(&request[..16]);
    let mut flags = NLM_F_CAPPED;
    if let Some(text) = ext_ack {
        flags |= NLM_F_ACK_TLVS;
        payload.extend(nla(1, &[text.as_bytes(), &[0]].concat()));
    }
    message(NLMSG_ERROR, flags, seq, &payload)
}

/// One attribute, padded.
fn nla(kind: u16, value: &[u8]) -> Vec<u8> {
    let len = u16::try_from(4 + value.len()).expect("a small attribute");
    let mut out = len.to_ne_bytes().to_vec();
    out.extend(kind.to_ne_bytes());
    out.extend(value);
    pad(&mut out);
    out
}

/// An `RTM_NEWLINK` describing `link` as the kernel would.
pub fn link_message(link: &LinkInfo, seq: u32, flags: u16) -> Vec<u8> {
    let mut msg = LinkMessage::default();
    msg.header.index = link.index;
    msg.header.link_layer_type = netlink_packet_route::link::LinkLayerType::from(link.link_type);
    msg.header.flags = netlink_packet_route::link::LinkFlags::from_bits_retain(link.flags);
    let attrs = &mut msg.attributes;
    attrs.push(string_attr(IFLA_IFNAME, link.name.as_bytes()));
    attrs.push(LinkAttribute::Mtu(link.mtu));
    attrs.push(LinkAttribute::OperState(OperStateAttr::from(u8::from(
        link.oper_state,
    ))));
    if let Some(mac) = link.mac {
        attrs.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    if let Some(mac) = link.permanent_mac {
        attrs.push(LinkAttribute::PermAddress(mac.0.to_vec()));
    }
    if let Some(controller) = link.controller {
        attrs.push(LinkAttribute::Controller(controller));
    }
    if let Some(alias) = &link.alias {
        attrs.push(LinkAttribute::Other(DefaultNla::new(
            IFLA_IFALIAS,
            alias.as_bytes().to_vec(),
        )));
    }
    if !link.alt_names.is_empty() {
        attrs.push(LinkAttribute::PropList(
            link.alt_names
                .iter()
                .map(|alt| {
                    Prop::Other(DefaultNla::new(
                        IFLA_ALT_IFNAME,
                        [alt.as_bytes(), &[0]].concat(),
                    ))
                })
                .collect(),
        ));
    }
    if let Some(parent) = &link.parent_device {
        attrs.push(LinkAttribute::ParentDevName(parent.clone()));
    }
    if let Some(bus) = &link.parent_bus {
        attrs.push(LinkAttribute::ParentDevBusName(bus.clone()));
    }
    if let Some(num_vfs) = link.num_vfs {
        attrs.push(LinkAttribute::NumVf(num_vfs));
    }
    if !link.vfs.is_empty() {
        let list: Vec<u8> = link.vfs.iter().flat_map(vf_info).collect();
        attrs.push(LinkAttribute::Other(DefaultNla::new(
            IFLA_VFINFO_LIST,
            list,
        )));
    }
    let mut info = Vec::new();
    if let Some(kind) = &link.kind {
        info.push(NlLinkInfo::Kind(InfoKind::from(kind.as_str())));
        if let Some(bond) = &link.bond {
            info.push(NlLinkInfo::Data(InfoData::Bond(bond_options(bond))));
        }
    }
    if let Some(kind) = &link.port_kind {
        let port_kind = match kind.as_str() {
            "bond" => InfoPortKind::Bond,
            "bridge" => InfoPortKind::Bridge,
            other => InfoPortKind::Other(other.to_owned()),
        };
        info.push(NlLinkInfo::PortKind(port_kind));
        if let Some(port) = &link.bond_port {
            let mut data = Vec::new();
            data.extend(
                port.state
                    .map(|s| InfoBondPort::BondPortState(BondPortState::from(s))),
            );
            data.extend(
                port.mii_status
                    .map(|s| InfoBondPort::MiiStatus(MiiStatus::from(s))),
            );
            data.extend(port.link_failure_count.map(InfoBondPort::LinkFailureCount));
            data.extend(
                port.permanent_mac
                    .map(|m| InfoBondPort::PermHwaddr(m.0.to_vec())),
            );
            data.extend(port.queue_id.map(InfoBondPort::QueueId));
            info.push(NlLinkInfo::PortData(InfoPortData::BondPort(data)));
        }
    }
    if !info.is_empty() {
        attrs.push(LinkAttribute::LinkInfo(info));
    }
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(
        header,
        NetlinkPayload::from(RouteNetlinkMessage::NewLink(msg)),
    );
    message.finalize();
    let mut bytes = vec![0; message.buffer_len()];
    message.serialize(&mut bytes);
    // netlink-packet-route sends a link-layer type it does not know as
    // ARPHRD_VOID; ifi_type goes out as given instead.
    bytes[IFI_TYPE].copy_from_slice(&link.link_type.to_ne_bytes());
    bytes
}

fn bond_options(bond: &crate::BondData) -> Vec<InfoBond> {
    let mut options = Vec::new();
    options.extend(bond.mode.map(|m| InfoBond::Mode(BondMode::from(m))));
    options.extend(bond.active_port.map(InfoBond::ActivePort));
    options.extend(bond.miimon.map(InfoBond::MiiMon));
    options.extend(bond.updelay.map(InfoBond::UpDelay));
    options.extend(bond.downdelay.map(InfoBond::DownDelay));
    options.extend(bond.primary.map(InfoBond::Primary));
    options.extend(
        bond.fail_over_mac
            .map(|p| InfoBond::FailOverMac(BondFailOverMac::from(p))),
    );
    options.extend(
        bond.xmit_hash_policy
            .map(|p| InfoBond::XmitHashPolicy(BondXmitHashPolicy::from(p))),
    );
    options.extend(
        bond.all_slaves_active
            .map(|on| InfoBond::AllPortsActive(BondAllPortActive::from(on))),
    );
    // netlink-packet-route takes this u8 as a flag; it goes out as given.
    options.extend(
        bond.tlb_dynamic_lb
            .map(|v| InfoBond::Other(DefaultNla::new(IFLA_BOND_TLB_DYNAMIC_LB, vec![v]))),
    );
    options
}

/// One `IFLA_VF_INFO`, laid out as the kernel's `struct ifla_vf_*`.
fn vf_info(vf: &VfInfo) -> Vec<u8> {
    let i = vf.index.to_ne_bytes();
    let word = |v: u32| v.to_ne_bytes();
    let tristate = |v: Option<bool>| word(v.map_or(u32::MAX, u32::from));
    let mut mac = [0u8; 32];
    mac[..6].copy_from_slice(&vf.mac.0);
    let mut inner = Vec::new();
    inner.extend(nla(1, &[&i[..], &mac].concat()));
    inner.extend(nla(
        2,
        &[i, word(u32::from(vf.vlan)), word(u32::from(vf.qos))].concat(),
    ));
    inner.extend(nla(
        6,
        &[i, word(vf.min_tx_rate), word(vf.max_tx_rate)].concat(),
    ));
    inner.extend(nla(4, &[i, tristate(vf.spoofchk)].concat()));
    inner.extend(nla(5, &[i, word(vf.link_state.as_u32())].concat()));
    inner.extend(nla(9, &[i, tristate(vf.trust)].concat()));
    let proto = vf.vlan_proto.ethertype().to_be_bytes();
    let vlan_info = [
        &i[..],
        &word(u32::from(vf.vlan)),
        &word(u32::from(vf.qos)),
        &proto,
        &[0, 0],
    ]
    .concat();
    inner.extend(nla(12, &nla(1, &vlan_info)));
    nla(1, &inner)
}

/// Whether the running kernel is release `major.minor` or newer, for lab
/// tests whose expectations differ between kernels (read from
/// `/proc/sys/kernel/osrelease`; false when it cannot be read).
pub fn kernel_at_least(major: u32, minor: u32) -> bool {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .is_ok_and(|release| release_at_least(&release, major, minor))
}

/// Whether `release` (as `uname -r` prints it) is `major.minor` or newer.
fn release_at_least(release: &str, major: u32, minor: u32) -> bool {
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0)) >= (major, minor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn releases_compare_by_major_then_minor() {
        assert!(super::release_at_least("5.10.0-46-amd64", 5, 10));
        assert!(!super::release_at_least("5.10.0-46-amd64", 5, 15));
        assert!(super::release_at_least("6.12.95+deb12-amd64\n", 6, 3));
        assert!(!super::release_at_least("6.1.0-57-amd64", 6, 3));
        assert!(super::release_at_least("6.1.0-57-amd64", 5, 16));
        assert!(!super::release_at_least("", 5, 10));
    }

    use super::*;
    use crate::{BondData, BondPortData, MacAddr, VfLinkState, VlanProto};

    #[test]
    fn a_link_described_to_the_fake_kernel_reads_back_the_same() {
        let mut link = LinkInfo::new(7, "net1".parse().unwrap());
        link.flags = 0x1 | 0x10000;
        link.mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
        link.permanent_mac = Some(MacAddr([2, 0, 0, 0, 0, 2]));
        link.controller = Some(9);
        link.alias = Some(crate::Alias::new(b"al\xff").unwrap());
        link.alt_names = vec!["uplink-of-net1".parse().unwrap()];
        link.parent_device = Some("0000:01:10.2".into());
        link.parent_bus = Some("pci".into());
        link.kind = Some("bond".into());
        link.bond = Some(BondData {
            mode: Some(1),
            miimon: Some(100),
            active_port: Some(4),
            ..BondData::default()
        });
        link.port_kind = Some("bond".into());
        link.bond_port = Some(BondPortData {
            state: Some(1),
            mii_status: Some(0),
            link_failure_count: Some(3),
            permanent_mac: Some(MacAddr([2, 0, 0, 0, 0, 3])),
            queue_id: Some(0),
        });
        link.num_vfs = Some(2);
        link.vfs = (0..2)
            .map(|index| VfInfo {
                index,
                mac: MacAddr([2, 0, 0, 0, 1, index as u8]),
                vlan: 100 + index as u16,
                qos: 3,
                vlan_proto: VlanProto::Dot1Ad,
                spoofchk: Some(true),
                trust: None,
                link_state: VfLinkState::Disable,
                min_tx_rate: 0,
                max_tx_rate: 500,
            })
            .collect();
        let kernel = FakeKernel::new();
        kernel.expect(Request::GetLink, Answer::link(link.clone()));
        assert_eq!(kernel.netlink().link(7).unwrap(), link);
        kernel.finish();
    }

    #[test]
    fn values_netlink_packet_route_has_no_name_for_read_back_as_given() {
        let mut link = LinkInfo::new(4, "bond1".parse().unwrap());
        link.link_type = 0x6501;
        link.kind = Some("bond".into());
        link.bond = Some(BondData {
            tlb_dynamic_lb: Some(7),
            ..BondData::default()
        });
        let kernel = FakeKernel::new();
        kernel.expect(Request::GetLink, Answer::link(link.clone()));
        assert_eq!(kernel.netlink().link(4).unwrap(), link);
        kernel.finish();
    }

    #[test]
    fn dumps_acks_errors_and_silence_come_back_as_from_the_kernel() {
        let kernel = FakeKernel::new();
        let links = vec![
            LinkInfo::new(1, "lo".parse().unwrap()),
            LinkInfo::new(2, "eth0".parse().unwrap()),
        ];
        kernel
            .expect(Request::DumpLinks, Answer::Links(links.clone()))
            .expect(Request::SetLink, Answer::Ack)
            .expect(
                Request::SetLink,
                Answer::error(Errno::EOPNOTSUPP, "not supported by the driver"),
            )
            .expect(Request::DelLink, Answer::Silence);
        let nl = kernel.netlink();
        assert_eq!(nl.links().unwrap(), links);
        nl.set_up(2).unwrap();
        let err = nl.set_mtu(2, 9000).unwrap_err();
        assert_eq!(err.errno(), Some(Errno::EOPNOTSUPP));
        assert_eq!(err.ext_ack(), Some("not supported by the driver"));
        assert!(matches!(
            nl.delete_link(2),
            Err(crate::Error::NoAnswer { .. })
        ));
        assert_eq!(
            kernel.requests(),
            [
                Request::DumpLinks,
                Request::SetLink,
                Request::SetLink,
                Request::DelLink
            ]
        );
        kernel.finish();
    }

    #[test]
    fn captured_replies_are_played_back_under_the_request_s_sequence_number() {
        let captured = link_message(&LinkInfo::new(5, "eth5".parse().unwrap()), 999, 0);
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::GetLink, Answer::Raw(vec![captured.clone()]))
            .expect(Request::DumpLinks, Answer::Raw(vec![captured]));
        let nl = kernel.netlink();
        assert_eq!(nl.link(5).unwrap().name, "eth5");
        assert_eq!(nl.links().unwrap().len(), 1);
        kernel.finish();
    }

    #[test]
    #[should_panic(expected = "expected SetLink, got DelLink")]
    fn a_request_against_the_script_is_reported() {
        let kernel = FakeKernel::new();
        kernel.expect(Request::SetLink, Answer::Ack);
        let _ = kernel.netlink().delete_link(2);
        kernel.finish();
    }

    #[test]
    fn clients_opened_from_its_namespace_talk_to_it() {
        let kernel = FakeKernel::new();
        kernel.expect(
            Request::GetLink,
            Answer::error(Errno::ENODEV, "no such device"),
        );
        let ns = kernel.namespace("/run/netns/pod");
        let err = ns.netlink().unwrap().link("net1").unwrap_err();
        assert!(err.is_no_such_link());
        assert_eq!(ns.path(), std::path::Path::new("/run/netns/pod"));
        kernel.finish();
    }
}
