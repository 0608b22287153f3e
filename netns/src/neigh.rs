//! The neighbour table: what the kernel has learned, by ARP for IPv4 and
//! neighbour discovery for IPv6, about which link-layer address has an IP
//! address.

use std::net::IpAddr;

use netlink_packet_route::neighbour::NeighbourMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netplumb_types::MacAddr;

use crate::addr::ip_of;
use crate::attr::attributes;
use crate::netlink::{Op, RawMessage};
use crate::{Error, Netlink};

const RTM_NEWNEIGH: u16 = 28;
const NDMSG_LEN: usize = 12;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;

/// An entry of the neighbour table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Neighbour {
    /// Index of the link it was learned on.
    pub link: u32,
    /// The neighbour's IP address.
    pub address: IpAddr,
    /// Its link-layer address, when the entry has a 6-byte one (an entry
    /// still being resolved has none).
    pub mac: Option<MacAddr>,
    /// Its state, a `NUD_*` value (`NUD_REACHABLE`, `NUD_STALE`, ...).
    pub state: u16,
    /// `NTF_*` flags (`NTF_ROUTER`, ...).
    pub flags: u8,
}

/// Decodes an `RTM_NEWNEIGH`; `None` for entries that are not IPv4 or IPv6
/// (a bridge's forwarding database, say).
pub(crate) fn parse_neighbour(msg: &RawMessage<'_>) -> Result<Option<Neighbour>, String> {
    if msg.kind != RTM_NEWNEIGH {
        return Err(format!(
            "expected RTM_NEWNEIGH, got message type {}",
            msg.kind
        ));
    }
    let payload = msg.payload();
    let header = payload
        .get(..NDMSG_LEN)
        .ok_or_else(|| format!("neighbour message of {} bytes has no ndmsg", payload.len()))?;
    let family = header[0];
    if ![libc::AF_INET, libc::AF_INET6].contains(&i32::from(family)) {
        return Ok(None);
    }
    let link = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let state = u16::from_ne_bytes([header[8], header[9]]);
    let flags = header[10];
    let mut address = None;
    let mut mac = None;
    for attr in attributes(&payload[NDMSG_LEN..]) {
        let (kind, value) = attr?;
        match kind {
            NDA_DST => address = Some(ip_of(family, value)?),
            NDA_LLADDR => mac = MacAddr::from_slice(value),
            _ => {}
        }
    }
    let address = address.ok_or("neighbour message without NDA_DST")?;
    Ok(Some(Neighbour {
        link,
        address,
        mac,
        state,
        flags,
    }))
}

fn dump_neighbours_request(family: AddressFamily) -> RouteNetlinkMessage {
    let mut msg = NeighbourMessage::default();
    msg.header.family = family;
    RouteNetlinkMessage::GetNeighbour(msg)
}

impl Netlink {
    /// Lists the IPv4 (ARP) and IPv6 (neighbour discovery) entries of the
    /// neighbour table, on every link.
    pub fn neighbours(&self) -> Result<Vec<Neighbour>, Error> {
        let mut all = Vec::new();
        // One family at a time: a dump of every family would bring bridge
        // forwarding entries too.
        for (what, family) in [
            ("dump IPv4 neighbours", AddressFamily::Inet),
            ("dump IPv6 neighbours", AddressFamily::Inet6),
        ] {
            let op = Op::new(what);
            all.extend(self.dump(op, dump_neighbours_request(family), |m| {
                parse_neighbour(m).map_err(|d| op.decode_error(d))
            })?);
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{decode_request, encode_request, split_messages};
    use netlink_packet_core::NLM_F_DUMP;
    use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourState};

    fn reply(msg: NeighbourMessage) -> Vec<u8> {
        encode_request(RouteNetlinkMessage::NewNeighbour(msg), 0, 1)
    }

    #[test]
    fn parses_v4_and_v6_entries() {
        let mut v4 = NeighbourMessage::default();
        v4.header.family = AddressFamily::Inet;
        v4.header.ifindex = 4;
        v4.header.state = NeighbourState::Stale;
        v4.attributes = vec![
            NeighbourAttribute::Destination(NeighbourAddress::Inet("192.0.2.10".parse().unwrap())),
            NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 1]),
            NeighbourAttribute::Probes(0),
        ];
        let bytes = reply(v4);
        let n = parse_neighbour(&split_messages(&bytes).unwrap()[0])
            .unwrap()
            .unwrap();
        assert_eq!(
            n,
            Neighbour {
                link: 4,
                address: "192.0.2.10".parse().unwrap(),
                mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
                state: libc::NUD_STALE,
                flags: 0,
            }
        );

        let mut v6 = NeighbourMessage::default();
        v6.header.family = AddressFamily::Inet6;
        v6.header.ifindex = 5;
        v6.header.state = NeighbourState::Incomplete;
        v6.header.flags = netlink_packet_route::neighbour::NeighbourFlags::Router;
        v6.attributes = vec![NeighbourAttribute::Destination(NeighbourAddress::Inet6(
            "2001:db8::10".parse().unwrap(),
        ))];
        let bytes = reply(v6);
        let n = parse_neighbour(&split_messages(&bytes).unwrap()[0])
            .unwrap()
            .unwrap();
        assert_eq!(n.address, "2001:db8::10".parse::<IpAddr>().unwrap());
        assert_eq!(n.mac, None, "not resolved yet");
        assert_eq!(n.state, libc::NUD_INCOMPLETE);
        assert_eq!(n.flags, 0x80, "NTF_ROUTER");
    }

    #[test]
    fn skips_other_families_and_rejects_broken_entries() {
        let mut fdb = NeighbourMessage::default();
        fdb.header.family = AddressFamily::Bridge;
        fdb.attributes = vec![NeighbourAttribute::LinkLayerAddress(vec![2, 0, 0, 0, 0, 1])];
        let bytes = reply(fdb);
        assert_eq!(
            parse_neighbour(&split_messages(&bytes).unwrap()[0]).unwrap(),
            None
        );

        let mut no_dst = NeighbourMessage::default();
        no_dst.header.family = AddressFamily::Inet;
        let bytes = reply(no_dst);
        assert!(parse_neighbour(&split_messages(&bytes).unwrap()[0]).is_err());

        let mut wrong_size = NeighbourMessage::default();
        wrong_size.header.family = AddressFamily::Inet6;
        wrong_size.attributes = vec![NeighbourAttribute::Destination(NeighbourAddress::Inet(
            "192.0.2.1".parse().unwrap(),
        ))];
        let bytes = reply(wrong_size);
        assert!(parse_neighbour(&split_messages(&bytes).unwrap()[0]).is_err());
    }

    #[test]
    fn dump_request_names_one_family() {
        let req = dump_neighbours_request(AddressFamily::Inet6);
        let bytes = encode_request(req.clone(), NLM_F_DUMP, 3);
        let m = split_messages(&bytes).unwrap()[0];
        assert_eq!(m.kind, 30, "RTM_GETNEIGH");
        assert_eq!(m.payload()[0], libc::AF_INET6 as u8);
        assert!(
            m.payload()[1..NDMSG_LEN].iter().all(|&b| b == 0),
            "strict checking refuses a dump whose other header fields are set"
        );
        assert_eq!(decode_request(&bytes).1, req);
    }

    proptest::proptest! {
        #[test]
        fn never_panics(kind in 27u16..30, flags: u16, payload: Vec<u8>) {
            let mut bytes = ((16 + payload.len()) as u32).to_ne_bytes().to_vec();
            bytes.extend(kind.to_ne_bytes());
            bytes.extend(flags.to_ne_bytes());
            bytes.extend([0; 8]);
            bytes.extend(&payload);
            if let Ok(messages) = split_messages(&bytes) {
                for m in messages {
                    let _ = parse_neighbour(&m);
                }
            }
        }
    }
}
