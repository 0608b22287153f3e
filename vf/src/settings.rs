//! PF-side VF settings: what the PF reports for a VF, what a caller asks
//! for, and how the request reaches the kernel.
//!
//! Every setting travels inside the PF's `RTM_SETLINK` as one
//! `IFLA_VF_INFO` in `IFLA_VFINFO_LIST`. The kernel applies the attributes
//! of one `IFLA_VF_INFO` in a fixed order (MAC, VLAN, rate, spoof check,
//! link state, trust) and stops at the first one the driver refuses, so a
//! refused combined message has applied exactly the attributes before the
//! refused one. [`apply`] relies on that: it sends everything at once,
//! and only when the kernel refuses does it go one attribute at a time, so
//! that the failure can be pinned on one attribute and what came before it
//! put back.

use std::fmt;

use netplumb_netns::raw::netlink_packet_route::link::{
    LinkAttribute, LinkVfInfo, VfInfo as NlVfInfo, VfInfoLinkState, VfInfoMac, VfInfoRate,
    VfInfoSpoofCheck, VfInfoTrust, VfLinkState as NlVfLinkState, VfVlan, VfVlanInfo, VlanProtocol,
};
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
use netplumb_netns::{LinkRef, MacAddr, VfInfo, VfLinkState, VlanProto};

use crate::Error;

/// Highest VLAN id (12 bits; 4095 itself is reserved by 802.1Q but drivers
/// differ on refusing it, so the kernel's range is kept).
const MAX_VLAN_ID: u16 = 4095;
/// Highest 802.1p priority.
const MAX_QOS: u8 = 7;

/// A VF's VLAN as its PF tags it: id (0 for none), 802.1p priority and
/// protocol.
///
/// ```
/// use netplumb_vf::{Vlan, VlanProto};
/// let vlan = Vlan::new(100, 3, VlanProto::Dot1Ad).unwrap();
/// assert_eq!((vlan.id(), vlan.qos()), (100, 3));
/// assert!(Vlan::new(4096, 0, VlanProto::Dot1Q).is_err());
/// assert_eq!(Vlan::NONE.id(), 0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "VlanFields", into = "VlanFields")]
pub struct Vlan {
    id: u16,
    qos: u8,
    proto: VlanProto,
}

impl Vlan {
    /// No VLAN: id 0, priority 0, 802.1Q.
    pub const NONE: Vlan = Vlan {
        id: 0,
        qos: 0,
        proto: VlanProto::Dot1Q,
    };

    /// A VLAN with id `id` (0 to 4095, 0 meaning untagged), priority `qos`
    /// (0 to 7) and protocol `proto` (802.1Q or 802.1ad).
    pub fn new(id: u16, qos: u8, proto: VlanProto) -> Result<Vlan, Error> {
        if id > MAX_VLAN_ID {
            return Err(invalid("vlan", id, "a VLAN id from 0 (none) to 4095"));
        }
        if qos > MAX_QOS {
            return Err(invalid("vlan qos", qos, "an 802.1p priority from 0 to 7"));
        }
        if let VlanProto::Other(ethertype) = proto {
            return Err(invalid(
                "vlan proto",
                format_args!("{ethertype:#06x}"),
                "802.1Q (0x8100) or 802.1ad (0x88a8)",
            ));
        }
        Ok(Vlan { id, qos, proto })
    }

    /// An 802.1Q VLAN with priority 0.
    pub fn tag(id: u16) -> Result<Vlan, Error> {
        Vlan::new(id, 0, VlanProto::Dot1Q)
    }

    /// The VLAN id; 0 means untagged.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The 802.1p priority.
    pub fn qos(&self) -> u8 {
        self.qos
    }

    /// The protocol.
    pub fn proto(&self) -> VlanProto {
        self.proto
    }
}

impl fmt::Display for Vlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} qos {} proto {}", self.id, self.qos, self.proto)
    }
}

/// The stored form of a [`Vlan`], read back through [`Vlan::new`].
#[derive(serde::Serialize, serde::Deserialize)]
struct VlanFields {
    id: u16,
    qos: u8,
    proto: VlanProto,
}

impl TryFrom<VlanFields> for Vlan {
    type Error = Error;

    fn try_from(v: VlanFields) -> Result<Vlan, Error> {
        Vlan::new(v.id, v.qos, v.proto)
    }
}

impl From<Vlan> for VlanFields {
    fn from(v: Vlan) -> VlanFields {
        VlanFields {
            id: v.id,
            qos: v.qos,
            proto: v.proto,
        }
    }
}

fn invalid(field: &'static str, value: impl fmt::Display, expected: &'static str) -> Error {
    Error::InvalidSetting {
        field,
        value: value.to_string(),
        expected,
    }
}

/// A VF's PF-side configuration, as its PF reports it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VfConfig {
    /// The administrative MAC; all zeros when none is set.
    pub mac: MacAddr,
    /// The VLAN the PF tags the VF's traffic with.
    pub vlan: Vlan,
    /// MAC spoof checking; `None` when the driver does not report it.
    pub spoofchk: Option<bool>,
    /// Trusted mode; `None` when the driver does not report it.
    pub trust: Option<bool>,
    /// Administrative link state.
    pub link_state: VfLinkState,
    /// Minimum TX rate in Mbit/s (0: none).
    pub min_tx_rate: u32,
    /// Maximum TX rate in Mbit/s (0: no limit).
    pub max_tx_rate: u32,
}

impl VfConfig {
    /// The configuration in a PF's VF table entry.
    pub(crate) fn from_info(info: &VfInfo) -> VfConfig {
        VfConfig {
            mac: info.mac,
            // The VF table's VLAN values were range-checked when decoded; a
            // protocol outside the two known ones is kept as reported.
            vlan: Vlan {
                id: info.vlan,
                qos: info.qos,
                proto: info.vlan_proto,
            },
            spoofchk: info.spoofchk,
            trust: info.trust,
            link_state: info.link_state,
            min_tx_rate: info.min_tx_rate,
            max_tx_rate: info.max_tx_rate,
        }
    }

    /// The settings that would bring a VF back to this configuration.
    /// Settings the driver does not report (spoof check, trust) are left
    /// out, as nothing is known to put back.
    pub fn to_settings(&self) -> VfSettings {
        VfSettings {
            mac: Some(self.mac),
            vlan: Some(self.vlan),
            spoofchk: self.spoofchk,
            trust: self.trust,
            link_state: Some(self.link_state),
            min_tx_rate: Some(self.min_tx_rate),
            max_tx_rate: Some(self.max_tx_rate),
        }
    }
}

/// PF-side settings to apply to a VF; `None` leaves a setting as it is.
///
/// ```
/// use netplumb_vf::{Vlan, VfSettings};
/// let settings = VfSettings {
///     vlan: Some(Vlan::tag(100).unwrap()),
///     trust: Some(true),
///     max_tx_rate: Some(500),
///     ..Default::default()
/// };
/// # let _ = settings;
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct VfSettings {
    /// Administrative MAC; all zeros removes it (where the driver allows).
    pub mac: Option<MacAddr>,
    /// VLAN, priority and protocol.
    pub vlan: Option<Vlan>,
    /// MAC spoof checking.
    pub spoofchk: Option<bool>,
    /// Trusted mode.
    pub trust: Option<bool>,
    /// Administrative link state.
    pub link_state: Option<VfLinkState>,
    /// Minimum TX rate in Mbit/s (0: none).
    pub min_tx_rate: Option<u32>,
    /// Maximum TX rate in Mbit/s (0: no limit).
    pub max_tx_rate: Option<u32>,
}

impl VfSettings {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        *self == VfSettings::default()
    }

    /// The attribute changes that take a VF from `current` to these
    /// settings, in the kernel's order, leaving out what already holds.
    /// Bad values are refused here, before anything is sent.
    pub(crate) fn changes_from(&self, current: &VfConfig) -> Result<Vec<VfAttr>, Error> {
        if let Some(mac) = self.mac {
            if mac.is_multicast() {
                return Err(invalid(
                    "mac",
                    mac,
                    "a unicast MAC (first octet even), or all zeros to remove it",
                ));
            }
        }
        if let Some(vlan) = self.vlan {
            // Re-check: a Vlan read back from a VF table may carry another
            // protocol, which no request can express.
            Vlan::new(vlan.id, vlan.qos, vlan.proto)?;
        }
        let min = self.min_tx_rate.unwrap_or(current.min_tx_rate);
        let max = self.max_tx_rate.unwrap_or(current.max_tx_rate);
        if max != 0 && min > max {
            return Err(invalid(
                "min_tx_rate",
                min,
                "at most max_tx_rate, unless max_tx_rate is 0 (no limit)",
            ));
        }
        let mut changes = Vec::new();
        if let Some(mac) = self.mac.filter(|m| *m != current.mac) {
            changes.push(VfAttr::Mac(mac));
        }
        if let Some(vlan) = self.vlan.filter(|v| *v != current.vlan) {
            changes.push(VfAttr::Vlan(vlan));
        }
        if (min, max) != (current.min_tx_rate, current.max_tx_rate) {
            changes.push(VfAttr::Rate { min, max });
        }
        if let Some(on) = self.spoofchk.filter(|on| current.spoofchk != Some(*on)) {
            changes.push(VfAttr::SpoofChk(on));
        }
        if let Some(state) = self.link_state.filter(|s| *s != current.link_state) {
            changes.push(VfAttr::LinkState(state));
        }
        if let Some(on) = self.trust.filter(|on| current.trust != Some(*on)) {
            changes.push(VfAttr::Trust(on));
        }
        Ok(changes)
    }

    /// The changes that put `changes` back to their values in `before`, and
    /// the attributes that cannot be put back because the driver did not
    /// report their value.
    pub(crate) fn reverting(
        changes: &[VfAttr],
        before: &VfConfig,
    ) -> (Vec<VfAttr>, Vec<VfAttribute>) {
        let undo = VfSettings::undoing(changes, before);
        let mut revert = Vec::new();
        let mut unknown = Vec::new();
        for change in changes {
            let back = match change {
                VfAttr::Mac(_) => undo.mac.map(VfAttr::Mac),
                VfAttr::Vlan(_) => undo.vlan.map(VfAttr::Vlan),
                VfAttr::Rate { .. } => Some(VfAttr::Rate {
                    min: before.min_tx_rate,
                    max: before.max_tx_rate,
                }),
                VfAttr::SpoofChk(_) => undo.spoofchk.map(VfAttr::SpoofChk),
                VfAttr::LinkState(_) => undo.link_state.map(VfAttr::LinkState),
                VfAttr::Trust(_) => undo.trust.map(VfAttr::Trust),
            };
            match back {
                Some(back) => revert.push(back),
                None => unknown.push(change.attribute()),
            }
        }
        (revert, unknown)
    }

    /// The settings that put `changes` back to their values in `before`.
    pub(crate) fn undoing(changes: &[VfAttr], before: &VfConfig) -> VfSettings {
        let mut undo = VfSettings::default();
        for change in changes {
            match change {
                VfAttr::Mac(_) => undo.mac = Some(before.mac),
                VfAttr::Vlan(_) => undo.vlan = Some(before.vlan),
                VfAttr::Rate { .. } => {
                    undo.min_tx_rate = Some(before.min_tx_rate);
                    undo.max_tx_rate = Some(before.max_tx_rate);
                }
                VfAttr::SpoofChk(_) => undo.spoofchk = before.spoofchk,
                VfAttr::LinkState(_) => undo.link_state = Some(before.link_state),
                VfAttr::Trust(_) => undo.trust = before.trust,
            }
        }
        undo
    }
}

/// One PF-side VF setting, as errors name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum VfAttribute {
    /// The administrative MAC (`IFLA_VF_MAC`).
    Mac,
    /// VLAN, priority and protocol (`IFLA_VF_VLAN_LIST`).
    Vlan,
    /// Minimum and maximum TX rate (`IFLA_VF_RATE`).
    TxRate,
    /// MAC spoof checking (`IFLA_VF_SPOOFCHK`).
    SpoofChk,
    /// Administrative link state (`IFLA_VF_LINK_STATE`).
    LinkState,
    /// Trusted mode (`IFLA_VF_TRUST`).
    Trust,
}

impl VfAttribute {
    /// The name `ip link set ... vf N` gives the setting.
    pub fn name(self) -> &'static str {
        match self {
            VfAttribute::Mac => "mac",
            VfAttribute::Vlan => "vlan",
            VfAttribute::TxRate => "tx_rate",
            VfAttribute::SpoofChk => "spoofchk",
            VfAttribute::LinkState => "link_state",
            VfAttribute::Trust => "trust",
        }
    }
}

impl fmt::Display for VfAttribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One attribute change, with its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VfAttr {
    Mac(MacAddr),
    Vlan(Vlan),
    Rate { min: u32, max: u32 },
    SpoofChk(bool),
    LinkState(VfLinkState),
    Trust(bool),
}

impl VfAttr {
    pub(crate) fn attribute(&self) -> VfAttribute {
        match self {
            VfAttr::Mac(_) => VfAttribute::Mac,
            VfAttr::Vlan(_) => VfAttribute::Vlan,
            VfAttr::Rate { .. } => VfAttribute::TxRate,
            VfAttr::SpoofChk(_) => VfAttribute::SpoofChk,
            VfAttr::LinkState(_) => VfAttribute::LinkState,
            VfAttr::Trust(_) => VfAttribute::Trust,
        }
    }

    /// The `IFLA_VF_*` attribute for VF `index`.
    fn to_netlink(self, index: u32) -> NlVfInfo {
        match self {
            VfAttr::Mac(mac) => NlVfInfo::Mac(VfInfoMac::new(index, &mac.octets())),
            VfAttr::Vlan(vlan) => {
                // The list form is the one that carries the protocol.
                let proto = match vlan.proto {
                    VlanProto::Dot1Ad => VlanProtocol::Ieee8021Ad,
                    // Vlan::new admits no other protocol.
                    _ => VlanProtocol::Ieee8021Q,
                };
                NlVfInfo::VlanList(vec![VfVlan::Info(VfVlanInfo::new(
                    index,
                    u32::from(vlan.id),
                    u32::from(vlan.qos),
                    proto,
                ))])
            }
            VfAttr::Rate { min, max } => NlVfInfo::Rate(VfInfoRate::new(index, min, max)),
            VfAttr::SpoofChk(on) => NlVfInfo::SpoofCheck(VfInfoSpoofCheck::new(index, on)),
            VfAttr::LinkState(state) => NlVfInfo::LinkState(VfInfoLinkState::new(
                index,
                NlVfLinkState::from(state.as_u32()),
            )),
            VfAttr::Trust(on) => NlVfInfo::Trust(VfInfoTrust::new(index, on)),
        }
    }
}

impl fmt::Display for VfAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on_off = |on: bool| if on { "on" } else { "off" };
        match self {
            VfAttr::Mac(mac) => write!(f, "mac {mac}"),
            VfAttr::Vlan(vlan) => write!(f, "vlan {vlan}"),
            VfAttr::Rate { min, max } => {
                write!(f, "min_tx_rate {min} max_tx_rate {max}")
            }
            VfAttr::SpoofChk(on) => write!(f, "spoofchk {}", on_off(*on)),
            VfAttr::LinkState(state) => write!(f, "link_state {state}"),
            VfAttr::Trust(on) => write!(f, "trust {}", on_off(*on)),
        }
    }
}

/// An `RTM_SETLINK` on the PF `pf` setting `attrs` on its VF `index`, all
/// in one `IFLA_VF_INFO`.
pub(crate) fn set_vf_request(
    pf: &LinkRef,
    index: u32,
    attrs: &[VfAttr],
) -> Result<RouteNetlinkMessage, netplumb_netns::Error> {
    let mut msg = netplumb_netns::raw::link_message(pf)?;
    let info = attrs.iter().map(|a| a.to_netlink(index)).collect();
    msg.attributes
        .push(LinkAttribute::VfInfoList(vec![LinkVfInfo(info)]));
    Ok(RouteNetlinkMessage::SetLink(msg))
}

/// Where VF attribute changes are sent: the PF, or a stand-in in tests.
pub(crate) trait VfSink {
    /// Sends `attrs` in one request.
    fn send(&self, attrs: &[VfAttr]) -> Result<(), netplumb_netns::Error>;
}

/// The kernel refused `attrs[index]`, and every attribute before it was
/// applied.
#[derive(Debug)]
pub(crate) struct Refused {
    pub index: usize,
    pub source: netplumb_netns::Error,
}

/// Applies `attrs`: in one request, or, when that is refused, one request
/// per attribute in the kernel's order, stopping at the first refused.
///
/// A refused combined request applied a prefix of `attrs` (the kernel's
/// order), which the single requests then apply again; applying a value
/// twice changes nothing, so on return exactly `attrs[..index]` of a
/// [`Refused`] are in effect.
pub(crate) fn apply(sink: &dyn VfSink, attrs: &[VfAttr]) -> Result<(), Refused> {
    let Err(source) = sink.send(attrs) else {
        return Ok(());
    };
    if attrs.len() == 1 {
        return Err(Refused { index: 0, source });
    }
    for (index, attr) in attrs.iter().enumerate() {
        sink.send(std::slice::from_ref(attr))
            .map_err(|source| Refused { index, source })?;
    }
    // Every attribute went through on its own: the combined request hit
    // something passing (or one the driver accepts only alone).
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_netns::raw::netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use proptest::prelude::*;
    use std::cell::RefCell;

    fn config() -> VfConfig {
        VfConfig {
            mac: MacAddr::default(),
            vlan: Vlan::NONE,
            spoofchk: Some(true),
            trust: Some(false),
            link_state: VfLinkState::Auto,
            min_tx_rate: 0,
            max_tx_rate: 0,
        }
    }

    /// Serialises `msg` as the kernel would receive it and parses it back.
    fn through_the_wire(msg: RouteNetlinkMessage) -> (Vec<u8>, RouteNetlinkMessage) {
        let mut message = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(msg));
        message.finalize();
        let mut bytes = vec![0; message.buffer_len()];
        message.serialize(&mut bytes);
        let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&bytes).unwrap();
        match parsed.payload {
            NetlinkPayload::InnerMessage(inner) => (bytes, inner),
            other => panic!("{other:?}"),
        }
    }

    fn vf_infos(msg: &RouteNetlinkMessage) -> Vec<NlVfInfo> {
        let RouteNetlinkMessage::SetLink(link) = msg else {
            panic!("{msg:?}")
        };
        let lists: Vec<_> = link
            .attributes
            .iter()
            .filter_map(|a| match a {
                LinkAttribute::VfInfoList(list) => Some(list.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(lists.len(), 1, "one IFLA_VFINFO_LIST");
        assert_eq!(lists[0].len(), 1, "one IFLA_VF_INFO");
        lists[0][0].0.clone()
    }

    #[test]
    fn every_setting_decodes_as_encoded() {
        let attrs = [
            VfAttr::Mac(MacAddr([2, 0, 0, 0, 0, 7])),
            VfAttr::Vlan(Vlan::new(100, 3, VlanProto::Dot1Ad).unwrap()),
            VfAttr::Rate { min: 10, max: 500 },
            VfAttr::SpoofChk(false),
            VfAttr::LinkState(VfLinkState::Disable),
            VfAttr::Trust(true),
        ];
        let req = set_vf_request(&LinkRef::from("eth0"), 5, &attrs).unwrap();
        let (bytes, decoded) = through_the_wire(req);
        assert_eq!(
            through_the_wire(decoded.clone()).0,
            bytes,
            "decodes to what was sent"
        );
        let RouteNetlinkMessage::SetLink(link) = &decoded else {
            unreachable!()
        };
        assert!(link
            .attributes
            .contains(&LinkAttribute::IfName("eth0".into())));
        let infos = vf_infos(&decoded);
        let mut mac = [0u8; 32];
        mac[..6].copy_from_slice(&[2, 0, 0, 0, 0, 7]);
        assert_eq!(
            infos,
            vec![
                NlVfInfo::Mac(VfInfoMac::new(5, &mac)),
                NlVfInfo::VlanList(vec![VfVlan::Info(VfVlanInfo::new(
                    5,
                    100,
                    3,
                    VlanProtocol::Ieee8021Ad
                ))]),
                NlVfInfo::Rate(VfInfoRate::new(5, 10, 500)),
                NlVfInfo::SpoofCheck(VfInfoSpoofCheck::new(5, false)),
                NlVfInfo::LinkState(VfInfoLinkState::new(5, NlVfLinkState::Disable)),
                NlVfInfo::Trust(VfInfoTrust::new(5, true)),
            ]
        );
    }

    #[test]
    fn vlan_protocol_goes_out_in_network_order() {
        let attrs = [VfAttr::Vlan(Vlan::new(7, 0, VlanProto::Dot1Ad).unwrap())];
        let (bytes, _) = through_the_wire(set_vf_request(&LinkRef::Index(2), 1, &attrs).unwrap());
        // IFLA_VF_VLAN_INFO: vf 1, vlan 7, qos 0, proto 0x88a8 big-endian.
        let mut info = Vec::new();
        for word in [1u32, 7, 0] {
            info.extend_from_slice(&word.to_ne_bytes());
        }
        info.extend_from_slice(&[0x88, 0xa8, 0, 0]);
        assert!(
            bytes.windows(info.len()).any(|w| w == info.as_slice()),
            "{bytes:02x?}"
        );
    }

    #[test]
    fn changes_leave_out_what_already_holds() {
        let current = VfConfig {
            max_tx_rate: 100,
            ..config()
        };
        let settings = VfSettings {
            spoofchk: Some(true),
            trust: Some(true),
            link_state: Some(VfLinkState::Auto),
            vlan: Some(Vlan::NONE),
            min_tx_rate: Some(0),
            ..Default::default()
        };
        assert_eq!(
            settings.changes_from(&current).unwrap(),
            [VfAttr::Trust(true)]
        );
        assert!(VfSettings::default()
            .changes_from(&current)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn one_rate_keeps_the_other() {
        let current = VfConfig {
            min_tx_rate: 10,
            max_tx_rate: 100,
            ..config()
        };
        let settings = VfSettings {
            max_tx_rate: Some(200),
            ..Default::default()
        };
        assert_eq!(
            settings.changes_from(&current).unwrap(),
            [VfAttr::Rate { min: 10, max: 200 }]
        );
    }

    #[test]
    fn bad_values_name_the_field() {
        for (settings, field) in [
            (
                VfSettings {
                    mac: Some(MacAddr([1, 0, 0x5e, 0, 0, 1])),
                    ..Default::default()
                },
                "mac",
            ),
            (
                VfSettings {
                    min_tx_rate: Some(300),
                    max_tx_rate: Some(200),
                    ..Default::default()
                },
                "min_tx_rate",
            ),
            (
                VfSettings {
                    vlan: Some(Vlan {
                        id: 1,
                        qos: 0,
                        proto: VlanProto::Other(0x9100),
                    }),
                    ..Default::default()
                },
                "vlan proto",
            ),
        ] {
            match settings.changes_from(&config()) {
                Err(Error::InvalidSetting { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{settings:?}: {other:?}"),
            }
        }
        let err = Vlan::new(5000, 0, VlanProto::Dot1Q).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid vlan 5000: expected a VLAN id from 0 (none) to 4095"
        );
        assert!(Vlan::new(1, 8, VlanProto::Dot1Q).is_err());
    }

    #[test]
    fn undo_restores_exactly_what_changed() {
        let before = VfConfig {
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            min_tx_rate: 0,
            max_tx_rate: 100,
            ..config()
        };
        let changes = [
            VfAttr::Mac(MacAddr([2, 0, 0, 0, 0, 9])),
            VfAttr::Rate { min: 0, max: 300 },
        ];
        let undo = VfSettings::undoing(&changes, &before);
        assert_eq!(
            undo,
            VfSettings {
                mac: Some(before.mac),
                min_tx_rate: Some(0),
                max_tx_rate: Some(100),
                ..Default::default()
            }
        );
        let after = VfConfig {
            mac: MacAddr([2, 0, 0, 0, 0, 9]),
            max_tx_rate: 300,
            ..before.clone()
        };
        let back: Vec<_> = undo.changes_from(&after).unwrap();
        assert_eq!(
            back,
            [VfAttr::Mac(before.mac), VfAttr::Rate { min: 0, max: 100 }]
        );
    }

    #[test]
    fn unreported_settings_are_not_undone() {
        let before = VfConfig {
            spoofchk: None,
            trust: None,
            ..config()
        };
        let undo = VfSettings::undoing(&[VfAttr::SpoofChk(false), VfAttr::Trust(true)], &before);
        assert!(undo.is_empty());
        assert_eq!(before.to_settings().spoofchk, None);
    }

    /// A driver that refuses some attributes: a combined request is applied
    /// in order up to the first refused one, as the kernel does.
    struct FakeDriver {
        refuses: Vec<VfAttribute>,
        applied: RefCell<Vec<VfAttr>>,
        requests: RefCell<Vec<Vec<VfAttr>>>,
    }

    impl FakeDriver {
        fn refusing(refuses: &[VfAttribute]) -> FakeDriver {
            FakeDriver {
                refuses: refuses.to_vec(),
                applied: RefCell::new(Vec::new()),
                requests: RefCell::new(Vec::new()),
            }
        }
    }

    impl VfSink for FakeDriver {
        fn send(&self, attrs: &[VfAttr]) -> Result<(), netplumb_netns::Error> {
            self.requests.borrow_mut().push(attrs.to_vec());
            for attr in attrs {
                if self.refuses.contains(&attr.attribute()) {
                    return Err(netplumb_netns::Error::Kernel {
                        op: "set VF settings".into(),
                        link: Some("eth0".into()),
                        errno: EOPNOTSUPP,
                        ext_ack: None,
                        attribute: None,
                    });
                }
                self.applied.borrow_mut().push(*attr);
            }
            Ok(())
        }
    }

    const EOPNOTSUPP: i32 = 95;

    fn all_attrs() -> Vec<VfAttr> {
        vec![
            VfAttr::Mac(MacAddr([2, 0, 0, 0, 0, 1])),
            VfAttr::Vlan(Vlan::tag(10).unwrap()),
            VfAttr::Rate { min: 0, max: 100 },
            VfAttr::SpoofChk(false),
            VfAttr::LinkState(VfLinkState::Enable),
            VfAttr::Trust(true),
        ]
    }

    #[test]
    fn accepted_settings_take_one_request() {
        let driver = FakeDriver::refusing(&[]);
        apply(&driver, &all_attrs()).unwrap();
        assert_eq!(driver.requests.borrow().len(), 1);
        assert_eq!(*driver.applied.borrow(), all_attrs());
    }

    #[test]
    fn a_refused_combined_request_falls_back_to_one_per_attribute() {
        let driver = FakeDriver::refusing(&[VfAttribute::LinkState]);
        let refused = apply(&driver, &all_attrs()).unwrap_err();
        assert_eq!(refused.index, 4);
        assert_eq!(
            refused.source.errno(),
            Some(nix::errno::Errno::from_raw(EOPNOTSUPP))
        );
        let requests = driver.requests.borrow();
        // Combined, then mac, vlan, rate, spoofchk, link_state alone.
        assert_eq!(requests.len(), 6);
        assert_eq!(requests[0], all_attrs());
        for (i, request) in requests[1..].iter().enumerate() {
            assert_eq!(request, &[all_attrs()[i]]);
        }
    }

    #[test]
    fn a_single_refused_attribute_is_not_sent_twice() {
        let driver = FakeDriver::refusing(&[VfAttribute::Vlan]);
        let attrs = [VfAttr::Vlan(Vlan::tag(1).unwrap())];
        assert_eq!(apply(&driver, &attrs).unwrap_err().index, 0);
        assert_eq!(driver.requests.borrow().len(), 1);
        assert!(apply(&driver, &[]).is_ok());
    }

    proptest! {
        /// Whatever the driver refuses, on return exactly the attributes
        /// before the refused one are in effect, and the error points at
        /// the first refused attribute.
        #[test]
        fn fallback_pins_the_first_refused_attribute(
            refused in proptest::sample::subsequence(
                vec![VfAttribute::Mac, VfAttribute::Vlan, VfAttribute::TxRate,
                     VfAttribute::SpoofChk, VfAttribute::LinkState, VfAttribute::Trust],
                0..=6),
            keep in proptest::sample::subsequence(all_attrs(), 1..=6),
        ) {
            let driver = FakeDriver::refusing(&refused);
            let first_refused = keep.iter().position(|a| refused.contains(&a.attribute()));
            match (apply(&driver, &keep), first_refused) {
                (Ok(()), None) => {}
                (Err(r), Some(i)) => prop_assert_eq!(r.index, i),
                (got, want) => prop_assert!(false, "got {:?}, want refusal at {:?}", got, want),
            }
            let mut effective: Vec<VfAttr> = Vec::new();
            for attr in driver.applied.borrow().iter() {
                if !effective.contains(attr) {
                    effective.push(*attr);
                }
            }
            let applied_prefix = &keep[..first_refused.unwrap_or(keep.len())];
            prop_assert_eq!(effective, applied_prefix.to_vec());
        }
    }
}
