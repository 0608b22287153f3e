//! The one netlink message this crate builds itself, the bond's creation
//! with its options (`IFLA_INFO_DATA`, which netns does not model), built
//! without a kernel so it can be checked byte for byte.

use netplumb_netns::raw::netlink_packet_core::DefaultNla;
use netplumb_netns::raw::netlink_packet_route::link::{
    BondAllPortActive, BondFailOverMac, BondMode as NlBondMode, BondXmitHashPolicy, InfoBond,
    InfoData, InfoKind, LinkAttribute, LinkInfo, LinkMessage,
};
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;

use crate::BondConfig;

const IFLA_IFNAME: u16 = 3;

/// The bond's options as `IFLA_INFO_DATA` attributes, in one message.
///
/// `primary` is the ifindex of the preferred port: the kernel takes it
/// before the port is enslaved, remembers its name, and makes it the
/// preferred port when it joins.
pub(crate) fn bond_options(config: &BondConfig, primary: Option<u32>) -> Vec<InfoBond> {
    let options = &config.options;
    // The mode goes first, as the kernel applies options in attribute
    // order (setting some modes turns miimon on).
    let mut opts = vec![InfoBond::Mode(NlBondMode::from(options.mode.number()))];
    let miimon = options.effective_miimon();
    if let Some(ms) = options.miimon {
        opts.push(InfoBond::MiiMon(ms));
    }
    // The kernel refuses any delay, even 0, while miimon is off; 0 is
    // its default there anyway.
    if let Some(ms) = options.updelay.filter(|&d| d > 0 || miimon > 0) {
        opts.push(InfoBond::UpDelay(ms));
    }
    if let Some(ms) = options.downdelay.filter(|&d| d > 0 || miimon > 0) {
        opts.push(InfoBond::DownDelay(ms));
    }
    if let Some(index) = primary {
        opts.push(InfoBond::Primary(index));
    }
    if let Some(policy) = options.fail_over_mac {
        opts.push(InfoBond::FailOverMac(BondFailOverMac::from(
            policy.number(),
        )));
    }
    if let Some(policy) = options.xmit_hash_policy {
        opts.push(InfoBond::XmitHashPolicy(BondXmitHashPolicy::from(
            policy.number(),
        )));
    }
    if let Some(on) = options.all_slaves_active {
        opts.push(InfoBond::AllPortsActive(if on {
            BondAllPortActive::Delivered
        } else {
            BondAllPortActive::Dropped
        }));
    }
    if let Some(on) = options.tlb_dynamic_lb {
        opts.push(InfoBond::TlbDynamicLb(on));
    }
    opts
}

/// The `RTM_NEWLINK` that creates the bond, down, with every option, its
/// `mtu` and its MAC in one message.
pub(crate) fn new_bond(config: &BondConfig, primary: Option<u32>, mtu: u32) -> RouteNetlinkMessage {
    let mut msg = LinkMessage::default();
    // The name's bytes with their NUL, as the kernel takes a name:
    // netlink-packet-route's IfName holds text only.
    let mut name = config.name.as_bytes().to_vec();
    name.push(0);
    msg.attributes
        .push(LinkAttribute::Other(DefaultNla::new(IFLA_IFNAME, name)));
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

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_netns::raw::netlink_packet_core::{
        NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_REQUEST,
    };
    use netplumb_types::{BondMode, FailOverMac, IfName, MacAddr, XmitHashPolicy};

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    /// `msg` as it goes on the wire.
    fn bytes_of(msg: RouteNetlinkMessage) -> Vec<u8> {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK;
        let mut nl = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        nl.finalize();
        let mut bytes = vec![0; nl.buffer_len()];
        nl.serialize(&mut bytes);
        bytes
    }

    /// Serialises `msg` as it goes on the wire and parses it back.
    fn wire(msg: RouteNetlinkMessage) -> (Vec<u8>, RouteNetlinkMessage) {
        let bytes = bytes_of(msg);
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
        for mode in BondMode::ALL {
            let cfg = BondConfig::new(name("bond0"), mode);
            assert_eq!(
                decoded_options(&cfg, None),
                vec![InfoBond::Mode(NlBondMode::from(mode.number()))],
                "{mode}"
            );
        }
    }

    #[test]
    fn every_option_decodes_to_what_was_encoded() {
        let cfg = BondConfig::new(name("bond0"), BondMode::ActiveBackup)
            .miimon(100)
            .updelay(200)
            .downdelay(300)
            .fail_over_mac(FailOverMac::Follow)
            .xmit_hash_policy(XmitHashPolicy::Layer34)
            .all_slaves_active(true);
        assert_eq!(
            decoded_options(&cfg, Some(7)),
            vec![
                InfoBond::Mode(NlBondMode::ActiveBackup),
                InfoBond::MiiMon(100),
                InfoBond::UpDelay(200),
                InfoBond::DownDelay(300),
                InfoBond::Primary(7),
                InfoBond::FailOverMac(BondFailOverMac::Follow),
                InfoBond::XmitHashPolicy(BondXmitHashPolicy::Layer34),
                InfoBond::AllPortsActive(BondAllPortActive::Delivered),
            ]
        );
        let tlb = BondConfig::new(name("bond0"), BondMode::BalanceTlb)
            .tlb_dynamic_lb(false)
            .all_slaves_active(false);
        assert_eq!(
            decoded_options(&tlb, None),
            vec![
                InfoBond::Mode(NlBondMode::BalanceTlb),
                InfoBond::AllPortsActive(BondAllPortActive::Dropped),
                InfoBond::TlbDynamicLb(false),
            ]
        );
    }

    #[test]
    fn option_bytes_follow_the_kernel_layout() {
        // IFLA_BOND_MODE is a u8, IFLA_BOND_MIIMON a u32, IFLA_BOND_FAIL_OVER_MAC a u8.
        let cfg = BondConfig::new(name("b"), BondMode::ActiveBackup)
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
        let cfg = BondConfig::new(name("bond0"), BondMode::ActiveBackup)
            .updelay(0)
            .downdelay(0);
        assert_eq!(
            decoded_options(&cfg, None),
            vec![InfoBond::Mode(NlBondMode::ActiveBackup)]
        );
        let cfg = BondConfig::new(name("bond0"), BondMode::ActiveBackup)
            .miimon(100)
            .updelay(0);
        assert!(decoded_options(&cfg, None).contains(&InfoBond::UpDelay(0)));
    }

    #[test]
    fn delays_ride_on_the_miimon_the_mode_turns_on() {
        // 802.3ad, balance-tlb and balance-alb monitor at 100 ms unless
        // told otherwise: a delay of 0 is accepted there and sent.
        for mode in [
            BondMode::Ieee8023ad,
            BondMode::BalanceTlb,
            BondMode::BalanceAlb,
        ] {
            let cfg = BondConfig::new(name("bond0"), mode)
                .updelay(0)
                .downdelay(200);
            let opts = decoded_options(&cfg, None);
            assert_eq!(opts[0], InfoBond::Mode(NlBondMode::from(mode.number())));
            assert!(opts.contains(&InfoBond::UpDelay(0)), "{mode}: {opts:?}");
            assert!(opts.contains(&InfoBond::DownDelay(200)), "{mode}: {opts:?}");
            assert!(!opts.iter().any(|o| matches!(o, InfoBond::MiiMon(_))));
        }
        let off = BondConfig::new(name("bond0"), BondMode::BalanceTlb)
            .miimon(0)
            .updelay(0);
        assert_eq!(
            decoded_options(&off, None),
            vec![InfoBond::Mode(NlBondMode::BalanceTlb), InfoBond::MiiMon(0)]
        );
    }

    #[test]
    fn name_mtu_and_mac_ride_in_the_same_message() {
        let mac = MacAddr([2, 0, 0, 0, 0, 0x42]);
        let cfg = BondConfig::new(name("bond7"), BondMode::BalanceRr).mac(mac);
        let (_, back) = wire(new_bond(&cfg, None, 9000));
        let attrs = &link_of(&back).attributes;
        assert_eq!(attrs[0], LinkAttribute::IfName("bond7".into()));
        assert!(attrs.contains(&LinkAttribute::Mtu(9000)));
        assert!(attrs.contains(&LinkAttribute::Address(mac.0.to_vec())));
        assert_eq!(link_of(&back).header.index, 0, "a new link has no index");
    }

    #[test]
    fn a_name_goes_as_its_bytes() {
        let cfg = BondConfig::new(IfName::new(b"b\xff").unwrap(), BondMode::BalanceRr);
        // netlink-packet-route cannot read this name back: bytes only.
        let bytes = bytes_of(new_bond(&cfg, None, 1500));
        // IFLA_IFNAME: length 7, type 3, the name and its NUL, padding.
        let name: &[u8] = &[7, 0, 3, 0, b'b', 0xff, 0, 0];
        assert_eq!(&bytes[32..40], name);
    }
}
