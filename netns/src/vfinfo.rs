//! The PF's VF table (`IFLA_VFINFO_LIST`), read losslessly.
//!
//! netlink-packet-route folds the kernel's "unknown" (`-1`) spoofchk and
//! trust into `false`; restoring a VF exactly needs the difference, so the
//! table is decoded here.

use crate::attr::attributes;
use crate::MacAddr;

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

const ETH_P_8021Q: u16 = 0x8100;
const ETH_P_8021AD: u16 = 0x88a8;

/// One VF as its PF reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VfInfo {
    /// The VF number on its PF (0-based).
    pub index: u32,
    /// The administrative MAC the PF assigned (zero when none was set).
    pub mac: MacAddr,
    /// VLAN id (0 = no VLAN).
    pub vlan: u16,
    /// 802.1p priority for the VLAN.
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

/// A VF's VLAN protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum VlanProto {
    /// 802.1Q (`0x8100`).
    #[default]
    Dot1Q,
    /// 802.1ad (`0x88a8`).
    Dot1Ad,
    /// Another ethertype.
    Other(u16),
}

impl VlanProto {
    /// The ethertype.
    pub fn ethertype(self) -> u16 {
        match self {
            VlanProto::Dot1Q => ETH_P_8021Q,
            VlanProto::Dot1Ad => ETH_P_8021AD,
            VlanProto::Other(v) => v,
        }
    }

    /// The protocol for an ethertype.
    pub fn from_ethertype(v: u16) -> VlanProto {
        match v {
            ETH_P_8021Q => VlanProto::Dot1Q,
            ETH_P_8021AD => VlanProto::Dot1Ad,
            v => VlanProto::Other(v),
        }
    }
}

/// A VF's administrative link state (`IFLA_VF_LINK_STATE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum VfLinkState {
    /// Follows the PF's link (0).
    #[default]
    Auto,
    /// Always up (1).
    Enable,
    /// Always down (2).
    Disable,
    /// Any other value.
    Other(u32),
}

impl VfLinkState {
    /// The kernel's value.
    pub fn as_u32(self) -> u32 {
        match self {
            VfLinkState::Auto => 0,
            VfLinkState::Enable => 1,
            VfLinkState::Disable => 2,
            VfLinkState::Other(v) => v,
        }
    }

    /// The state for a kernel value.
    pub fn from_u32(v: u32) -> VfLinkState {
        match v {
            0 => VfLinkState::Auto,
            1 => VfLinkState::Enable,
            2 => VfLinkState::Disable,
            v => VfLinkState::Other(v),
        }
    }
}

/// Decodes the value of an `IFLA_VFINFO_LIST` attribute, ordered by VF index.
pub(crate) fn parse_vf_list(bytes: &[u8]) -> Result<Vec<VfInfo>, String> {
    let mut vfs = Vec::new();
    for attr in attributes(bytes) {
        let (kind, value) = attr?;
        if kind == IFLA_VF_INFO {
            vfs.push(parse_vf(value)?);
        }
    }
    vfs.sort_by_key(|vf| vf.index);
    Ok(vfs)
}

fn parse_vf(bytes: &[u8]) -> Result<VfInfo, String> {
    let mut index = None;
    let mut vf = VfInfo {
        index: 0,
        mac: MacAddr::default(),
        vlan: 0,
        qos: 0,
        vlan_proto: VlanProto::Dot1Q,
        spoofchk: None,
        trust: None,
        link_state: VfLinkState::Auto,
        min_tx_rate: 0,
        max_tx_rate: 0,
    };
    let mut vlan_from_list = false;
    let mut have_rate = false;
    for attr in attributes(bytes) {
        let (kind, value) = attr?;
        let field = |n: usize, name: &str| word(value, n, name);
        match kind {
            IFLA_VF_MAC => {
                index = Some(field(0, "IFLA_VF_MAC")?);
                let mac = value
                    .get(4..10)
                    .ok_or_else(|| format!("IFLA_VF_MAC has {} bytes, too short", value.len()))?;
                vf.mac = MacAddr::from_slice(mac).unwrap_or_default();
            }
            IFLA_VF_VLAN if !vlan_from_list => {
                vf.vlan = vlan_id(field(1, "IFLA_VF_VLAN")?)?;
                vf.qos = vlan_qos(field(2, "IFLA_VF_VLAN")?)?;
            }
            IFLA_VF_VLAN_LIST => {
                // The list carries the protocol too; the first entry is the
                // VF's VLAN (the kernel supports one).
                if let Some(entry) = attributes(value).next() {
                    let (entry_kind, info) = entry?;
                    if entry_kind == IFLA_VF_VLAN_INFO {
                        vf.vlan = vlan_id(word(info, 1, "IFLA_VF_VLAN_INFO")?)?;
                        vf.qos = vlan_qos(word(info, 2, "IFLA_VF_VLAN_INFO")?)?;
                        let proto = info.get(12..14).ok_or_else(|| {
                            format!("IFLA_VF_VLAN_INFO has {} bytes, expected 16", info.len())
                        })?;
                        vf.vlan_proto =
                            VlanProto::from_ethertype(u16::from_be_bytes([proto[0], proto[1]]));
                        vlan_from_list = true;
                    }
                }
            }
            IFLA_VF_TX_RATE if !have_rate => vf.max_tx_rate = field(1, "IFLA_VF_TX_RATE")?,
            IFLA_VF_RATE => {
                vf.min_tx_rate = field(1, "IFLA_VF_RATE")?;
                vf.max_tx_rate = field(2, "IFLA_VF_RATE")?;
                have_rate = true;
            }
            IFLA_VF_SPOOFCHK => vf.spoofchk = tristate(field(1, "IFLA_VF_SPOOFCHK")?),
            IFLA_VF_TRUST => vf.trust = tristate(field(1, "IFLA_VF_TRUST")?),
            IFLA_VF_LINK_STATE => {
                vf.link_state = VfLinkState::from_u32(field(1, "IFLA_VF_LINK_STATE")?)
            }
            _ => {}
        }
    }
    vf.index = index.ok_or("IFLA_VF_INFO without IFLA_VF_MAC (which names the VF)")?;
    Ok(vf)
}

/// The `n`th u32 of an `IFLA_VF_*` struct; word 0 is always the VF number.
fn word(value: &[u8], n: usize, name: &str) -> Result<u32, String> {
    value
        .get(n * 4..n * 4 + 4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| format!("{name} has {} bytes, too short", value.len()))
}

/// The kernel reports `(u32)-1` when a driver does not fill a setting in.
fn tristate(v: u32) -> Option<bool> {
    match v {
        u32::MAX => None,
        v => Some(v != 0),
    }
}

fn vlan_id(v: u32) -> Result<u16, String> {
    u16::try_from(v)
        .ok()
        .filter(|v| *v < 4096)
        .ok_or_else(|| format!("VF VLAN id {v} out of range 0..=4095"))
}

fn vlan_qos(v: u32) -> Result<u8, String> {
    u8::try_from(v)
        .ok()
        .filter(|v| *v < 8)
        .ok_or_else(|| format!("VF VLAN qos {v} out of range 0..=7"))
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
        let vfs = parse_vf_list(&bytes).unwrap();
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

    /// One IFLA_VF_INFO as a driver that reports neither spoofchk nor trust
    /// sends it: the kernel fills in (u32)-1 for both.
    #[test]
    fn unreported_spoofchk_and_trust_are_none() {
        let mut info = Vec::new();
        let mut push = |kind: u16, words: &[u32]| {
            let len = 4 + 4 * words.len() as u16;
            info.extend_from_slice(&len.to_ne_bytes());
            info.extend_from_slice(&kind.to_ne_bytes());
            for w in words {
                info.extend_from_slice(&w.to_ne_bytes());
            }
        };
        let mut mac = [0u32; 9];
        mac[0] = 4;
        push(IFLA_VF_MAC, &mac);
        push(IFLA_VF_SPOOFCHK, &[4, u32::MAX]);
        push(IFLA_VF_TRUST, &[4, u32::MAX]);
        push(IFLA_VF_TX_RATE, &[4, 100]);
        let mut list = ((info.len() + 4) as u16).to_ne_bytes().to_vec();
        list.extend_from_slice(&IFLA_VF_INFO.to_ne_bytes());
        list.extend_from_slice(&info);

        let vfs = parse_vf_list(&list).unwrap();
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
    fn malformed_vf_entries_are_errors() {
        // A VF entry without IFLA_VF_MAC cannot be placed.
        let bytes = vf_list(vec![vec![NlVfInfo::Trust(VfInfoTrust::new(0, true))]]);
        assert!(parse_vf_list(&bytes).is_err());
        let bytes = vf_list(vec![{
            let mut vf = igb_vf(0, [2, 0, 0, 0, 0, 1]);
            vf[1] = NlVfInfo::Vlan(VfInfoVlan::new(0, 5000, 0));
            vf.pop();
            vf
        }]);
        let err = parse_vf_list(&bytes).unwrap_err();
        assert!(err.contains("VLAN id 5000"), "{err}");
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
            proptest::prop_assert_eq!(parse_vf_list(&vf_list(entries)).unwrap(), want);
        }

        #[test]
        fn vf_parser_never_panics(bytes: Vec<u8>) {
            let _ = parse_vf_list(&bytes);
        }
    }
}
