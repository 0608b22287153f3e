//! Announcing addresses on a link: gratuitous ARP for IPv4, unsolicited
//! neighbour advertisements for IPv6, so that neighbours that knew an
//! address at another MAC (the same pod's address on a VF that replaced
//! another NIC, say) update their tables without waiting for them to time
//! out.

use std::io;
use std::mem::size_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use netplumb_types::{IfName, MacAddr};

use crate::{Error, NetNs};

/// ARP payload length for Ethernet and IPv4.
const ARP_LEN: usize = 28;
const ARPOP_REQUEST: u16 = 1;
const ETHERTYPE_IPV4: u16 = 0x0800;

/// Neighbour advertisement (24 bytes) plus a target link-layer address
/// option for a MAC (8 bytes).
const NA_LEN: usize = 32;
const ND_NEIGHBOR_ADVERT: u8 = 136;
const ND_NA_FLAG_OVERRIDE: u8 = 0x20;
const ND_OPT_TARGET_LINKADDR: u8 = 2;

const BROADCAST_MAC: [u8; 6] = [0xff; 6];
const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The hop limit neighbour discovery messages must carry; receivers drop
/// any other (RFC 4861, 7.1.2).
const ND_HOP_LIMIT: libc::c_int = 255;

/// The ARP payload of a gratuitous ARP request: `mac` says it has `ip`.
/// Sender and target protocol address are both `ip`; the target hardware
/// address is the broadcast address, as `arping -U` sends it.
pub(crate) fn gratuitous_arp(mac: MacAddr, ip: Ipv4Addr) -> [u8; ARP_LEN] {
    let mut arp = [0u8; ARP_LEN];
    arp[0..2].copy_from_slice(&libc::ARPHRD_ETHER.to_be_bytes());
    arp[2..4].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    arp[4] = 6;
    arp[5] = 4;
    arp[6..8].copy_from_slice(&ARPOP_REQUEST.to_be_bytes());
    arp[8..14].copy_from_slice(&mac.0);
    arp[14..18].copy_from_slice(&ip.octets());
    arp[18..24].copy_from_slice(&BROADCAST_MAC);
    arp[24..28].copy_from_slice(&ip.octets());
    arp
}

/// The ICMPv6 message of an unsolicited neighbour advertisement: `ip` is
/// at `mac`, overriding what neighbours have cached (Override set,
/// Solicited and Router clear). The checksum is left 0 for the kernel to
/// fill in, as it does on every raw ICMPv6 socket.
pub(crate) fn unsolicited_na(mac: MacAddr, ip: Ipv6Addr) -> [u8; NA_LEN] {
    let mut na = [0u8; NA_LEN];
    na[0] = ND_NEIGHBOR_ADVERT;
    na[4] = ND_NA_FLAG_OVERRIDE;
    na[8..24].copy_from_slice(&ip.octets());
    na[24] = ND_OPT_TARGET_LINKADDR;
    // The option's length in units of 8 bytes.
    na[25] = 1;
    na[26..32].copy_from_slice(&mac.0);
    na
}

impl NetNs {
    /// Announces that `addresses` are at `link`'s MAC, from inside this
    /// namespace: one gratuitous ARP request per IPv4 address (broadcast)
    /// and one unsolicited neighbour advertisement per IPv6 address (to
    /// all nodes, `ff02::1`), sent out of `link`.
    ///
    /// Neighbours that have an entry for an address take the new MAC (as
    /// a stale entry, which they confirm when they next use it); those
    /// without one ignore it. The link must be up, and have carrier for
    /// anything to leave it: see [`Netlink::wait_for_carrier`](crate::Netlink::wait_for_carrier).
    /// IPv6 addresses may still be tentative.
    ///
    /// A link that is not Ethernet, or whose MAC is zero, is refused with
    /// [`Error::NotAnnounceable`], and an address that is not unicast with
    /// [`Error::InvalidArgument`], before anything is sent. A failed send
    /// is [`Error::Announce`]; the addresses before it were announced.
    pub fn announce(&self, link: &IfName, addresses: &[IpAddr]) -> Result<(), Error> {
        if let Some(bad) = addresses.iter().find(|ip| !is_unicast(**ip)) {
            return Err(Error::InvalidArgument {
                field: "address to announce",
                value: bad.to_string(),
                expected: "a unicast address",
            });
        }
        if addresses.is_empty() {
            return Ok(());
        }
        let info = self.netlink()?.link(link)?;
        let mac = match info.mac {
            Some(mac) if info.link_type == libc::ARPHRD_ETHER && !mac.is_zero() => mac,
            _ => {
                return Err(Error::NotAnnounceable {
                    link: *link,
                    link_type: info.link_type,
                    mac: info.mac,
                })
            }
        };
        // The kernel's interface indexes are positive ints.
        let index = info.index as libc::c_int;
        self.run(|| {
            for &address in addresses {
                let sent = match address {
                    IpAddr::V4(ip) => send_gratuitous_arp(index, mac, ip),
                    IpAddr::V6(ip) => send_unsolicited_na(index, mac, ip),
                };
                sent.map_err(|(action, source)| Error::Announce {
                    link: *link,
                    address,
                    action,
                    source,
                })?;
            }
            Ok(())
        })?
    }
}

fn is_unicast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast()),
        IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
    }
}

/// What failed, for [`Error::Announce`], and why.
type SendError = (&'static str, io::Error);

/// Sends the gratuitous ARP for `ip` out of link `index`. A packet socket
/// of type `SOCK_DGRAM` adds the Ethernet header itself (source: the
/// link's MAC; destination: `sll_addr`); protocol 0 keeps it from
/// receiving anything.
fn send_gratuitous_arp(index: libc::c_int, mac: MacAddr, ip: Ipv4Addr) -> Result<(), SendError> {
    let socket =
        socket(libc::AF_PACKET, libc::SOCK_DGRAM, 0).map_err(|e| ("open a packet socket", e))?;
    let mut sll_addr = [0u8; 8];
    sll_addr[..6].copy_from_slice(&BROADCAST_MAC);
    let to = libc::sockaddr_ll {
        sll_family: libc::AF_PACKET as libc::c_ushort,
        sll_protocol: (libc::ETH_P_ARP as u16).to_be(),
        sll_ifindex: index,
        sll_hatype: 0,
        sll_pkttype: 0,
        sll_halen: 6,
        sll_addr,
    };
    send_to(socket.as_fd(), &gratuitous_arp(mac, ip), &to).map_err(|e| ("send a gratuitous ARP", e))
}

/// Sends the unsolicited neighbour advertisement for `ip` out of link
/// `index`.
///
/// Its source address is `ip` itself, as the kernel's own advertisements
/// have it: an address of the sending link, as RFC 4861 asks, and one that
/// is always there. The link-local address is no good right after the
/// link came up: it is tentative until duplicate address detection ends,
/// and the kernel picks no tentative address as a source, so the send
/// would fail with `EADDRNOTAVAIL`. `ip` may be tentative for the same
/// reason, and binding to a tentative address fails the same way; with
/// `IPV6_FREEBIND` the kernel lets the socket bind to it anyway.
fn send_unsolicited_na(index: libc::c_int, mac: MacAddr, ip: Ipv6Addr) -> Result<(), SendError> {
    let socket = socket(libc::AF_INET6, libc::SOCK_RAW, libc::IPPROTO_ICMPV6)
        .map_err(|e| ("open an ICMPv6 socket", e))?;
    let fd = socket.as_fd();
    set_option(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_MULTICAST_HOPS,
        ND_HOP_LIMIT,
    )
    .map_err(|e| ("set the hop limit", e))?;
    // This host needs no copy of its own advertisement.
    set_option(fd, libc::IPPROTO_IPV6, libc::IPV6_MULTICAST_LOOP, 0)
        .map_err(|e| ("turn multicast loopback off", e))?;
    set_option(fd, libc::IPPROTO_IPV6, libc::IPV6_FREEBIND, 1)
        .map_err(|e| ("allow binding to a tentative address", e))?;
    // The scope id ties a link-local source to the link; other addresses
    // ignore it.
    bind(fd, &sockaddr_in6(ip, index)).map_err(|e| ("bind to the address", e))?;
    // ff02::1 is link-scoped: the scope id picks the link it goes out of.
    send_to(
        fd,
        &unsolicited_na(mac, ip),
        &sockaddr_in6(ALL_NODES, index),
    )
    .map_err(|e| ("send a neighbour advertisement", e))
}

fn sockaddr_in6(ip: Ipv6Addr, index: libc::c_int) -> libc::sockaddr_in6 {
    libc::sockaddr_in6 {
        sin6_family: libc::AF_INET6 as libc::sa_family_t,
        sin6_port: 0,
        sin6_flowinfo: 0,
        sin6_addr: libc::in6_addr {
            s6_addr: ip.octets(),
        },
        sin6_scope_id: index.unsigned_abs(),
    }
}

/// A socket address the kernel reads as the bytes it is.
trait SocketAddress {}
impl SocketAddress for libc::sockaddr_ll {}
impl SocketAddress for libc::sockaddr_in6 {}

fn socket(domain: libc::c_int, kind: libc::c_int, protocol: libc::c_int) -> io::Result<OwnedFd> {
    // SAFETY: socket() takes no pointers.
    let fd = unsafe { libc::socket(domain, kind | libc::SOCK_CLOEXEC, protocol) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a socket socket() just opened, and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_option(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: fd is open for the whole call, and the kernel reads exactly
    // the size of the int passed, which lives across the call.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn bind<A: SocketAddress>(fd: BorrowedFd<'_>, address: &A) -> io::Result<()> {
    // SAFETY: fd is open for the whole call, and the kernel reads exactly
    // size_of::<A>() bytes of `address`, a whole socket address structure.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (address as *const A).cast(),
            size_of::<A>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn send_to<A: SocketAddress>(fd: BorrowedFd<'_>, payload: &[u8], to: &A) -> io::Result<()> {
    // SAFETY: fd is open for the whole call; the kernel only reads
    // `payload` (its length passed) and exactly size_of::<A>() bytes of
    // `to`, a whole socket address structure.
    let sent = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            payload.as_ptr().cast(),
            payload.len(),
            0,
            (to as *const A).cast(),
            size_of::<A>() as libc::socklen_t,
        )
    };
    match usize::try_from(sent) {
        Ok(n) if n == payload.len() => Ok(()),
        Ok(n) => Err(io::Error::new(
            io::ErrorKind::WriteZero,
            format!("{n} of {} bytes sent", payload.len()),
        )),
        Err(_) => Err(io::Error::last_os_error()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);

    #[test]
    fn gratuitous_arp_bytes() {
        let arp = gratuitous_arp(MAC, Ipv4Addr::new(192, 0, 2, 10));
        #[rustfmt::skip]
        let want: [u8; 28] = [
            0x00, 0x01, // hardware type: Ethernet
            0x08, 0x00, // protocol type: IPv4
            6, 4,       // address lengths
            0x00, 0x01, // operation: request
            0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, // sender MAC
            192, 0, 2, 10,                      // sender IP
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // target MAC: broadcast
            192, 0, 2, 10,                      // target IP: the same
        ];
        assert_eq!(arp, want);
    }

    #[test]
    fn unsolicited_na_bytes() {
        let na = unsolicited_na(MAC, "2001:db8::10".parse().unwrap());
        #[rustfmt::skip]
        let want: [u8; 32] = [
            136, 0,     // type: neighbour advertisement, code 0
            0, 0,       // checksum: the kernel's
            0x20, 0, 0, 0, // flags: Override; not Router, not Solicited
            0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, // target
            2, 1,       // option: target link-layer address, 8 bytes
            0x02, 0x00, 0x5e, 0x10, 0x00, 0x01,
        ];
        assert_eq!(na, want);
    }

    #[test]
    fn only_unicast_addresses_are_announced() {
        for good in ["192.0.2.10", "2001:db8::10", "fe80::1"] {
            assert!(is_unicast(good.parse().unwrap()), "{good}");
        }
        for bad in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "::", "ff02::1"] {
            assert!(!is_unicast(bad.parse().unwrap()), "{bad}");
        }
    }

    #[test]
    fn addresses_for_the_kernel() {
        let a = sockaddr_in6(ALL_NODES, 7);
        assert_eq!(a.sin6_family, libc::AF_INET6 as libc::sa_family_t);
        assert_eq!(a.sin6_addr.s6_addr, ALL_NODES.octets());
        assert_eq!(a.sin6_scope_id, 7);
        assert_eq!(a.sin6_port, 0);
    }

    #[test]
    fn a_bad_address_is_refused_before_the_link_is_looked_up() {
        let kernel = crate::testing::FakeKernel::new();
        let err = kernel
            .namespace("/run/netns/pod")
            .announce(
                &"net1".parse().unwrap(),
                &["192.0.2.10".parse().unwrap(), "ff02::1".parse().unwrap()],
            )
            .unwrap_err();
        kernel.finish();
        assert!(
            matches!(
                err,
                Error::InvalidArgument {
                    field: "address to announce",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn a_link_that_is_not_ethernet_or_has_no_mac_is_refused() {
        use crate::testing::{Answer, FakeKernel, Request};
        let name: IfName = "net1".parse().unwrap();
        let mut tunnel = crate::LinkInfo::new(5, name);
        tunnel.link_type = 65534; // ARPHRD_NONE, a tun device
        let mut zero = crate::LinkInfo::new(5, name);
        zero.mac = Some(MacAddr([0; 6]));
        let cases = [
            (tunnel, "not an Ethernet link (link type 65534)"),
            (zero, "its MAC is 00:00:00:00:00:00"),
            (crate::LinkInfo::new(5, name), "it has no MAC"),
        ];
        for (link, why) in cases {
            let kernel = FakeKernel::new();
            kernel.expect(Request::GetLink, Answer::link(link));
            let err = kernel
                .namespace("/run/netns/pod")
                .announce(&name, &["192.0.2.10".parse().unwrap()])
                .unwrap_err();
            kernel.finish();
            assert_eq!(
                err.to_string(),
                format!("cannot announce addresses on link net1: {why}")
            );
            assert_eq!(err.kind(), crate::ErrorKind::Invalid);
        }
    }
}
