//! The netlink messages this crate sends, built without a kernel so they can
//! be checked byte for byte.

use std::os::fd::RawFd;

use netplumb_netns::raw::netlink_packet_route::link::{
    BondAllPortActive, BondFailOverMac, BondMode, BondXmitHashPolicy, InfoBond, InfoData, InfoKind,
    LinkAttribute, LinkExtentMask, LinkFlags, LinkInfo, LinkMessage,
};
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
use netplumb_netns::{raw, IfName, LinkRef, MacAddr};

use crate::BondConfig;

/// The bond's options as `IFLA_INFO_DATA` attributes, in one message.
///
/// `primary` is the ifindex of the preferred port: the kernel takes it
/// before the port is enslaved, remembers its name, and makes it the
/// preferred port when it joins.
pub(crate) fn bond_options(config: &BondConfig, primary: Option<u32>) -> Vec<InfoBond> {
    // The mode goes first, as the kernel applies options in attribute
    // order (setting some modes turns miimon on).
    let mut opts = vec![InfoBond::Mode(BondMode::from(config.mode.number()))];
    let miimon = config.effective_miimon();
    if let Some(ms) = config.miimon {
        opts.push(InfoBond::MiiMon(ms));
    }
    // The kernel refuses any delay, even 0, while miimon is off; 0 is
    // its default there anyway.
    if let Some(ms) = config.updelay.filter(|&d| d > 0 || miimon > 0) {
        opts.push(InfoBond::UpDelay(ms));
    }
    if let Some(ms) = config.downdelay.filter(|&d| d > 0 || miimon > 0) {
        opts.push(InfoBond::DownDelay(ms));
    }
    if let Some(index) = primary {
        opts.push(InfoBond::Primary(index));
    }
    if let Some(policy) = config.fail_over_mac {
        opts.push(InfoBond::FailOverMac(BondFailOverMac::from(
            policy.number(),
        )));
    }
    if let Some(policy) = config.xmit_hash_policy {
        opts.push(InfoBond::XmitHashPolicy(BondXmitHashPolicy::from(
            policy.number(),
        )));
    }
    if let Some(on) = config.all_slaves_active {
        opts.push(InfoBond::AllPortsActive(if on {
            BondAllPortActive::Delivered
        } else {
            BondAllPortActive::Dropped
        }));
    }
    if let Some(on) = config.tlb_dynamic_lb {
        opts.push(InfoBond::TlbDynamicLb(on));
    }
    opts
}

/// The `RTM_NEWLINK` that creates the bond, down, with every option, its
/// `mtu` and its MAC in one message.
pub(crate) fn new_bond(config: &BondConfig, primary: Option<u32>, mtu: u32) -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::IfName(config.name.to_string()));
    msg.attributes.push(LinkAttribute::Mtu(mtu));
    if let Some(mac) = config.mac {
        msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
    }
    msg.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Bond),
        LinkInfo::Data(InfoData::Bond(bond_options(config, primary))),
    ]));
    RouteNetlinkMessage::NewLink(msg)
}

/// A dump of every link without statistics, which nobody here reads.
pub(crate) fn dump_links() -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    msg.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    RouteNetlinkMessage::GetLink(msg)
}

/// Changes to one port that fit in one `RTM_SETLINK`. The kernel applies
/// them in its own order: namespace, MAC, MTU, name, then the up/down flags
/// and the controller, whose order between them differs between kernel
/// versions (6.1 to 6.7 set the controller before the flags, others after).
/// So no message here carries both.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct PortChange {
    /// `Some(0)` releases the port from its controller.
    pub controller: Option<u32>,
    /// Moves the port into the namespace behind this descriptor, keeping
    /// its name.
    pub netns_fd: Option<RawFd>,
    /// Renames the port (in the namespace it is moved to, with `netns_fd`).
    pub name: Option<IfName>,
    pub mac: Option<MacAddr>,
    pub mtu: Option<u32>,
    pub up: Option<bool>,
}

impl PortChange {
    pub fn is_empty(&self) -> bool {
        *self == PortChange::default()
    }

    /// The same changes one by one, in the order that works when they are
    /// sent separately: off the controller first, then home, its name (a
    /// link must be down to be renamed, which moving and releasing leave
    /// it), MAC and MTU, and up last.
    pub fn split(&self) -> Vec<(&'static str, PortChange)> {
        let one = || PortChange::default();
        let mut out = Vec::new();
        if let Some(c) = self.controller {
            let what = if c == 0 {
                "release from controller"
            } else {
                "set controller"
            };
            out.push((
                what,
                PortChange {
                    controller: Some(c),
                    ..one()
                },
            ));
        }
        if let Some(fd) = self.netns_fd {
            out.push((
                "move back to its namespace",
                PortChange {
                    netns_fd: Some(fd),
                    ..one()
                },
            ));
        }
        if let Some(name) = &self.name {
            out.push((
                "rename",
                PortChange {
                    name: Some(name.clone()),
                    ..one()
                },
            ));
        }
        if let Some(mac) = self.mac {
            out.push((
                "set MAC address",
                PortChange {
                    mac: Some(mac),
                    ..one()
                },
            ));
        }
        if let Some(mtu) = self.mtu {
            out.push((
                "set MTU",
                PortChange {
                    mtu: Some(mtu),
                    ..one()
                },
            ));
        }
        if let Some(up) = self.up {
            out.push((
                if up { "set link up" } else { "set link down" },
                PortChange {
                    up: Some(up),
                    ..one()
                },
            ));
        }
        out
    }

    /// The `RTM_SETLINK` making these changes to `link`.
    pub fn message(&self, link: &LinkRef) -> Result<RouteNetlinkMessage, netplumb_netns::Error> {
        debug_assert!(
            self.controller.is_none() || self.up.is_none(),
            "the kernel orders controller and flags differently across versions"
        );
        // By name, IFLA_IFNAME says which link; a new name needs the index.
        debug_assert!(self.name.is_none() || matches!(link, LinkRef::Index(_)));
        let mut msg = raw::link_message(link)?;
        if let Some(fd) = self.netns_fd {
            msg.attributes.push(LinkAttribute::NetNsFd(fd));
        }
        if let Some(name) = &self.name {
            msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        }
        if let Some(mac) = self.mac {
            msg.attributes.push(LinkAttribute::Address(mac.0.to_vec()));
        }
        if let Some(mtu) = self.mtu {
            msg.attributes.push(LinkAttribute::Mtu(mtu));
        }
        if let Some(index) = self.controller {
            msg.attributes.push(LinkAttribute::Controller(index));
        }
        if let Some(up) = self.up {
            msg.header.flags = if up {
                LinkFlags::Up
            } else {
                LinkFlags::empty()
            };
            msg.header.change_mask = LinkFlags::Up;
        }
        Ok(RouteNetlinkMessage::SetLink(msg))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{FailOverMac, Mode, XmitHashPolicy};
    use netplumb_netns::raw::netlink_packet_core::{
        NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
    };
    use netplumb_netns::IfName;
    use proptest::prelude::*;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    /// Serialises `msg` as it goes on the wire and parses it back.
    pub(crate) fn wire(msg: RouteNetlinkMessage) -> (Vec<u8>, RouteNetlinkMessage) {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        nl.finalize();
        let mut bytes = vec![0; nl.buffer_len()];
        nl.serialize(&mut bytes);
        let back = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).expect("decodes");
        match back.payload {
            NetlinkPayload::InnerMessage(inner) => (bytes, inner),
            other => panic!("not a route message: {other:?}"),
        }
    }

    fn link_of(msg: &RouteNetlinkMessage) -> &LinkMessage {
        match msg {
            RouteNetlinkMessage::NewLink(m)
            | RouteNetlinkMessage::SetLink(m)
            | RouteNetlinkMessage::GetLink(m) => m,
            other => panic!("not a link message: {other:?}"),
        }
    }

    /// The `IFLA_INFO_DATA` of a bond message, decoded from its bytes.
    fn decoded_options(config: &BondConfig, primary: Option<u32>) -> Vec<InfoBond> {
        let (_, back) = wire(new_bond(config, primary, 1500));
        let infos = link_of(&back)
            .attributes
            .iter()
            .find_map(|a| match a {
                LinkAttribute::LinkInfo(infos) => Some(infos.clone()),
                _ => None,
            })
            .expect("IFLA_LINKINFO");
        assert_eq!(infos[0], LinkInfo::Kind(InfoKind::Bond));
        match &infos[1] {
            LinkInfo::Data(InfoData::Bond(opts)) => opts.clone(),
            other => panic!("not bond data: {other:?}"),
        }
    }

    #[test]
    fn a_bare_bond_carries_only_its_mode() {
        for mode in Mode::ALL {
            let cfg = BondConfig::new(name("bond0"), mode);
            assert_eq!(
                decoded_options(&cfg, None),
                vec![InfoBond::Mode(BondMode::from(mode.number()))],
                "{mode}"
            );
        }
    }

    #[test]
    fn every_option_decodes_to_what_was_encoded() {
        let cfg = BondConfig::new(name("bond0"), Mode::ActiveBackup)
            .miimon(100)
            .updelay(200)
            .downdelay(300)
            .fail_over_mac(FailOverMac::Follow)
            .xmit_hash_policy(XmitHashPolicy::Layer34)
            .all_slaves_active(true);
        assert_eq!(
            decoded_options(&cfg, Some(7)),
            vec![
                InfoBond::Mode(BondMode::ActiveBackup),
                InfoBond::MiiMon(100),
                InfoBond::UpDelay(200),
                InfoBond::DownDelay(300),
                InfoBond::Primary(7),
                InfoBond::FailOverMac(BondFailOverMac::Follow),
                InfoBond::XmitHashPolicy(BondXmitHashPolicy::Layer34),
                InfoBond::AllPortsActive(BondAllPortActive::Delivered),
            ]
        );
        let tlb = BondConfig::new(name("bond0"), Mode::BalanceTlb)
            .tlb_dynamic_lb(false)
            .all_slaves_active(false);
        assert_eq!(
            decoded_options(&tlb, None),
            vec![
                InfoBond::Mode(BondMode::BalanceTlb),
                InfoBond::AllPortsActive(BondAllPortActive::Dropped),
                InfoBond::TlbDynamicLb(false),
            ]
        );
    }

    #[test]
    fn option_bytes_follow_the_kernel_layout() {
        // IFLA_BOND_MODE is a u8, IFLA_BOND_MIIMON a u32, IFLA_BOND_FAIL_OVER_MAC a u8.
        let cfg = BondConfig::new(name("b"), Mode::ActiveBackup)
            .miimon(100)
            .fail_over_mac(FailOverMac::Active);
        let (bytes, _) = wire(new_bond(&cfg, None, 1500));
        let data: &[u8] = &[
            5, 0, 1, 0, 1, 0, 0, 0, // mode 1
            8, 0, 3, 0, 100, 0, 0, 0, // miimon 100
            5, 0, 13, 0, 1, 0, 0, 0, // fail_over_mac 1
        ];
        assert!(
            bytes.windows(data.len()).any(|w| w == data),
            "IFLA_INFO_DATA not found in {bytes:?}"
        );
        // IFLA_INFO_KIND "bond\0".
        let kind: &[u8] = &[9, 0, 1, 0, b'b', b'o', b'n', b'd', 0];
        assert!(bytes.windows(kind.len()).any(|w| w == kind));
    }

    #[test]
    fn delays_without_miimon_are_left_out_only_when_zero() {
        let cfg = BondConfig::new(name("bond0"), Mode::ActiveBackup)
            .updelay(0)
            .downdelay(0);
        assert_eq!(
            decoded_options(&cfg, None),
            vec![InfoBond::Mode(BondMode::ActiveBackup)]
        );
        let cfg = BondConfig::new(name("bond0"), Mode::ActiveBackup)
            .miimon(100)
            .updelay(0);
        assert!(decoded_options(&cfg, None).contains(&InfoBond::UpDelay(0)));
    }

    #[test]
    fn delays_ride_on_the_miimon_the_mode_turns_on() {
        // 802.3ad, balance-tlb and balance-alb monitor at 100 ms unless
        // told otherwise: a delay of 0 is accepted there and sent.
        for mode in [Mode::Ieee8023ad, Mode::BalanceTlb, Mode::BalanceAlb] {
            let cfg = BondConfig::new(name("bond0"), mode)
                .updelay(0)
                .downdelay(200);
            let opts = decoded_options(&cfg, None);
            assert_eq!(opts[0], InfoBond::Mode(BondMode::from(mode.number())));
            assert!(opts.contains(&InfoBond::UpDelay(0)), "{mode}: {opts:?}");
            assert!(opts.contains(&InfoBond::DownDelay(200)), "{mode}: {opts:?}");
            assert!(!opts.iter().any(|o| matches!(o, InfoBond::MiiMon(_))));
        }
        let off = BondConfig::new(name("bond0"), Mode::BalanceTlb)
            .miimon(0)
            .updelay(0);
        assert_eq!(
            decoded_options(&off, None),
            vec![InfoBond::Mode(BondMode::BalanceTlb), InfoBond::MiiMon(0)]
        );
    }

    #[test]
    fn name_mtu_and_mac_ride_in_the_same_message() {
        let mac = MacAddr([2, 0, 0, 0, 0, 0x42]);
        let cfg = BondConfig::new(name("bond7"), Mode::BalanceRr).mac(mac);
        let (_, back) = wire(new_bond(&cfg, None, 9000));
        let attrs = &link_of(&back).attributes;
        assert_eq!(attrs[0], LinkAttribute::IfName("bond7".into()));
        assert!(attrs.contains(&LinkAttribute::Mtu(9000)));
        assert!(attrs.contains(&LinkAttribute::Address(mac.0.to_vec())));
        assert_eq!(link_of(&back).header.index, 0, "a new link has no index");
    }

    #[test]
    fn enslaving_sets_only_the_controller() {
        let change = PortChange {
            controller: Some(9),
            ..PortChange::default()
        };
        let (_, back) = wire(change.message(&LinkRef::from("net1")).unwrap());
        let RouteNetlinkMessage::SetLink(m) = back else {
            panic!("not RTM_SETLINK: {back:?}")
        };
        // No flag change: the kernel would apply it before the controller,
        // and refuses to enslave a link that is up.
        assert!(m.header.change_mask.is_empty());
        assert_eq!(
            m.attributes,
            vec![
                LinkAttribute::IfName("net1".into()),
                LinkAttribute::Controller(9)
            ]
        );
    }

    #[test]
    fn restoring_a_port_is_one_message_that_splits_in_kernel_order() {
        let mac = MacAddr([2, 0, 0, 0, 0, 1]);
        let change = PortChange {
            netns_fd: Some(5),
            name: Some(name("net1")),
            mac: Some(mac),
            mtu: Some(1500),
            up: Some(false),
            ..PortChange::default()
        };
        let (_, back) = wire(change.message(&LinkRef::Index(12)).unwrap());
        let m = link_of(&back);
        assert_eq!(m.header.index, 12);
        assert!(m.header.flags.is_empty());
        assert_eq!(m.header.change_mask, LinkFlags::Up);
        assert_eq!(
            m.attributes,
            vec![
                LinkAttribute::NetNsFd(5),
                LinkAttribute::IfName("net1".into()),
                LinkAttribute::Address(mac.0.to_vec()),
                LinkAttribute::Mtu(1500),
            ]
        );
        let released = PortChange {
            controller: Some(0),
            ..change
        };
        let steps: Vec<&str> = released.split().iter().map(|(what, _)| *what).collect();
        assert_eq!(
            steps,
            [
                "release from controller",
                "move back to its namespace",
                "rename",
                "set MAC address",
                "set MTU",
                "set link down"
            ]
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "the kernel orders controller and flags differently")]
    fn controller_and_flags_never_share_a_message() {
        let both = PortChange {
            controller: Some(0),
            up: Some(true),
            ..PortChange::default()
        };
        let _ = both.message(&LinkRef::Index(3));
    }

    #[test]
    fn the_dump_skips_statistics() {
        let (bytes, back) = wire(dump_links());
        assert_eq!(
            link_of(&back).attributes,
            vec![LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats])]
        );
        // IFLA_EXT_MASK = RTEXT_FILTER_SKIP_STATS (8).
        assert_eq!(&bytes[32..40], &[8, 0, 29, 0, 8, 0, 0, 0]);
    }

    /// Any change that can be sent: never the controller with the flags.
    fn change_strategy() -> impl Strategy<Value = PortChange> {
        (
            proptest::option::of(0u32..100),
            proptest::option::of(0i32..100),
            proptest::option::of("[a-z][a-z0-9]{0,14}"),
            proptest::option::of(any::<[u8; 6]>()),
            proptest::option::of(68u32..65536),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(
                |(controller, netns_fd, new_name, mac, mtu, up)| PortChange {
                    controller,
                    netns_fd,
                    name: new_name.map(|n| name(&n)),
                    mac: mac.map(MacAddr),
                    mtu,
                    up: up.filter(|_| controller.is_none()),
                },
            )
    }

    proptest! {
        #[test]
        fn split_changes_add_up_to_the_whole(change in change_strategy()) {
            let parts = change.split();
            prop_assert_eq!(parts.is_empty(), change.is_empty());
            let mut merged = PortChange::default();
            for (_, part) in &parts {
                // Each part carries exactly one change.
                prop_assert_eq!(part.split().len(), 1);
                merged.controller = merged.controller.or(part.controller);
                merged.netns_fd = merged.netns_fd.or(part.netns_fd);
                merged.name = merged.name.or(part.name.clone());
                merged.mac = merged.mac.or(part.mac);
                merged.mtu = merged.mtu.or(part.mtu);
                merged.up = merged.up.or(part.up);
            }
            prop_assert_eq!(merged, change);
        }

        #[test]
        fn every_port_change_survives_the_wire(change in change_strategy(), index in 1u32..1000) {
            let msg = change.message(&LinkRef::Index(index)).unwrap();
            let (_, back) = wire(msg.clone());
            prop_assert_eq!(back, msg);
        }
    }
}
