//! Lab tests: need the emulated SR-IOV NIC, run through `cargo xtask lab`.

use netplumb_netns::{NetNs, VfLinkState, VlanProto};

/// The PF netdev names the lab runner exports, in PCI order.
fn lab_pfs() -> Vec<String> {
    assert_eq!(
        std::env::var("NETPLUMB_LAB").as_deref(),
        Ok("1"),
        "this is a lab test: run it through `cargo xtask lab`"
    );
    let pfs = std::env::var("NETPLUMB_LAB_PFS").expect("the lab runner sets NETPLUMB_LAB_PFS");
    pfs.split(',').map(str::to_string).collect()
}

#[test]
#[ignore = "lab"]
fn lab_vf_table_is_read_without_truncation() {
    let pfs = lab_pfs();
    let nl = NetNs::current().unwrap().netlink().unwrap();
    for pf in &pfs {
        let link = nl.link(pf.as_str()).unwrap();
        assert_eq!(link.num_vfs, Some(7), "{pf}: {link:?}");
        assert_eq!(
            link.vfs.len(),
            7,
            "{pf}: every VF entry is read: {:?}",
            link.vfs
        );
        for (i, vf) in link.vfs.iter().enumerate() {
            assert_eq!(vf.index, i as u32, "{pf}: {vf:?}");
            assert_eq!(vf.vlan, 0, "{pf}: {vf:?}");
            assert_eq!(vf.qos, 0, "{pf}: {vf:?}");
            assert_eq!(vf.vlan_proto, VlanProto::Dot1Q, "{pf}: {vf:?}");
            // igb reports spoof checking (on by default) and trust (off).
            assert_eq!(vf.spoofchk, Some(true), "{pf}: {vf:?}");
            assert_eq!(vf.trust, Some(false), "{pf}: {vf:?}");
            assert_eq!(vf.link_state, VfLinkState::Auto, "{pf}: {vf:?}");
            assert_eq!(vf.min_tx_rate, 0, "{pf}: {vf:?}");
            assert!(!vf.mac.is_multicast(), "{pf}: {vf:?}");
        }
        // The same table through the VF-only accessor and through a dump.
        assert_eq!(nl.vfs(link.index).unwrap(), link.vfs);
        let dumped = nl.links().unwrap();
        let in_dump = dumped.iter().find(|l| l.index == link.index).unwrap();
        assert_eq!(
            in_dump.vfs, link.vfs,
            "{pf}: the dump carries the same table"
        );
    }
}

#[test]
#[ignore = "lab"]
fn lab_the_driver_names_the_device_a_link_sits_on() {
    // What a kernel before 5.16, which reports no parent device, is asked
    // instead: every PCI netdev's driver (igb, igbvf, e1000e) gives ethtool
    // the PCI address sysfs shows it on (and rtnetlink too, where it can).
    let pfs = lab_pfs();
    let nl = NetNs::current().unwrap().netlink().unwrap();
    let mut asked = 0;
    for link in nl.links().unwrap() {
        let device = std::path::Path::new("/sys/class/net")
            .join(link.name.to_string())
            .join("device");
        let Ok(target) = std::fs::read_link(&device) else {
            continue;
        };
        let in_sysfs = target.file_name().unwrap().to_string_lossy().into_owned();
        if link.parent_device.is_some() {
            assert_eq!(link.parent_device.as_deref(), Some(in_sysfs.as_str()));
        }
        let mut old_kernel = link.clone();
        old_kernel.parent_device = None;
        old_kernel.parent_bus = None;
        assert_eq!(
            nl.device_of(&old_kernel).unwrap(),
            Some(in_sysfs),
            "{}",
            link.name
        );
        asked += 1;
    }
    // Both PFs and the VM's own NIC at least.
    assert!(asked > pfs.len(), "only {asked} PCI netdevs");
}
