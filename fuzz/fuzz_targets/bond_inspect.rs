//! A bond read back from the kernel's link dump (`netplumb_bond::inspect`),
//! the dump played by netns's fake kernel (see `script` for the input's
//! layout; the operation bits pick the name asked for, mostly `bond0`).
//! The same dump is read with `Netlink::links` too, and `inspect` must
//! agree with it as documented: it fails to look the links up exactly when
//! the dump fails, says there is no such bond exactly when no link has the
//! name, says it is not a bond exactly when that link's kind is not
//! `bond`, and otherwise reports that link, its options as the kernel's
//! numbers say (the kernel's defaults where it said nothing), the links
//! whose controller it is as its ports, in dump order, and names for the
//! primary and active ports that belong to the links at those indexes.
#![no_main]

mod script;

use libfuzzer_sys::fuzz_target;
use netplumb_bond::{
    inspect, BondInfo, Error, FailOverMac, IfName, LinkInfo, MiiStatus, PortState, XmitHashPolicy,
};
use netplumb_netns::testing::Request::DumpLinks;
use script::{check_error, check_link, Input};

const NAMES: [&str; 8] = ["bond0", "bond0", "bond0", "bond0", "p0", "p1", "br0", "lo"];

fn check_info(info: &BondInfo, links: &[LinkInfo]) {
    let data = info.link.bond.as_ref().expect("a bond has IFLA_INFO_DATA");
    assert_eq!(info.link.kind.as_deref(), Some("bond"));
    assert_eq!(Some(info.mode.number()), data.mode);
    assert_eq!(info.miimon, data.miimon.unwrap_or(0));
    assert_eq!(info.updelay, data.updelay.unwrap_or(0));
    assert_eq!(info.downdelay, data.downdelay.unwrap_or(0));
    assert_eq!(
        info.fail_over_mac.number(),
        data.fail_over_mac.unwrap_or(FailOverMac::None.number())
    );
    assert_eq!(
        info.xmit_hash_policy.number(),
        data.xmit_hash_policy
            .unwrap_or(XmitHashPolicy::Layer2.number())
    );
    assert_eq!(
        info.all_slaves_active,
        data.all_slaves_active.unwrap_or(0) != 0
    );
    assert_eq!(info.tlb_dynamic_lb, data.tlb_dynamic_lb.unwrap_or(1) != 0);
    let name_at = |index: Option<u32>| {
        index.map(|i| {
            links
                .iter()
                .find(|l| l.index == i)
                .expect("a named port's index is a link's")
                .name
        })
    };
    assert_eq!(info.primary, name_at(data.primary));
    assert_eq!(info.active_port, name_at(data.active_port));
    let ports: Vec<&LinkInfo> = links
        .iter()
        .filter(|l| l.controller == Some(info.link.index))
        .collect();
    assert_eq!(info.ports.len(), ports.len());
    for (port, link) in info.ports.iter().zip(ports) {
        assert_eq!(&port.link, link);
        let data = link.bond_port.as_ref().expect("a port has bond port data");
        assert_eq!(port.state, data.state.map(PortState::from));
        assert_eq!(port.mii_status, data.mii_status.map(MiiStatus::from));
        assert_eq!(
            port.link_failure_count,
            data.link_failure_count.unwrap_or(0)
        );
        assert_eq!(port.permanent_mac, data.permanent_mac);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::new(data) else {
        return;
    };
    let bond: IfName = NAMES[usize::from(input.op)].parse().expect("a valid name");
    let links = input.kernel(&[DumpLinks]).netlink().links();
    let inspected = inspect(&input.kernel(&[DumpLinks]).netlink(), &bond);
    let links = match (links, inspected) {
        (Err(e), Err(Error::LookUp { source, .. })) => {
            assert_eq!(source.to_string(), e.to_string());
            check_error(&source);
            return;
        }
        (Err(e), other) => panic!("the dump failed with {e:?}, but inspect gave {other:?}"),
        (Ok(links), Ok(info)) => {
            let found = links.iter().find(|l| l.name == bond);
            assert_eq!(found, Some(&info.link), "the first link of that name");
            check_info(&info, &links);
            links
        }
        (Ok(links), Err(e)) => {
            let found = links.iter().find(|l| l.name == bond);
            match &e {
                Error::NoSuchBond { .. } => assert!(found.is_none()),
                Error::NotABond { kind, .. } => {
                    let found = found.expect("a link of that name");
                    assert_ne!(found.kind.as_deref(), Some("bond"));
                    assert_eq!(kind, &found.kind);
                }
                Error::Decode { .. } => {
                    assert_eq!(found.and_then(|l| l.kind.as_deref()), Some("bond"));
                }
                other => panic!("not an error a dump can cause: {other:?}"),
            }
            let _ = (e.kind(), netplumb_types::Chain(&e).to_string());
            links
        }
    };
    links.iter().for_each(check_link);
});
