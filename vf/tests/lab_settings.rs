//! PF-side VF settings and VF counts against the lab's emulated igb
//! (82576). Run them with `cargo xtask lab`.

mod common;

use common::{assert_as_before, host, lab_pfs, lab_vf, lab_vm_nic, wait_for_vf_netdevs, Restore};
use netplumb_netns::MacAddr;
use netplumb_vf::{Error, VfAttribute, VfLinkState, VfSettings, Vlan, VlanProto};

const MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);

#[test]
#[ignore = "lab"]
fn lab_every_setting_igb_takes_applies_in_one_request_and_reads_back() {
    let host = host();
    let vf = lab_vf(&host, 0, 1);
    let guard = Restore::new(&host, &vf);
    let before = guard.state.config.clone().unwrap();
    let settings = VfSettings {
        mac: Some(MAC),
        vlan: Some(Vlan::new(100, 3, VlanProto::Dot1Q).unwrap()),
        spoofchk: Some(false),
        trust: Some(true),
        min_tx_rate: Some(0),
        max_tx_rate: Some(100),
        ..Default::default()
    };
    let trips = host.netlink().round_trips();
    let undo = host.configure(&vf.id(), &settings).unwrap();
    let used = host.netlink().round_trips() - trips;
    eprintln!("configure: {used} round trips (read the VF table, one request)");
    assert_eq!(used, 2);

    let after = host.vf_config(&vf.id()).unwrap();
    assert_eq!(after.mac, MAC);
    assert_eq!(after.vlan, settings.vlan.unwrap());
    assert_eq!(after.spoofchk, Some(false));
    assert_eq!(after.trust, Some(true));
    assert_eq!((after.min_tx_rate, after.max_tx_rate), (0, 100));
    assert_eq!(after.link_state, before.link_state);

    // Applying the same settings again sends nothing but the read.
    let trips = host.netlink().round_trips();
    assert!(host.configure(&vf.id(), &settings).unwrap().is_empty());
    assert_eq!(host.netlink().round_trips() - trips, 1);

    undo.undo(&host).unwrap();
    assert_eq!(host.vf_config(&vf.id()).unwrap(), before);
}

#[test]
#[ignore = "lab"]
fn lab_refused_link_state_is_named_and_nothing_stays_applied() {
    let host = host();
    let vf = lab_vf(&host, 0, 2);
    let guard = Restore::new(&host, &vf);
    let before = guard.state.config.clone().unwrap();
    let settings = VfSettings {
        mac: Some(MAC),
        vlan: Some(Vlan::tag(7).unwrap()),
        spoofchk: Some(false),
        link_state: Some(VfLinkState::Enable),
        trust: Some(true),
        ..Default::default()
    };
    let err = host.configure(&vf.id(), &settings).unwrap_err();
    eprintln!("{err}");
    let Error::VfSetting {
        vf: id,
        attribute,
        source,
        not_restored,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(*attribute, VfAttribute::LinkState);
    assert_eq!(id, &vf.id());
    assert_eq!(source.errno(), Some(nix::errno::Errno::EOPNOTSUPP));
    assert!(not_restored.is_empty(), "{err}");
    let text = err.to_string();
    assert!(text.contains("link_state"), "{text}");
    assert!(text.contains(&vf.addr.to_string()), "{text}");
    assert_eq!(host.vf_config(&vf.id()).unwrap(), before);
}

#[test]
#[ignore = "lab"]
fn lab_refused_vlan_protocol_and_min_rate_leave_the_vf_as_it_was() {
    let host = host();
    let vf = lab_vf(&host, 0, 3);
    let guard = Restore::new(&host, &vf);
    let before = guard.state.config.clone().unwrap();
    for (settings, attribute) in [
        (
            // igb tags with 802.1Q only.
            VfSettings {
                mac: Some(MAC),
                vlan: Some(Vlan::new(100, 0, VlanProto::Dot1Ad).unwrap()),
                trust: Some(true),
                ..Default::default()
            },
            VfAttribute::Vlan,
        ),
        (
            // igb has no minimum rate.
            VfSettings {
                vlan: Some(Vlan::tag(9).unwrap()),
                min_tx_rate: Some(10),
                max_tx_rate: Some(100),
                ..Default::default()
            },
            VfAttribute::TxRate,
        ),
    ] {
        match host.configure(&vf.id(), &settings) {
            Err(Error::VfSetting {
                attribute: got,
                not_restored,
                ..
            }) => {
                assert_eq!(got, attribute);
                assert!(not_restored.is_empty());
            }
            other => panic!("{settings:?}: {other:?}"),
        }
        assert_eq!(host.vf_config(&vf.id()).unwrap(), before);
    }
}

#[test]
#[ignore = "lab"]
fn lab_vm_nic_has_no_pf_side_settings() {
    let host = host();
    let vf = host.sysfs().vf_by_netdev(&lab_vm_nic()).unwrap();
    let state = host.snapshot(&vf).unwrap();
    assert_eq!(state.config, None);
    assert!(host.configure(&vf.id(), &VfSettings::default()).is_ok());
    let err = host
        .configure(
            &vf.id(),
            &VfSettings {
                trust: Some(true),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::NoPf { .. }), "{err}");
    assert!(err.to_string().contains("no visible PF"), "{err}");
    assert!(matches!(host.vf_config(&vf.id()), Err(Error::NoPf { .. })));
}

#[test]
#[ignore = "lab"]
fn lab_num_vfs_goes_7_3_7_and_sysfs_and_netlink_agree() {
    let host = host();
    let pf = &lab_pfs()[1];
    let sysfs = host.sysfs();
    let before: Vec<_> = (0..7)
        .map(|i| host.snapshot(&lab_vf(&host, 1, i)).unwrap())
        .collect();
    /// Puts the PF back at 7 VFs, each restored as recorded (the new
    /// netdevs get the old names, MACs and settings), even on failure.
    struct Back<'a>(&'a netplumb_vf::Host, &'a [netplumb_vf::VfState]);
    impl Drop for Back<'_> {
        fn drop(&mut self) {
            let pf = &lab_pfs()[1];
            if let Err(e) = self.0.sysfs().set_num_vfs(pf, 7) {
                eprintln!("putting {pf} back at 7 VFs: {e}");
            }
            wait_for_vf_netdevs(self.0.sysfs(), pf, 7);
            for state in self.1 {
                if let Err(e) = self.0.restore(state) {
                    eprintln!("restoring {}: {e}", state.vf);
                }
            }
        }
    }
    let back = Back(&host, &before);

    for count in [3u32, 7] {
        let change = sysfs.set_num_vfs(pf, count).unwrap();
        assert_eq!(change.to, count);
        assert_eq!(
            wait_for_vf_netdevs(sysfs, pf, count as usize),
            count as usize,
            "{pf}: VF netdevs after 30 s"
        );
        let nic = sysfs.pf(pf).unwrap();
        let link = host.netlink().link(pf).unwrap();
        assert_eq!(nic.num_vfs, count);
        assert_eq!(link.num_vfs, Some(count));
        assert_eq!(link.vfs.len(), count as usize);
        for (vf, info) in nic.vfs.iter().zip(&link.vfs) {
            assert_eq!(vf.index(), Some(info.index));
        }
    }
    drop(back);
    for state in &before {
        assert_as_before(&host, state);
    }
}
