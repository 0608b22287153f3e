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
