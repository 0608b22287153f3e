//! IP addresses on links.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressScope};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::attr::{attributes, lossy_string_of, u32_of};
use crate::netlink::{Op, RawMessage};
use crate::{Error, LinkRef, Netlink, Scope};

const RTM_NEWADDR: u16 = 20;
const IFADDRMSG_LEN: usize = 8;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_FLAGS: u16 = 8;

/// An address on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Address {
    /// Index of the link it is on.
    pub link: u32,
    /// The address and prefix length.
    pub address: IpNetwork,
    /// Its scope.
    pub scope: Scope,
    /// The IPv4 label, if any. It starts with the link's name, which need
    /// not be UTF-8: bytes that are not are read as U+FFFD.
    pub label: Option<String>,
    /// `IFA_F_*` flags (e.g. `IFA_F_TENTATIVE` while IPv6 DAD runs).
    pub flags: u32,
}

pub(crate) fn parse_address(msg: &RawMessage<'_>) -> Result<Address, String> {
    if msg.kind != RTM_NEWADDR {
        return Err(format!(
            "expected RTM_NEWADDR, got message type {}",
            msg.kind
        ));
    }
    let payload = msg.payload();
    let header = payload.get(..IFADDRMSG_LEN).ok_or_else(|| {
        format!(
            "address message of {} bytes has no ifaddrmsg",
            payload.len()
        )
    })?;
    let family = header[0];
    let prefix = header[1];
    let mut flags = u32::from(header[2]);
    let scope = Scope::from(header[3]);
    let link = u32::from_ne_bytes([header[4], header[5], header[6], header[7]]);
    let mut local = None;
    let mut address = None;
    let mut label = None;
    for attr in attributes(&payload[IFADDRMSG_LEN..]) {
        let (kind, value) = attr?;
        match kind {
            IFA_ADDRESS => address = Some(ip_of(family, value)?),
            IFA_LOCAL => local = Some(ip_of(family, value)?),
            IFA_LABEL => label = Some(lossy_string_of(value)),
            IFA_FLAGS => flags = u32_of(value, "IFA_FLAGS")?,
            _ => {}
        }
    }
    // For IPv4 the link's own address is IFA_LOCAL (IFA_ADDRESS is the peer
    // on point-to-point links); IPv6 sends only IFA_ADDRESS.
    let ip = local
        .or(address)
        .ok_or("address message without IFA_LOCAL or IFA_ADDRESS")?;
    let address = IpNetwork::new(ip, prefix).map_err(|e| format!("bad prefix: {e}"))?;
    Ok(Address {
        link,
        address,
        scope,
        label,
        flags,
    })
}

pub(crate) fn ip_of(family: u8, value: &[u8]) -> Result<IpAddr, String> {
    match (i32::from(family), value.len()) {
        (libc::AF_INET, 4) => Ok(IpAddr::from(
            <[u8; 4]>::try_from(value).expect("length checked"),
        )),
        (libc::AF_INET6, 16) => Ok(IpAddr::from(
            <[u8; 16]>::try_from(value).expect("length checked"),
        )),
        (family, len) => Err(format!("{len}-byte address in family {family}")),
    }
}

pub(crate) fn family_of(ip: IpAddr) -> AddressFamily {
    match ip {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

/// An `RTM_NEWADDR`/`RTM_DELADDR` for `address` on link `index`, laid out
/// as `ip address add` sends it (`IFA_LOCAL` then `IFA_ADDRESS`).
pub(crate) fn address_request(index: u32, address: IpNetwork, add: bool) -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(address.ip());
    msg.header.prefix_len = address.prefix();
    msg.header.scope = AddressScope::Universe;
    msg.header.index = index;
    msg.attributes.push(AddressAttribute::Local(address.ip()));
    msg.attributes.push(AddressAttribute::Address(address.ip()));
    if add {
        RouteNetlinkMessage::NewAddress(msg)
    } else {
        RouteNetlinkMessage::DelAddress(msg)
    }
}

pub(crate) fn dump_addresses_request(index: Option<u32>) -> RouteNetlinkMessage {
    let mut msg = AddressMessage::default();
    msg.header.index = index.unwrap_or(0);
    RouteNetlinkMessage::GetAddress(msg)
}

impl Netlink {
    /// Adds `address` (with its prefix length) to the link. Adding an
    /// address the link already has fails with `EEXIST`.
    pub fn add_address(&self, link: impl Into<LinkRef>, address: IpNetwork) -> Result<(), Error> {
        self.change_address("add address", link.into(), address, true)
    }

    /// Removes `address` from the link.
    pub fn delete_address(
        &self,
        link: impl Into<LinkRef>,
        address: IpNetwork,
    ) -> Result<(), Error> {
        self.change_address("delete address", link.into(), address, false)
    }

    /// Lists the IPv4 and IPv6 addresses of `link`.
    pub fn addresses(&self, link: impl Into<LinkRef>) -> Result<Vec<Address>, Error> {
        let index = self.index_of(link)?;
        self.dump_addresses(Some(index))
    }

    /// Lists the IPv4 and IPv6 addresses of every link.
    pub fn all_addresses(&self) -> Result<Vec<Address>, Error> {
        self.dump_addresses(None)
    }

    fn dump_addresses(&self, index: Option<u32>) -> Result<Vec<Address>, Error> {
        let op = Op::new("dump addresses");
        self.dump(op, dump_addresses_request(index), |m| {
            let address = parse_address(m).map_err(|d| op.decode_error(d))?;
            Ok(Some(address).filter(|a| index.is_none_or(|i| a.link == i)))
        })
    }

    fn change_address(
        &self,
        what: &str,
        link: LinkRef,
        address: IpNetwork,
        add: bool,
    ) -> Result<(), Error> {
        let index = self.index_of(&link)?;
        let what = format!("{what} {address}");
        let flags = if add { NLM_F_CREATE | NLM_F_EXCL } else { 0 };
        self.request_ack(
            Op::on(&what, &link),
            address_request(index, address, add),
            flags,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{decode_request, encode_request, split_messages};
    use netlink_packet_core::NLM_F_ACK;

    #[test]
    fn add_address_matches_ip_address_add() {
        // `ip address add 192.0.2.1/24 dev d0` (ifindex 3), as strace showed
        // it: flags REQUEST|ACK|EXCL|CREATE, seq 1795313790.
        let ip: &[u8] = &[
            0x28, 0x00, 0x00, 0x00, 0x14, 0x00, 0x05, 0x06, 0x7e, 0x50, 0x02, 0x6b, 0x00, 0x00,
            0x00, 0x00, 0x02, 0x18, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x08, 0x00, 0x02, 0x00,
            0xc0, 0x00, 0x02, 0x01, 0x08, 0x00, 0x01, 0x00, 0xc0, 0x00, 0x02, 0x01,
        ];
        let req = address_request(3, "192.0.2.1/24".parse().unwrap(), true);
        let bytes = encode_request(
            req.clone(),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
            1_795_313_790,
        );
        assert_eq!(bytes, ip);
        assert_eq!(decode_request(&bytes).1, req);
    }

    #[test]
    fn v6_and_delete_requests_round_trip() {
        for add in [true, false] {
            let req = address_request(4, "2001:db8::10/64".parse().unwrap(), add);
            let bytes = encode_request(req.clone(), NLM_F_ACK, 9);
            let (_, decoded) = decode_request(&bytes);
            assert_eq!(decoded, req);
            let (RouteNetlinkMessage::NewAddress(m) | RouteNetlinkMessage::DelAddress(m)) = decoded
            else {
                panic!("not an address message")
            };
            assert_eq!(m.header.family, AddressFamily::Inet6);
            assert_eq!(m.header.prefix_len, 64);
            assert_eq!(m.header.index, 4);
            assert_eq!(
                split_messages(&bytes).unwrap()[0].kind,
                if add { 20 } else { 21 }
            );
        }
        let dump = dump_addresses_request(Some(4));
        assert_eq!(decode_request(&encode_request(dump.clone(), 0, 1)).1, dump);
    }

    fn reply(msg: AddressMessage) -> Vec<u8> {
        encode_request(RouteNetlinkMessage::NewAddress(msg), 0, 1)
    }

    #[test]
    fn parses_v4_local_over_peer_and_v6_address() {
        let mut v4 = AddressMessage::default();
        v4.header.family = AddressFamily::Inet;
        v4.header.prefix_len = 32;
        v4.header.index = 2;
        v4.header.scope = AddressScope::Universe;
        v4.attributes = vec![
            AddressAttribute::Address("192.0.2.99".parse().unwrap()),
            AddressAttribute::Local("192.0.2.1".parse().unwrap()),
            AddressAttribute::Label("ptp0".into()),
            AddressAttribute::Flags(netlink_packet_route::address::AddressFlags::Permanent),
        ];
        let bytes = reply(v4);
        let a = parse_address(&split_messages(&bytes).unwrap()[0]).unwrap();
        assert_eq!(a.address, "192.0.2.1/32".parse::<IpNetwork>().unwrap());
        assert_eq!(a.link, 2);
        assert_eq!(a.label.as_deref(), Some("ptp0"));
        assert_eq!(a.flags, 0x80); // IFA_F_PERMANENT

        let mut v6 = AddressMessage::default();
        v6.header.family = AddressFamily::Inet6;
        v6.header.prefix_len = 64;
        v6.header.scope = AddressScope::Link;
        v6.attributes = vec![AddressAttribute::Address("fe80::1".parse().unwrap())];
        let bytes = reply(v6);
        let a = parse_address(&split_messages(&bytes).unwrap()[0]).unwrap();
        assert_eq!(a.address, "fe80::1/64".parse::<IpNetwork>().unwrap());
        assert_eq!(a.scope, Scope::Link);
    }

    #[test]
    fn rejects_inconsistent_addresses() {
        assert!(ip_of(libc::AF_INET as u8, &[1, 2, 3]).is_err());
        assert!(ip_of(libc::AF_INET6 as u8, &[0; 4]).is_err());
        let mut bad = AddressMessage::default();
        bad.header.family = AddressFamily::Inet;
        bad.header.prefix_len = 40;
        bad.attributes = vec![AddressAttribute::Local("192.0.2.1".parse().unwrap())];
        let bytes = reply(bad);
        assert!(parse_address(&split_messages(&bytes).unwrap()[0]).is_err());
        let empty = reply(AddressMessage::default());
        assert!(parse_address(&split_messages(&empty).unwrap()[0]).is_err());
    }
}
