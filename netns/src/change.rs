//! The one builder of link changes (`RTM_SETLINK`).

use std::fmt;
use std::os::fd::{AsFd, AsRawFd};

use netlink_packet_core::DefaultNla;
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use netlink_packet_route::RouteNetlinkMessage;
use netplumb_types::{Alias, IfName, MacAddr};

use crate::link::{link_message, string_attr};
use crate::netlink::Op;
use crate::{Error, LinkRef, NetNs, Netlink};

const IFLA_IFNAME: u16 = 3;
const IFLA_IFALIAS: u16 = 20;

/// Changes to one link that go in one `RTM_SETLINK`, sent by
/// [`Netlink::change_link`]: another namespace, a new name, MAC, MTU,
/// alias, up or down, a controller or none.
///
/// The kernel applies them in its own order, whatever order they are set
/// in: the move to another namespace first, then MAC, MTU, name and alias
/// (in the link's new namespace), then the controller and the up/down
/// flag. Kernels differ on which of those last two comes first (6.1 to 6.7
/// set the controller first, the others the flag), so one change never
/// carries both; [`change_link`](Netlink::change_link) refuses it.
///
/// ```no_run
/// use netplumb_netns::{LinkChange, NetNs};
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let pod = NetNs::open("/run/netns/pod")?;
/// let host = NetNs::current()?.netlink()?;
/// let vf = host.link("enp1s0f0v3")?;
/// // Move, rename, MTU and up: one round trip.
/// host.change_link(
///     vf.index,
///     &LinkChange::new().namespace(&pod).name("net1".parse()?).mtu(9000).up(true),
/// )?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a change is only made when passed to Netlink::change_link"]
pub struct LinkChange<'a> {
    namespace: Option<&'a NetNs>,
    name: Option<NewName>,
    mac: Option<MacAddr>,
    mtu: Option<u32>,
    alias: Option<Alias>,
    up: Option<bool>,
    promisc: Option<bool>,
    allmulti: Option<bool>,
    /// 0 releases the link from its controller.
    controller: Option<u32>,
}

/// A new name: exactly this one, or the first free one the kernel makes
/// of a prefix and a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewName {
    Exact(IfName),
    Numbered(IfName),
}

impl fmt::Display for NewName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NewName::Exact(name) => write!(f, "rename to {name}"),
            NewName::Numbered(prefix) => write!(f, "rename to the first free {prefix}N"),
        }
    }
}

impl<'a> LinkChange<'a> {
    /// No change.
    pub fn new() -> LinkChange<'a> {
        LinkChange::default()
    }

    /// Moves the link into `ns`, keeping its name unless
    /// [`name`](LinkChange::name) gives another; the other changes then
    /// apply there. Moving a link sets it down.
    pub fn namespace(mut self, ns: &'a NetNs) -> Self {
        self.namespace = Some(ns);
        self
    }

    /// Renames the link (in its new namespace, with
    /// [`namespace`](LinkChange::namespace)). The kernel renames only a
    /// link that is down, or one being moved.
    pub fn name(mut self, name: IfName) -> Self {
        self.name = Some(NewName::Exact(name));
        self
    }

    /// Renames the link to the first name free in its (new) namespace made
    /// of `prefix` and a number (`dev0`, `dev1`, ...), which the kernel
    /// picks, as it does for the devices of a deleted namespace. With
    /// [`namespace`](LinkChange::namespace) the kernel only renames it when
    /// its own name is taken there. The prefix is at most 12 bytes, which
    /// leaves room for a number.
    pub fn numbered_name(mut self, prefix: IfName) -> Self {
        self.name = Some(NewName::Numbered(prefix));
        self
    }

    /// Sets the MAC address, which must be unicast and not zero.
    pub fn mac(mut self, mac: MacAddr) -> Self {
        self.mac = Some(mac);
        self
    }

    /// Sets the MTU.
    pub fn mtu(mut self, mtu: u32) -> Self {
        self.mtu = Some(mtu);
        self
    }

    /// Sets the alias, exactly as given: without a terminating NUL, which
    /// the kernel would count against the alias's 255 bytes. An empty alias
    /// removes the link's.
    pub fn alias(mut self, alias: Alias) -> Self {
        self.alias = Some(alias);
        self
    }

    /// Sets the link administratively up or down.
    pub fn up(mut self, up: bool) -> Self {
        self.up = Some(up);
        self
    }

    /// Turns promiscuous mode on or off (`IFF_PROMISC`), as set with
    /// `ip link set ... promisc`.
    pub fn promisc(mut self, on: bool) -> Self {
        self.promisc = Some(on);
        self
    }

    /// Turns all-multicast mode on or off (`IFF_ALLMULTI`).
    pub fn allmulti(mut self, on: bool) -> Self {
        self.allmulti = Some(on);
        self
    }

    /// Makes the link a port of the controller (bond, bridge) with index
    /// `controller`.
    pub fn controller(mut self, controller: u32) -> Self {
        self.controller = Some(controller);
        self
    }

    /// Releases the link from its controller.
    pub fn no_controller(mut self) -> Self {
        self.controller = Some(0);
        self
    }

    /// Whether nothing would change.
    pub fn is_empty(&self) -> bool {
        self.namespace.is_none()
            && self.name.is_none()
            && self.mac.is_none()
            && self.mtu.is_none()
            && self.alias.is_none()
            && self.up.is_none()
            && self.promisc.is_none()
            && self.allmulti.is_none()
            && self.controller.is_none()
    }

    /// The same changes one per request, in an order that works when they
    /// are sent separately: off the controller (or onto it) first, then to
    /// the other namespace, the name (a link must be down to be renamed,
    /// which moving and releasing leave it), MAC, MTU and alias, and up or
    /// down last. For a caller that wants to make every change it can when
    /// the whole is refused, and to know which part failed.
    pub fn parts(&self) -> Vec<LinkChange<'a>> {
        let one = LinkChange::new;
        let mut parts = Vec::new();
        if let Some(controller) = self.controller {
            parts.push(LinkChange {
                controller: Some(controller),
                ..one()
            });
        }
        if let Some(ns) = self.namespace {
            parts.push(one().namespace(ns));
        }
        if let Some(name) = self.name {
            parts.push(LinkChange {
                name: Some(name),
                ..one()
            });
        }
        if let Some(mac) = self.mac {
            parts.push(one().mac(mac));
        }
        if let Some(mtu) = self.mtu {
            parts.push(one().mtu(mtu));
        }
        if let Some(alias) = &self.alias {
            parts.push(one().alias(alias.clone()));
        }
        if let Some(on) = self.promisc {
            parts.push(one().promisc(on));
        }
        if let Some(on) = self.allmulti {
            parts.push(one().allmulti(on));
        }
        if let Some(up) = self.up {
            parts.push(one().up(up));
        }
        parts
    }

    /// Whether it moves the link to another namespace.
    pub fn moves(&self) -> bool {
        self.namespace.is_some()
    }

    /// The `RTM_SETLINK` making these changes to `link`, checked first:
    /// a rename needs the link by index (the request's name slot carries
    /// the new name), a MAC must be unicast and not zero, and the
    /// controller and the up/down flag never go together.
    pub(crate) fn request(&self, link: &LinkRef) -> Result<RouteNetlinkMessage, Error> {
        if let (LinkRef::Name(name), Some(_)) = (link, &self.name) {
            return Err(Error::InvalidArgument {
                field: "link to rename",
                value: netplumb_types::Escaped(name).to_string(),
                expected: "an interface index: a rename sends the new name where the old one \
                           would go",
            });
        }
        let flags = self.up.is_some() || self.promisc.is_some() || self.allmulti.is_some();
        if self.controller.is_some() && flags {
            return Err(Error::InvalidArgument {
                field: "link change",
                value: self.to_string(),
                expected: "a controller or an up/down state, not both: kernels differ on \
                           which of the two they apply first",
            });
        }
        if let Some(NewName::Numbered(prefix)) = self.name {
            if prefix.as_bytes().len() > IfName::MAX_LEN - 3 {
                return Err(Error::InvalidArgument {
                    field: "numbered name prefix",
                    value: prefix.to_string(),
                    expected: "at most 12 bytes, leaving room for a number",
                });
            }
        }
        if let Some(mac) = self.mac.filter(|m| !m.is_valid_unicast()) {
            return Err(Error::InvalidArgument {
                field: "MAC address",
                value: mac.to_string(),
                expected: "a unicast address (first octet even) that is not all zeros",
            });
        }
        let mut msg = link_message(link)?;
        if let Some(ns) = self.namespace {
            msg.attributes
                .push(LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()));
        }
        if let Some(mac) = self.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some(mtu) = self.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        match self.name {
            Some(NewName::Exact(name)) => msg
                .attributes
                .push(string_attr(IFLA_IFNAME, name.as_bytes())),
            // A name with "%d" is a pattern to the kernel; IfName keeps
            // '%' out of every other name.
            Some(NewName::Numbered(prefix)) => msg.attributes.push(string_attr(
                IFLA_IFNAME,
                &[prefix.as_bytes(), b"%d"].concat(),
            )),
            None => {}
        }
        if let Some(alias) = &self.alias {
            // Without a NUL, as `ip link set ... alias` sends it: the
            // kernel keeps what it is sent, and counts a NUL against the
            // 255 bytes (netlink-packet-route's IfAlias appends one).
            msg.attributes.push(LinkAttribute::Other(DefaultNla::new(
                IFLA_IFALIAS,
                alias.as_bytes().to_vec(),
            )));
        }
        if let Some(controller) = self.controller {
            msg.attributes.push(LinkAttribute::Controller(controller));
        }
        // The flags go in the header: `change_mask` says which are set,
        // `flags` to what.
        for (flag, on) in [
            (LinkFlags::Up, self.up),
            (LinkFlags::Promisc, self.promisc),
            (LinkFlags::Allmulti, self.allmulti),
        ] {
            if let Some(on) = on {
                msg.header.change_mask |= flag;
                msg.header.flags.set(flag, on);
            }
        }
        Ok(RouteNetlinkMessage::SetLink(msg))
    }
}

impl fmt::Display for LinkChange<'_> {
    /// What the change does, for messages: `set MTU 9000`, `move to
    /// network namespace /run/netns/pod, rename to net1, set link up`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(controller) = self.controller {
            parts.push(match controller {
                0 => "release from controller".to_owned(),
                index => format!("set controller #{index}"),
            });
        }
        if let Some(ns) = self.namespace {
            parts.push(format!("move to network namespace {}", ns.path().display()));
        }
        if let Some(name) = &self.name {
            parts.push(name.to_string());
        }
        if let Some(mac) = self.mac {
            parts.push(format!("set MAC address {mac}"));
        }
        if let Some(mtu) = self.mtu {
            parts.push(format!("set MTU {mtu}"));
        }
        if let Some(alias) = &self.alias {
            parts.push(format!("set alias {alias:?}"));
        }
        let on_off = |on: bool| if on { "on" } else { "off" };
        if let Some(on) = self.promisc {
            parts.push(format!("set promisc {}", on_off(on)));
        }
        if let Some(on) = self.allmulti {
            parts.push(format!("set allmulticast {}", on_off(on)));
        }
        if let Some(up) = self.up {
            parts.push(if up { "set link up" } else { "set link down" }.to_owned());
        }
        if parts.is_empty() {
            return f.write_str("change nothing");
        }
        f.write_str(&parts.join(", "))
    }
}

impl Netlink {
    /// Makes `change` to `link` in one `RTM_SETLINK`: one round trip (two
    /// for a link named by an alternative name longer than `IFNAMSIZ`).
    ///
    /// The change is checked before anything is sent (see [`LinkChange`]);
    /// an empty change sends nothing. When the kernel refuses a part, the
    /// parts it applies before that one stay applied, except that a refused
    /// move changes nothing; [`LinkChange::parts`] sends them one by one to
    /// tell which. To move and rename a link in one step with the kernel's
    /// half-done move undone, use [`move_link`](Netlink::move_link).
    pub fn change_link(
        &self,
        link: impl Into<LinkRef>,
        change: &LinkChange<'_>,
    ) -> Result<(), Error> {
        if change.is_empty() {
            return Ok(());
        }
        let named = link.into();
        let req = change.request(&self.addressable(named.clone())?)?;
        let what = change.to_string();
        self.request_ack(Op::on(&what, &named), req, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netlink::{decode_request, encode_request, split_messages};
    use netlink_packet_core::NLM_F_ACK;

    fn payload(req: RouteNetlinkMessage) -> Vec<u8> {
        let bytes = encode_request(req, NLM_F_ACK, 1);
        let m = split_messages(&bytes).unwrap()[0];
        assert_eq!(m.kind, 19, "RTM_SETLINK");
        m.payload().to_vec()
    }

    #[test]
    fn set_mtu_payload_matches_ip_link_set() {
        // Payload of `ip link set dev d0 mtu 1400` (ifindex 3); ip sends it
        // as RTM_NEWLINK, we as RTM_SETLINK.
        let ip_payload: &[u8] = &[
            0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x08, 0x00, 0x04, 0x00, 0x78, 0x05, 0x00, 0x00,
        ];
        let req = LinkChange::new()
            .mtu(1400)
            .request(&LinkRef::Index(3))
            .unwrap();
        assert_eq!(payload(req), ip_payload);
    }

    #[test]
    fn set_alias_payload_matches_ip_link_set() {
        // Payload of `ip link set dev d0 alias "to the pod"` (ifindex 3):
        // the alias goes without a NUL (length 14 = 4 + 10).
        let ip_payload: &[u8] = &[
            0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00, 0x0e, 0x00, 0x14, 0x00, 0x74, 0x6f, 0x20, 0x74, 0x68, 0x65, 0x20, 0x70,
            0x6f, 0x64, 0x00, 0x00,
        ];
        let req = LinkChange::new()
            .alias(Alias::new("to the pod").unwrap())
            .request(&LinkRef::Index(3))
            .unwrap();
        assert_eq!(payload(req), ip_payload);
    }

    #[test]
    fn a_255_byte_alias_goes_as_255_bytes() {
        let alias = Alias::new(vec![b'a'; 255]).unwrap();
        let req = LinkChange::new()
            .alias(alias)
            .request(&LinkRef::Index(3))
            .unwrap();
        let bytes = payload(req);
        // ifinfomsg, then one attribute of 4 + 255 bytes (padded to 260).
        assert_eq!(u16::from_ne_bytes([bytes[16], bytes[17]]), 4 + 255);
        assert_eq!(&bytes[20..20 + 255], &[b'a'; 255][..]);
    }

    #[test]
    fn a_name_that_is_not_utf8_goes_as_its_bytes() {
        let name = IfName::new(b"p\xff").unwrap();
        let req = LinkChange::new()
            .name(name)
            .request(&LinkRef::Index(3))
            .unwrap();
        let bytes = payload(req);
        assert_eq!(&bytes[16..24], &[7, 0, 3, 0, b'p', 0xff, 0, 0]);
    }

    #[test]
    fn everything_but_controller_and_flags_goes_in_one_message() {
        let ns = NetNs::current().unwrap();
        let mac = MacAddr([2, 0, 0, 0, 0, 9]);
        let change = LinkChange::new()
            .namespace(&ns)
            .name("net1".parse().unwrap())
            .mac(mac)
            .mtu(9000)
            .alias(Alias::new("netplumb-host-name:eth3").unwrap())
            .up(true);
        let (_, decoded) = decode_request(&encode_request(
            change.request(&LinkRef::Index(12)).unwrap(),
            NLM_F_ACK,
            1,
        ));
        let RouteNetlinkMessage::SetLink(m) = decoded else {
            panic!("not SETLINK")
        };
        assert_eq!(m.header.index, 12);
        assert_eq!(m.header.flags, LinkFlags::Up);
        assert_eq!(m.header.change_mask, LinkFlags::Up);
        assert_eq!(
            m.attributes,
            [
                LinkAttribute::NetNsFd(ns.as_fd().as_raw_fd()),
                LinkAttribute::Address(mac.0.to_vec()),
                LinkAttribute::Mtu(9000),
                LinkAttribute::IfName("net1".into()),
                LinkAttribute::IfAlias("netplumb-host-name:eth3".into()),
            ]
        );
        assert_eq!(
            change.to_string(),
            format!(
                "move to network namespace {}, rename to net1, set MAC address \
                 02:00:00:00:00:09, set MTU 9000, set alias \"netplumb-host-name:eth3\", \
                 set link up",
                ns.path().display()
            )
        );
    }

    #[test]
    fn a_numbered_name_is_a_pattern_only_the_kernel_fills_in() {
        let dev: IfName = "dev".parse().unwrap();
        let change = LinkChange::new().numbered_name(dev);
        assert_eq!(change.to_string(), "rename to the first free devN");
        let bytes = payload(change.request(&LinkRef::Index(3)).unwrap());
        assert_eq!(&bytes[16..24], &[10, 0, 3, 0, b'd', b'e', b'v', b'%']);
        assert_eq!(&bytes[24..26], &[b'd', 0]);
        let long = LinkChange::new().numbered_name("abcdefghijklm".parse().unwrap());
        assert!(long.request(&LinkRef::Index(3)).is_err());
    }

    #[test]
    fn promisc_and_allmulti_ride_in_the_header_with_up() {
        let req = LinkChange::new()
            .promisc(true)
            .allmulti(false)
            .up(true)
            .request(&LinkRef::Index(3))
            .unwrap();
        let RouteNetlinkMessage::SetLink(m) = req else {
            panic!()
        };
        assert_eq!(
            m.header.change_mask,
            LinkFlags::Up | LinkFlags::Promisc | LinkFlags::Allmulti
        );
        assert_eq!(m.header.flags, LinkFlags::Up | LinkFlags::Promisc);
        // Payload bytes 8..12 are ifi_flags, 12..16 ifi_change.
        let bytes = payload(
            LinkChange::new()
                .promisc(true)
                .request(&LinkRef::Index(3))
                .unwrap(),
        );
        assert_eq!(&bytes[8..16], &[0x00, 0x01, 0, 0, 0x00, 0x01, 0, 0]);
        assert!(LinkChange::new()
            .controller(2)
            .promisc(true)
            .request(&LinkRef::Index(3))
            .is_err());
    }

    #[test]
    fn down_changes_only_the_up_flag() {
        let req = LinkChange::new()
            .up(false)
            .request(&LinkRef::Index(3))
            .unwrap();
        let RouteNetlinkMessage::SetLink(m) = req else {
            panic!()
        };
        assert!(m.attributes.is_empty());
        assert!(m.header.flags.is_empty());
        assert_eq!(m.header.change_mask, LinkFlags::Up);
    }

    #[test]
    fn unsendable_changes_are_refused_before_anything_is_sent() {
        let rename = LinkChange::new().name("net1".parse().unwrap());
        match rename.request(&LinkRef::from("eth0")) {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "link to rename"),
            other => panic!("two IFLA_IFNAME: {other:?}"),
        }
        let both = LinkChange::new().controller(4).up(true);
        match both.request(&LinkRef::Index(3)) {
            Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "link change"),
            other => panic!("{other:?}"),
        }
        for mac in [MacAddr([1, 0, 0x5e, 0, 0, 1]), MacAddr::default()] {
            let err = LinkChange::new()
                .mac(mac)
                .request(&LinkRef::Index(3))
                .unwrap_err();
            assert!(matches!(
                err,
                Error::InvalidArgument {
                    field: "MAC address",
                    ..
                }
            ));
        }
        assert!(LinkChange::new()
            .mtu(1500)
            .request(&LinkRef::from("bad name"))
            .is_err());
    }

    #[test]
    fn parts_add_up_to_the_whole_in_an_order_that_works_alone() {
        let ns = NetNs::current().unwrap();
        let change = LinkChange::new()
            .no_controller()
            .namespace(&ns)
            .name("net1".parse().unwrap())
            .mac(MacAddr([2, 0, 0, 0, 0, 1]))
            .mtu(1500)
            .alias(Alias::default())
            .up(false);
        let parts: Vec<String> = change.parts().iter().map(|p| p.to_string()).collect();
        assert_eq!(
            parts,
            [
                "release from controller".to_owned(),
                format!("move to network namespace {}", ns.path().display()),
                "rename to net1".to_owned(),
                "set MAC address 02:00:00:00:00:01".to_owned(),
                "set MTU 1500".to_owned(),
                "set alias \"\"".to_owned(),
                "set link down".to_owned(),
            ]
        );
        for part in change.parts() {
            assert_eq!(part.parts().len(), 1);
        }
        assert!(LinkChange::new().parts().is_empty());
        assert!(LinkChange::new().is_empty());
    }
}
