//! The PF's VF table (`IFLA_VFINFO_LIST`), read losslessly.
//!
//! netlink-packet-route folds the kernel's "unknown" (`-1`) spoofchk and
//! trust into `false`; restoring a VF exactly needs the difference, so the
//! table is decoded here.
//!
//! One odd entry must not make a PF (and with it a whole link dump)
//! unreadable: values outside their usual range are kept as reported, a
//! field too short to read is skipped, and an entry that cannot be placed
//! at all (no VF number anywhere in it) is left out.

use crate::attr::attributes;
use crate::{MacAddr, VfLinkState, VlanProto};

const IFLA_VF_INFO: u16 = 1;
const IFLA_VF_MAC: u16 = 1;
const IFLA_VF_VLAN: u16 = 2;
const IFLA_VF_TX_RATE: u16 = 3;
const IFLA_VF_SPOOFCHK: u16 = 4;
const IFLA_VF_LINK_STATE: u16 = 5;
const IFLA_VF_RATE: u16 = 6;
const IFLA_VF_TRUST: u16 = 9;
const IFLA_VF_VLAN_LIST: u16 = 12;
const IFLA_VF_VLAN_INFO: u16 = 1;

/// The attributes that are a struct starting with the VF number (unlike,
/// say, `IFLA_VF_BROADCAST` or the nested `IFLA_VF_VLAN_LIST`).
const VF_STRUCTS: [u16; 7] = [
    IFLA_VF_MAC,
    IFLA_VF_VLAN,
    IFLA_VF_TX_RATE,
    IFLA_VF_SPOOFCHK,
    IFLA_VF_LINK_STATE,
    IFLA_VF_RATE,
    IFLA_VF_TRUST,
];

/// One VF as its PF reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VfInfo {
    /// The VF number on its PF (0-based).
    pub index: u32,
    /// The administrative MAC the PF assigned (zero when none was set).
    pub mac: MacAddr,
    /// VLAN id (0 = no VLAN). Drivers report 0 to 4095; any other value is
    /// kept as reported (`u16::MAX` when it does not fit), so that setting
    /// it back fails loudly instead of clearing the VLAN.
    pub vlan: u16,
    /// 802.1p priority for the VLAN, 0 to 7 as drivers report it; any other
    /// value is kept likewise (`u8::MAX` when it does not fit).
    pub qos: u8,
    /// VLAN protocol.
    pub vlan_proto: VlanProto,
    /// MAC spoof checking; `None` when the driver does not report it.
    pub spoofchk: Option<bool>,
    /// Trusted mode; `None` when the driver does not report it.
    pub trust: Option<bool>,
    /// Administrative link state.
    pub link_state: VfLinkState,
    /// Minimum TX rate in Mbit/s (0 = none).
    pub min_tx_rate: u32,
    /// Maximum TX rate in Mbit/s (0 = none).
    pub max_tx_rate: u32,
}

impl VfInfo {
    /// VF `index` as a driver reports a fresh one: no administrative MAC,
    /// no VLAN, spoof checking and trust not reported, link state auto, no
    /// rate limits. For tests and fake kernels to start from.
    pub fn new(index: u32) -> VfInfo {
        VfInfo {
            index,
            mac: MacAddr::default(),
            vlan: 0,
            qos: 0,
            vlan_proto: VlanProto::Dot1Q,
            spoofchk: None,
            trust: None,
            link_state: VfLinkState::Auto,
            min_tx_rate: 0,
            max_tx_rate: 0,
        }
    }
}

/// Decodes the value of an `IFLA_VFINFO_LIST` attribute, ordered by VF
/// index. A malformed attribute ends the list (nothing after it can be
/// found); the entries before it are kept.
pub(crate) fn parse_vf_list(bytes: &[u8]) -> Vec<VfInfo> {
    let mut vfs: Vec<VfInfo> = attributes(bytes)
        .map_while(Result::ok)
        .filter(|(kind, _)| *kind == IFLA_VF_INFO)
        .filter_map(|(_, value)| parse_vf(value))
        .collect();
    vfs.sort_by_key(|vf| vf.index);
    vfs
}

/// Decodes one `IFLA_VF_INFO`; `None` when no attribute in it says which
/// VF it is.
fn parse_vf(bytes: &[u8]) -> Option<VfInfo> {
    let mut index = None;
    let mut vf = VfInfo::new(0);
    let mut vlan_from_list = false;
    let mut have_rate = false;
    for (kind, value) in attributes(bytes).map_while(Result::ok) {
        let field = |n: usize| word(value, n);
        // Each of these structs starts with the VF number. IFLA_VF_MAC is
        // the one the kernel always sends, but any of them will do.
        if VF_STRUCTS.contains(&kind) {
            index = index.or(field(0));
        }
        match kind {
            IFLA_VF_MAC => {
                if let Some(mac) = value.get(4..10).and_then(MacAddr::from_slice) {
                    vf.mac = mac;
                }
            }
            IFLA_VF_VLAN if !vlan_from_list => {
                if let (Some(vlan), Some(qos)) = (field(1), field(2)) {
                    (vf.vlan, vf.qos) = (saturate_u16(vlan), saturate_u8(qos));
                }
            }
            IFLA_VF_VLAN_LIST => {
                // The list carries the protocol too; the first entry is the
                // VF's VLAN (the kernel supports one).
                let first = attributes(value).next().and_then(Result::ok);
                if let Some((IFLA_VF_VLAN_INFO, info)) = first {
                    index = index.or(word(info, 0));
                    if let (Some(vlan), Some(qos), Some(proto)) =
                        (word(info, 1), word(info, 2), info.get(12..14))
                    {
                        (vf.vlan, vf.qos) = (saturate_u16(vlan), saturate_u8(qos));
                        vf.vlan_proto =
                            VlanProto::from_ethertype(u16::from_be_bytes([proto[0], proto[1]]));
                        vlan_from_list = true;
                    }
                }
            }
            IFLA_VF_TX_RATE if !have_rate => {
                vf.max_tx_rate = field(1).unwrap_or(vf.max_tx_rate);
            }
            IFLA_VF_RATE => {
                if let (Some(min), Some(max)) = (field(1), field(2)) {
                    (vf.min_tx_rate, vf.max_tx_rate) = (min, max);
                    have_rate = true;
                }
            }
            IFLA_VF_SPOOFCHK => vf.spoofchk = field(1).and_then(tristate),
            IFLA_VF_TRUST => vf.trust = field(1).and_then(tristate),
            IFLA_VF_LINK_STATE => {
                vf.link_state = field(1).map_or(vf.link_state, VfLinkState::from_u32);
            }
            _ => {}
        }
    }
    vf.index = index?;
    Some(vf)
}

/// The `n`th u32 of an `IFLA_VF_*` struct; word 0 is always the VF number.
fn word(value: &[u8], n: usize) -> Option<u32> {
    value
        .get(n * 4..n * 4 + 4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
}

/// The kernel reports `(u32)-1` when a driver does not fill a setting in.
fn tristate(v: u32) -> Option<bool> {
    match v {
        u32::MAX => None,
        v => Some(v != 0),
    }
}

fn saturate_u16(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

fn saturate_u8(v: u32) -> u8 {
    u8::try_from(v).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::Emitable;
    use netlink_packet_route::link::{
        LinkAttribute, LinkVfInfo, VfInfo as NlVfInfo, VfInfoLinkState, VfInfoMac, VfInfoRate,
        VfInfoSpoofCheck, VfInfoTrust, VfInfoTxRate, VfInfoVlan, VfLinkState as NlLinkState,
        VfVlan, VfVlanInfo, VlanProtocol,
    };

    /// The value of an IFLA_VFINFO_LIST as netlink-packet-route emits it.
    fn vf_list(vfs: Vec<Vec<NlVfInfo>>) -> Vec<u8> {
        let attr = LinkAttribute::VfInfoList(vfs.into_iter().map(LinkVfInfo).collect());
        let mut bytes = vec![0; attr.buffer_len()];
        attr.emit(&mut bytes);
        bytes[4..].to_vec()
    }

    fn igb_vf(id: u32, mac: [u8; 6]) -> Vec<NlVfInfo> {
        let mut mac32 = [0u8; 32];
        mac32[..6].copy_from_slice(&mac);
        vec![
            NlVfInfo::Mac(VfInfoMac::new(id, &mac32)),
            NlVfInfo::Vlan(VfInfoVlan::new(id, 100, 3)),
            NlVfInfo::Rate(VfInfoRate::new(id, 0, 500)),
            NlVfInfo::TxRate(VfInfoTxRate::new(id, 500)),
            NlVfInfo::SpoofCheck(VfInfoSpoofCheck::new(id, true)),
            NlVfInfo::LinkState(VfInfoLinkState::new(id, NlLinkState::Disable)),
            NlVfInfo::Trust(VfInfoTrust::new(id, false)),
            NlVfInfo::VlanList(vec![VfVlan::Info(VfVlanInfo::new(
                id,
                100,
                3,
                VlanProtocol::Ieee8021Ad,
            ))]),
        ]
    }

    #[test]
    fn reads_every_vf_setting() {
        let bytes = vf_list(vec![
            igb_vf(1, [2, 0, 0, 0, 1, 1]),
            igb_vf(0, [2, 0, 0, 0, 1, 0]),
        ]);
        let vfs = parse_vf_list(&bytes);
        assert_eq!(vfs.len(), 2);
        assert_eq!(vfs[0].index, 0, "ordered by VF index");
        let vf = &vfs[1];
        assert_eq!(
            *vf,
            VfInfo {
                index: 1,
                mac: MacAddr([2, 0, 0, 0, 1, 1]),
                vlan: 100,
                qos: 3,
                vlan_proto: VlanProto::Dot1Ad,
                spoofchk: Some(true),
                trust: Some(false),
                link_state: VfLinkState::Disable,
                min_tx_rate: 0,
                max_tx_rate: 500,
            }
        );
    }

    /// An IFLA_VFINFO_LIST value holding one IFLA_VF_INFO per entry of
    /// `entries`, each made of `(type, u32 words)` attributes.
    fn raw_vf_list(entries: &[&[(u16, &[u32])]]) -> Vec<u8> {
        let mut list = Vec::new();
        for attrs in entries {
            let mut info = Vec::new();
            for (kind, words) in *attrs {
                let len = 4 + 4 * words.len() as u16;
                info.extend_from_slice(&len.to_ne_bytes());
                info.extend_from_slice(&kind.to_ne_bytes());
                for w in *words {
                    info.extend_from_slice(&w.to_ne_bytes());
                }
            }
            list.extend_from_slice(&((info.len() + 4) as u16).to_ne_bytes());
            list.extend_from_slice(&IFLA_VF_INFO.to_ne_bytes());
            list.extend_from_slice(&info);
        }
        list
    }

    /// One IFLA_VF_INFO as a driver that reports neither spoofchk nor trust
    /// sends it: the kernel fills in (u32)-1 for both.
    #[test]
    fn unreported_spoofchk_and_trust_are_none() {
        let mut mac = [0u32; 9];
        mac[0] = 4;
        let list = raw_vf_list(&[&[
            (IFLA_VF_MAC, &mac),
            (IFLA_VF_SPOOFCHK, &[4, u32::MAX]),
            (IFLA_VF_TRUST, &[4, u32::MAX]),
            (IFLA_VF_TX_RATE, &[4, 100]),
        ]]);

        let vfs = parse_vf_list(&list);
        assert_eq!(vfs[0].index, 4);
        assert_eq!(vfs[0].spoofchk, None);
        assert_eq!(vfs[0].trust, None);
        assert_eq!(
            vfs[0].max_tx_rate, 100,
            "old drivers report only IFLA_VF_TX_RATE"
        );
        assert!(vfs[0].mac.is_zero());
    }

    #[test]
    fn odd_vf_entries_are_read_as_far_as_they_go() {
        // Out-of-range VLAN and qos are kept as reported.
        let bytes = vf_list(vec![{
            let mut vf = igb_vf(0, [2, 0, 0, 0, 0, 1]);
            vf[1] = NlVfInfo::Vlan(VfInfoVlan::new(0, 5000, 9));
            vf.pop();
            vf
        }]);
        let vfs = parse_vf_list(&bytes);
        assert_eq!((vfs[0].vlan, vfs[0].qos), (5000, 9));
        assert_eq!(vfs[0].mac, MacAddr([2, 0, 0, 0, 0, 1]));

        let mac = [1u32, 0, 0, 0, 0, 0, 0, 0, 0];
        let bytes = raw_vf_list(&[
            // Too large for the field: saturated, so still out of range.
            &[(IFLA_VF_MAC, &mac), (IFLA_VF_VLAN, &[1, 70_000, 300])],
            // No IFLA_VF_MAC: the VF number comes from another attribute.
            &[(IFLA_VF_TRUST, &[2, 1]), (IFLA_VF_SPOOFCHK, &[2, 0])],
            // Fields too short to read are skipped, the rest kept.
            &[
                (IFLA_VF_MAC, &[3]),
                (IFLA_VF_RATE, &[3, 10]),
                (IFLA_VF_TRUST, &[3, 1]),
            ],
            // Nothing says which VF this is: left out.
            &[(IFLA_VF_VLAN_LIST, &[])],
        ]);
        let vfs = parse_vf_list(&bytes);
        assert_eq!(vfs.len(), 3, "{vfs:?}");
        assert_eq!(
            (vfs[0].index, vfs[0].vlan, vfs[0].qos),
            (1, u16::MAX, u8::MAX)
        );
        assert_eq!(vfs[1].index, 2);
        assert_eq!((vfs[1].trust, vfs[1].spoofchk), (Some(true), Some(false)));
        assert!(vfs[1].mac.is_zero());
        assert_eq!(vfs[2].index, 3);
        assert_eq!((vfs[2].min_tx_rate, vfs[2].max_tx_rate), (0, 0));
        assert_eq!(vfs[2].trust, Some(true));

        // A malformed entry ends the list; those before it are kept.
        let mut bytes = raw_vf_list(&[&[(IFLA_VF_MAC, &mac)]]);
        bytes.extend_from_slice(&[200, 0, 1, 0, 0, 0, 0, 0]);
        assert_eq!(parse_vf_list(&bytes).len(), 1);
    }

    #[test]
    fn conversions_round_trip() {
        for v in [0, 1, 2, 3, 99] {
            assert_eq!(VfLinkState::from_u32(v).as_u32(), v);
        }
        for v in [0x8100, 0x88a8, 0x1234] {
            assert_eq!(VlanProto::from_ethertype(v).ethertype(), v);
        }
    }

    proptest::proptest! {
        #[test]
        fn vf_list_round_trips(
            vfs in proptest::collection::vec(
                (0u32..64, proptest::array::uniform6(0u8..), 0u32..4096, 0u32..8,
                 proptest::bool::ANY, proptest::bool::ANY, 0u32..3, 0u32..10_000, 0u32..10_000),
                0..8)
        ) {
            let mut entries = Vec::new();
            let mut want = Vec::new();
            for (i, (_, mac, vlan, qos, spoof, trust, state, min, max)) in vfs.iter().enumerate() {
                let id = i as u32;
                let mut mac32 = [0u8; 32];
                mac32[..6].copy_from_slice(mac);
                entries.push(vec![
                    NlVfInfo::Mac(VfInfoMac::new(id, &mac32)),
                    NlVfInfo::Vlan(VfInfoVlan::new(id, *vlan, *qos)),
                    NlVfInfo::Rate(VfInfoRate::new(id, *min, *max)),
                    NlVfInfo::SpoofCheck(VfInfoSpoofCheck::new(id, *spoof)),
                    NlVfInfo::Trust(VfInfoTrust::new(id, *trust)),
                    NlVfInfo::LinkState(VfInfoLinkState::new(id, NlLinkState::from(*state))),
                ]);
                want.push(VfInfo {
                    index: id,
                    mac: MacAddr(*mac),
                    vlan: *vlan as u16,
                    qos: *qos as u8,
                    vlan_proto: VlanProto::Dot1Q,
                    spoofchk: Some(*spoof),
                    trust: Some(*trust),
                    link_state: VfLinkState::from_u32(*state),
                    min_tx_rate: *min,
                    max_tx_rate: *max,
                });
            }
            proptest::prop_assert_eq!(parse_vf_list(&vf_list(entries)), want);
        }

        #[test]
        fn vf_parser_never_panics(bytes: Vec<u8>) {
            let _ = parse_vf_list(&bytes);
        }
    }
}
