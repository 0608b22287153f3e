//! The `sriov` plugin's configuration.

use std::ops::RangeInclusive;

use netplumb_types::{IfName, MacAddr, PciAddr, VfLinkState, VlanProto};
use serde_json::Value;

use crate::conf::NetConf;
use crate::env::CniArgs;
use crate::error::{json_bytes, Error};
use crate::json::{name_of, put, Kind, Obj};
use crate::names::check_text;
use crate::plugin_options::PluginOptions;

const VLAN: RangeInclusive<u64> = 0..=4094;
const QOS: RangeInclusive<u64> = 0..=7;
const RATE: RangeInclusive<u64> = 0..=u32::MAX as u64;

const ON_OFF: [(&str, bool); 2] = [("off", false), ("on", true)];

/// Which VF the plugin should use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VfSelector {
    /// A VF the device plugin allocated, by PCI address. `expected_pf` is the
    /// configured `master`, if any: the VF should belong to it.
    Device {
        /// The VF's PCI address.
        pci: PciAddr,
        /// The PF the config names with `master`, if it names one.
        expected_pf: Option<IfName>,
    },
    /// Any free VF of this PF (`master`), chosen by the plugin.
    FreeVfOf(IfName),
}

/// The `sriov` plugin's configuration: every field sriov-cni accepts, plus
/// PF selection by `master` and `dataDir`.
///
/// Parsing checks each rule and names the field at fault;
/// [`SriovConf::validate`] re-checks a value built or changed in code.
#[derive(Debug, Clone, PartialEq)]
pub struct SriovConf {
    /// The fields every plugin shares; unknown fields stay in `net.extra`.
    pub net: NetConf,
    /// `deviceID`: the VF's PCI address.
    pub device_id: Option<PciAddr>,
    /// `pciBusID`: the VF's PCI address as host-device names it; Multus
    /// injects it, with `deviceID`, into every plugin of a list whose
    /// network a device plugin serves.
    pub pci_bus_id: Option<PciAddr>,
    /// `master`: the PF to take a free VF from.
    pub master: Option<IfName>,
    /// `vlan`: port VLAN, 0-4094 (0 removes it).
    pub vlan: Option<u16>,
    /// `vlanQoS`: 802.1p priority, 0-7; needs `vlan`.
    pub vlan_qos: Option<u8>,
    /// `vlanProto`, `802.1q` or `802.1ad` in any case; needs `vlan`.
    pub vlan_proto: Option<VlanProto>,
    /// `mac`: the MAC address the VF should get.
    pub mac: Option<MacAddr>,
    /// `spoofchk`: `"on"` or `"off"` (JSON `true`/`false` too).
    ///
    /// Read in any case, since a user writing `"ON"` means on. sriov-cni
    /// compares case-sensitively and reads anything but `"on"` as off, so
    /// there `"ON"` silently turns spoof checking off; this crate
    /// deliberately differs, and refuses any other text (code 7) rather
    /// than guess.
    pub spoofchk: Option<bool>,
    /// `trust`: `"on"` or `"off"`, read as `spoofchk` is (and deliberately
    /// unlike sriov-cni, for the same reason).
    pub trust: Option<bool>,
    /// `link_state`: `auto`, `enable` or `disable`, in any case.
    pub link_state: Option<VfLinkState>,
    /// `min_tx_rate` in Mbps; 0 disables the limit.
    pub min_tx_rate: Option<u32>,
    /// `max_tx_rate` in Mbps; 0 disables the limit.
    pub max_tx_rate: Option<u32>,
    /// `logLevel`, `logFile` and `dataDir`.
    pub plugin: PluginOptions,
}

impl SriovConf {
    /// Parses and checks an `sriov` configuration.
    pub fn from_slice(bytes: &[u8]) -> Result<SriovConf, Error> {
        let mut o = Obj::parse(bytes, "network configuration", Kind::Config)?;
        let device_id = o.parsed("deviceID", str::parse::<PciAddr>)?;
        let pci_bus_id = o.parsed("pciBusID", str::parse::<PciAddr>)?;
        let master = o.parsed("master", str::parse::<IfName>)?;
        let vlan = o.number("vlan", VLAN)?.map(|n| n as u16);
        let vlan_qos = o.number("vlanQoS", QOS)?.map(|n| n as u8);
        let vlan_proto = o.parsed("vlanProto", str::parse::<VlanProto>)?;
        let mac = o.parsed("mac", str::parse::<MacAddr>)?;
        let spoofchk = on_off(&mut o, "spoofchk")?;
        let trust = on_off(&mut o, "trust")?;
        let link_state = o.parsed("link_state", str::parse::<VfLinkState>)?;
        let min_tx_rate = o.number("min_tx_rate", RATE)?.map(|n| n as u32);
        let max_tx_rate = o.number("max_tx_rate", RATE)?.map(|n| n as u32);
        let plugin = PluginOptions::read(&mut o)?;
        let conf = SriovConf {
            net: NetConf::from_obj(o)?,
            device_id,
            pci_bus_id,
            master,
            vlan,
            vlan_qos,
            vlan_proto,
            mac,
            spoofchk,
            trust,
            link_state,
            min_tx_rate,
            max_tx_rate,
            plugin,
        };
        conf.validate()?;
        Ok(conf)
    }

    /// Checks every rule that ties fields together, and the ranges of
    /// numeric fields: the same rules parsing applies.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &str, message: String| {
            Err(Error::InvalidConfig {
                field: field.into(),
                message,
            })
        };
        if let Some(master) = &self.master {
            check_text(master).or_else(|why| bad("master", why))?;
        }
        // Values a driver may report, but sriov-cni never sets.
        if let Some(VlanProto::Other(ethertype)) = self.vlan_proto {
            return bad(
                "vlanProto",
                format!(
                    "{ethertype:#06x} is not a protocol a VF takes, expected 802.1q or 802.1ad"
                ),
            );
        }
        if let Some(VfLinkState::Other(state)) = self.link_state {
            return bad(
                "link_state",
                format!("{state} is not a state a VF is set to, expected auto, enable or disable"),
            );
        }
        if let Some(v) = self.vlan.filter(|v| !VLAN.contains(&u64::from(*v))) {
            return bad("vlan", format!("{v} is out of range, expected 0-4094"));
        }
        if let Some(q) = self.vlan_qos.filter(|q| !QOS.contains(&u64::from(*q))) {
            return bad("vlanQoS", format!("{q} is out of range, expected 0-7"));
        }
        match self.vlan {
            None if self.vlan_qos.is_some() => {
                return bad(
                    "vlanQoS",
                    "is set without vlan, expected vlan to be set too".into(),
                )
            }
            None if self.vlan_proto.is_some() => {
                return bad(
                    "vlanProto",
                    "is set without vlan, expected vlan to be set too".into(),
                )
            }
            Some(0) if self.vlan_qos.is_some_and(|q| q != 0) => {
                return bad(
                    "vlanQoS",
                    "is non-zero while vlan is 0, expected a non-zero vlan".into(),
                )
            }
            Some(0) if self.vlan_proto == Some(VlanProto::Dot1Ad) => {
                return bad(
                    "vlanProto",
                    "is 802.1ad while vlan is 0, expected a non-zero vlan".into(),
                )
            }
            _ => {}
        }
        if let (Some(min), Some(max)) = (self.min_tx_rate, self.max_tx_rate) {
            if max != 0 && min > max {
                return bad(
                    "min_tx_rate",
                    format!("{min} is above max_tx_rate {max}, expected at most {max}"),
                );
            }
        }
        self.plugin.validate()?;
        self.net.check_ipam_is_not_itself()?;
        self.runtime_device_id().map(|_| ())
    }

    /// `runtimeConfig.deviceID`, read as a PCI address.
    fn runtime_device_id(&self) -> Result<Option<PciAddr>, Error> {
        let Some(text) = self
            .net
            .runtime_config
            .as_ref()
            .and_then(|rc| rc.device_id.as_deref())
        else {
            return Ok(None);
        };
        text.parse()
            .map(Some)
            .map_err(|why: netplumb_types::Error| Error::InvalidConfig {
                field: "runtimeConfig.deviceID".into(),
                message: why.to_string(),
            })
    }

    /// Which VF to use.
    ///
    /// `runtimeConfig.deviceID` (the device plugin's allocation, passed by
    /// the runtime for this invocation) wins over the config's `deviceID`,
    /// which wins over `pciBusID`, as runtime values win over static ones
    /// in sriov-cni; any of them wins over `master`, which then only names
    /// the PF the VF should belong to.
    pub fn vf_selector(&self) -> Result<VfSelector, Error> {
        let device = self
            .runtime_device_id()?
            .or(self.device_id)
            .or(self.pci_bus_id);
        match (device, &self.master) {
            (Some(pci), master) => Ok(VfSelector::Device {
                pci,
                expected_pf: *master,
            }),
            (None, Some(pf)) => Ok(VfSelector::FreeVfOf(*pf)),
            (None, None) => Err(Error::InvalidConfig {
                field: "deviceID".into(),
                message: "missing, expected the VF's PCI address in deviceID, \
                          pciBusID or runtimeConfig.deviceID, or the PF's name in master"
                    .into(),
            }),
        }
    }

    /// The MAC address the VF should get: `runtimeConfig.mac` wins over a
    /// `MAC` in `CNI_ARGS`, which wins over `mac`, as in sriov-cni.
    pub fn effective_mac(&self, args: &CniArgs) -> Result<Option<MacAddr>, Error> {
        if let Some(mac) = self.net.runtime_config.as_ref().and_then(|rc| rc.mac) {
            return Ok(Some(mac));
        }
        if let Some(text) = args.get("MAC") {
            return text
                .parse()
                .map(Some)
                .map_err(|why: netplumb_types::Error| Error::InvalidEnv {
                    var: "CNI_ARGS",
                    message: format!("MAC: {why}"),
                });
        }
        Ok(self.mac)
    }

    /// The configuration as a JSON object, in canonical form.
    pub fn to_json(&self) -> Value {
        let mut map = self.net.to_map();
        put(&mut map, "deviceID", self.device_id.map(|d| d.to_string()));
        put(&mut map, "pciBusID", self.pci_bus_id.map(|d| d.to_string()));
        put(
            &mut map,
            "master",
            self.master.as_ref().map(|m| m.to_string()),
        );
        put(&mut map, "vlan", self.vlan);
        put(&mut map, "vlanQoS", self.vlan_qos);
        put(&mut map, "vlanProto", self.vlan_proto.map(vlan_proto_name));
        put(&mut map, "mac", self.mac.map(|m| m.to_string()));
        put(
            &mut map,
            "spoofchk",
            self.spoofchk.map(|b| name_of(&ON_OFF, b)),
        );
        put(&mut map, "trust", self.trust.map(|b| name_of(&ON_OFF, b)));
        put(
            &mut map,
            "link_state",
            self.link_state.map(|s| s.to_string()),
        );
        put(&mut map, "min_tx_rate", self.min_tx_rate);
        put(&mut map, "max_tx_rate", self.max_tx_rate);
        self.plugin.write(&mut map);
        Value::Object(map)
    }

    /// The configuration as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }
}

/// `vlanProto` as sriov-cni names it: lowercase.
fn vlan_proto_name(proto: VlanProto) -> String {
    match proto {
        VlanProto::Dot1Q => "802.1q".into(),
        VlanProto::Dot1Ad => "802.1ad".into(),
        other => other.to_string(),
    }
}

/// `"on"`/`"off"` as sriov-cni writes it; JSON `true`/`false` too.
fn on_off(o: &mut Obj, key: &str) -> Result<Option<bool>, Error> {
    o.bool_or_keyword(key, &ON_OFF)
}
