//! Plugin configurations as the kernel crates take them.

use netplumb_bond::BondConfig;
use netplumb_cniconf::{BondConf, SriovConf};
use netplumb_types::{IfName, VlanProto};
use netplumb_vf::{VfSettings, Vlan};

/// The PF-side settings an `sriov` configuration asks for: VLAN (with its
/// priority and protocol), spoof check, trust, link state and TX rates.
/// What the configuration leaves out stays as it is.
///
/// The MAC is not among them: it goes to the VF's netdev and to its PF
/// together, when the VF is attached, and which one applies (the
/// configuration's, `CNI_ARGS`' or the runtime's) is
/// [`SriovConf::effective_mac`]'s to say.
///
/// Fails only for a VLAN the configuration reader would have refused (one
/// built or changed in code).
pub fn vf_settings(conf: &SriovConf) -> Result<VfSettings, netplumb_vf::Error> {
    let vlan = conf
        .vlan
        .map(|id| {
            Vlan::new(
                id,
                conf.vlan_qos.unwrap_or(0),
                conf.vlan_proto.unwrap_or(VlanProto::Dot1Q),
            )
        })
        .transpose()?;
    Ok(VfSettings {
        vlan,
        spoofchk: conf.spoofchk,
        trust: conf.trust,
        link_state: conf.link_state,
        min_tx_rate: conf.min_tx_rate,
        max_tx_rate: conf.max_tx_rate,
        ..VfSettings::default()
    })
}

/// The bond a `bond` configuration asks for: named by its `ifname`, else
/// `cni_ifname` (the runtime's `CNI_IFNAME`), with its mode, options and
/// MTU.
pub fn bond_config(conf: &BondConf, cni_ifname: IfName) -> BondConfig {
    let mut config =
        BondConfig::with_options(conf.ifname.unwrap_or(cni_ifname), conf.options.clone());
    config.mtu = conf.mtu;
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_types::{BondMode, FailOverMac, VfLinkState};

    #[test]
    fn every_pf_side_setting_of_an_sriov_config_is_carried() {
        let conf = SriovConf::from_slice(
            br#"{
                "cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov",
                "deviceID": "0000:01:10.2", "vlan": 100, "vlanQoS": 3, "vlanProto": "802.1ad",
                "mac": "02:00:5e:10:00:21", "spoofchk": "off", "trust": "on",
                "link_state": "enable", "min_tx_rate": 10, "max_tx_rate": 500
            }"#,
        )
        .unwrap();
        let settings = vf_settings(&conf).unwrap();
        assert_eq!(
            settings,
            VfSettings {
                vlan: Some(Vlan::new(100, 3, VlanProto::Dot1Ad).unwrap()),
                spoofchk: Some(false),
                trust: Some(true),
                link_state: Some(VfLinkState::Enable),
                min_tx_rate: Some(10),
                max_tx_rate: Some(500),
                ..VfSettings::default()
            }
        );
        assert_eq!(settings.mac, None, "the MAC goes with the attach");
    }

    #[test]
    fn a_config_without_settings_changes_nothing() {
        let conf = SriovConf::from_slice(
            br#"{"cniVersion": "1.0.0", "name": "n", "type": "sriov", "master": "enp1s0f0"}"#,
        )
        .unwrap();
        assert!(vf_settings(&conf).unwrap().is_empty());
        let untagged = SriovConf::from_slice(
            br#"{"cniVersion": "1.0.0", "name": "n", "type": "sriov", "master": "p0", "vlan": 0}"#,
        )
        .unwrap();
        assert_eq!(vf_settings(&untagged).unwrap().vlan, Some(Vlan::NONE));
    }

    #[test]
    fn a_bond_config_becomes_the_bond_with_its_options() {
        // Seed 004's configuration.
        let conf = BondConf::from_slice(
            br#"{
                "type": "bond", "cniVersion": "0.3.1", "name": "bond-net1",
                "mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
                "miimon": "100", "mtu": 1500,
                "links": [{"name": "net1"}, {"name": "net2"}],
                "ipam": {"type": "static", "addresses": [{"address": "192.0.2.10/24"}]}
            }"#,
        )
        .unwrap();
        let bond0: IfName = "bond0".parse().unwrap();
        let config = bond_config(&conf, bond0);
        assert_eq!(config.name, bond0);
        assert_eq!(config.options.mode, BondMode::ActiveBackup);
        assert_eq!(config.options.miimon, Some(100));
        assert_eq!(config.options.fail_over_mac, Some(FailOverMac::Active));
        assert_eq!(config.mtu, Some(1500));
        assert_eq!(config.options, conf.options);

        let named = BondConf {
            ifname: Some("bond7".parse().unwrap()),
            ..conf
        };
        assert_eq!(bond_config(&named, bond0).name, "bond7");
    }
}
