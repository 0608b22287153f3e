//! Moving VF netdevs into pods and back, against the lab's real kernel.
//! Run them with `cargo xtask lab`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{assert_as_before, host, lab_vf, lab_vm_nic, unique, Pod, Restore};
use netplumb_netns::{Alias, IfName, MacAddr};
use netplumb_vf::{AttachSpec, Host, Returned, VfSettings, HOST_NAME_ALIAS_PREFIX};

const POD_MAC: MacAddr = MacAddr([0x02, 0x00, 0x5e, 0x10, 0x00, 0x21]);

/// Checks that the VF's netdev sits in `pod` as `spec` asked.
fn assert_in_pod(pod: &Pod, spec: &AttachSpec, host_name: &IfName) {
    let link = pod.ns().netlink().unwrap().link(spec.name).unwrap();
    assert!(link.is_up());
    assert_eq!(link.mac, spec.mac.or(link.mac));
    if let Some(mtu) = spec.mtu {
        assert_eq!(link.mtu, mtu);
    }
    assert_eq!(link.alias, Some(remembering(host_name)));
}

/// The alias a netdev carries while a pod has it.
fn remembering(host_name: &IfName) -> Alias {
    Alias::new(format!("{HOST_NAME_ALIAS_PREFIX}{host_name}")).unwrap()
}

/// Round one meets a VF fresh from boot, whose mailbox to the PF is not
/// up yet (the lab creates VFs while the PF is down), so the PF sees none
/// of the VF's own MAC changes; from round two on the PF checks them, as
/// it does for VFs created under a running PF.
#[test]
#[ignore = "lab"]
fn lab_move_in_and_back_leaves_the_vf_as_it_was() {
    let host = host();
    let pod = Pod::new("va");
    let vf = lab_vf(&host, 0, 4);
    let mut guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    let host_name = before.netdev.as_ref().unwrap().name;
    let with_mac = AttachSpec::new("net1".parse().unwrap())
        .mac(POD_MAC)
        .mtu(9000);
    let without_mac = AttachSpec::new("net2".parse().unwrap()).mtu(1400);
    for (round, spec, trips_wanted) in [(1, &with_mac, 2), (2, &with_mac, 2), (3, &without_mac, 1)]
    {
        let trips = host.netlink().round_trips();
        let undo = host.attach(&before, pod.ns(), spec).unwrap();
        let used = host.netlink().round_trips() - trips;
        guard.attached = Some(undo.clone());
        eprintln!(
            "round {round}: attach with{} MAC, with MTU and up: {used} round trips",
            if spec.mac.is_some() { "" } else { "out" }
        );
        assert_eq!(used, trips_wanted, "round {round}");

        assert_in_pod(&pod, spec, &host_name);
        assert!(host
            .netlink()
            .link(host_name)
            .unwrap_err()
            .is_no_such_link());
        if spec.mac.is_some() {
            let config = host.vf_config(&vf.id()).unwrap();
            assert_eq!(config.mac, POD_MAC, "admin MAC set through the PF");
        }

        let returned = host.detach(&undo).unwrap();
        guard.attached = None;
        assert_eq!(returned, Returned::AsBefore, "round {round}");
        assert_as_before(&host, &before);
        // Detaching again finds it home and changes nothing.
        assert_eq!(host.detach(&undo).unwrap(), Returned::AsBefore);
        assert_as_before(&host, &before);
    }
}

#[test]
#[ignore = "lab"]
fn lab_move_back_when_the_name_was_taken_then_freed() {
    let host = host();
    let pod = Pod::new("vb");
    let vf = lab_vf(&host, 0, 5);
    let mut guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    let host_name = before.netdev.as_ref().unwrap().name;
    let spec = AttachSpec::new("net1".parse().unwrap()).mac(POD_MAC);
    let undo = host.attach(&before, pod.ns(), &spec).unwrap();
    guard.attached = Some(undo.clone());

    // Something else takes the name while the pod has the VF.
    let peer: IfName = unique("tk").parse().unwrap();
    host.netlink().add_veth(&host_name, &peer, None).unwrap();
    struct Veth<'a>(&'a Host, IfName);
    impl Drop for Veth<'_> {
        fn drop(&mut self) {
            let _ = self.0.netlink().delete_link(self.1);
        }
    }
    let squatter = Veth(&host, peer);

    let returned = host.detach(&undo).unwrap();
    let Returned::NameTaken { wanted, got } = &returned else {
        panic!("{returned:?}")
    };
    assert_eq!(wanted, &host_name);
    let link = host.netlink().link(got).unwrap();
    let netdev = before.netdev.as_ref().unwrap();
    assert_eq!(link.mac, Some(netdev.mac));
    assert_eq!(link.mtu, netdev.mtu);
    assert_eq!(link.is_up(), netdev.up);
    assert_eq!(link.alias.unwrap(), remembering(&host_name));
    assert_eq!(
        host.vf_config(&vf.id()).unwrap(),
        before.config.clone().unwrap()
    );

    // Once the name is free again, detaching again takes it back.
    drop(squatter);
    assert_eq!(host.detach(&undo).unwrap(), Returned::AsBefore);
    guard.attached = None;
    assert_as_before(&host, &before);
}

#[test]
#[ignore = "lab"]
fn lab_move_back_after_the_namespace_was_deleted() {
    let host = host();
    let mut pod = Pod::new("vc");
    let vf = lab_vf(&host, 0, 6);
    let mut guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    let spec = AttachSpec::new("net1".parse().unwrap())
        .mac(POD_MAC)
        .mtu(1400);
    let undo = host.attach(&before, pod.ns(), &spec).unwrap();
    guard.attached = Some(undo.clone());

    // The pod ends without a DEL: the kernel hands the VF back itself.
    pod.delete();
    let returned = host.detach(&undo).unwrap();
    guard.attached = None;
    assert_eq!(returned, Returned::AsBefore);
    assert_as_before(&host, &before);
}

#[test]
#[ignore = "lab"]
fn lab_vm_nic_moves_without_pf_side_settings() {
    let host = host();
    let pod = Pod::new("vd");
    let vf = host.sysfs().vf_by_netdev(&lab_vm_nic()).unwrap();
    let mut guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    assert_eq!(before.config, None);
    let spec = AttachSpec::new("net1".parse().unwrap())
        .mac(POD_MAC)
        .mtu(1400);
    let undo = host.attach(&before, pod.ns(), &spec).unwrap();
    guard.attached = Some(undo.clone());
    assert_eq!(undo.pf_side, VfSettings::default(), "no PF to put back");
    assert_in_pod(&pod, &spec, &before.netdev.as_ref().unwrap().name);
    assert_eq!(host.detach(&undo).unwrap(), Returned::AsBefore);
    guard.attached = None;
    assert_as_before(&host, &before);
}

#[test]
#[ignore = "lab"]
fn lab_a_refused_mtu_brings_the_vf_back() {
    let host = host();
    let pod = Pod::new("ve");
    let vf = lab_vf(&host, 1, 0);
    let guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    // igbvf's largest MTU is 9216; the kernel refuses more after the move.
    let spec = AttachSpec::new("net1".parse().unwrap())
        .mac(POD_MAC)
        .mtu(20_000);
    let err = host.attach(&before, pod.ns(), &spec).unwrap_err();
    // The kernel's refusal, naming the MTU, is the error's source.
    let chain = netplumb_vf::types::Chain(&err).to_string();
    eprintln!("{chain}");
    assert!(chain.contains("mtu"), "{chain}");
    assert!(matches!(err, netplumb_vf::Error::Kernel { .. }), "{err:?}");
    assert_as_before(&host, &before);
}

/// Polls `check` for up to 20 s: carrier and the first ARP take a while
/// under emulation.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn pings(ns: &str, addr: &str) -> bool {
    Command::new("/usr/sbin/ip")
        .args(["netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
#[ignore = "lab"]
fn lab_vf_in_a_pod_reaches_a_vf_of_the_other_pf() {
    let host = host();
    let (pod_a, pod_b) = (Pod::new("pa"), Pod::new("pb"));
    let (vf_a, vf_b) = (lab_vf(&host, 0, 0), lab_vf(&host, 1, 1));
    let mut guard_a = Restore::new(&host, &vf_a);
    let mut guard_b = Restore::new(&host, &vf_b);
    for (guard, pod, last, addr) in [
        (&mut guard_a, &pod_a, 0x31, "192.0.2.1/24"),
        (&mut guard_b, &pod_b, 0x32, "192.0.2.2/24"),
    ] {
        let spec =
            AttachSpec::new("net1".parse().unwrap()).mac(MacAddr([2, 0, 0x5e, 0x10, 0, last]));
        guard.attached = Some(host.attach(&guard.state.clone(), pod.ns(), &spec).unwrap());
        let netlink = pod.ns().netlink().unwrap();
        netlink.add_address("net1", addr.parse().unwrap()).unwrap();
        wait_for(&format!("carrier on net1 in {}", pod.name), || {
            netlink.link("net1").unwrap().is_lower_up()
        });
    }
    wait_for(&format!("a ping from {} to 192.0.2.2", pod_a.name), || {
        pings(&pod_a.name, "192.0.2.2")
    });
    wait_for(&format!("a ping from {} to 192.0.2.1", pod_b.name), || {
        pings(&pod_b.name, "192.0.2.1")
    });
}

/// The alias of a VF's netdev goes back exactly, at the kernel's longest
/// (255 bytes) and in bytes that are not UTF-8: sent without a NUL, which
/// the kernel would count against the 255.
#[test]
#[ignore = "lab"]
fn lab_a_255_byte_alias_comes_back_exactly() {
    let host = host();
    let pod = Pod::new("vg");
    let vf = lab_vf(&host, 1, 3);
    let mut guard = Restore::new(&host, &vf);
    let netdev = guard.state.netdev.clone().unwrap();
    let longest = Alias::new([&b"\xff"[..], &[b'a'; 254]].concat()).unwrap();
    host.netlink().set_alias(netdev.index, &longest).unwrap();
    let before = host.snapshot(&vf).unwrap();
    assert_eq!(before.netdev.as_ref().unwrap().alias, Some(longest.clone()));

    let undo = host
        .attach(&before, pod.ns(), &AttachSpec::new("net1".parse().unwrap()))
        .unwrap();
    guard.attached = Some(undo.clone());
    assert_eq!(host.detach(&undo).unwrap(), Returned::AsBefore);
    guard.attached = None;
    let back = host.netlink().link(netdev.name).unwrap();
    assert_eq!(back.alias, Some(longest));
    assert_as_before(&host, &before);
}

#[test]
#[ignore = "lab"]
fn lab_a_veth_the_pod_dresses_as_the_vf_is_left_in_the_pod() {
    let host = host();
    let pod = Pod::new("vd");
    let vf = lab_vf(&host, 1, 4);
    let mut guard = Restore::new(&host, &vf);
    let before = guard.state.clone();
    let host_name = before.netdev.as_ref().unwrap().name;
    let spec = AttachSpec::new("net1".parse().unwrap()).mac(POD_MAC);
    let undo = host.attach(&before, pod.ns(), &spec).unwrap();
    guard.attached = Some(undo.clone());

    // The pod hides the VF and gives a veth its name, MAC and the alias
    // attach set.
    let nl = pod.ns().netlink().unwrap();
    let hidden: IfName = "hidden".parse().unwrap();
    nl.set_down("net1").unwrap();
    nl.set_name("net1", &hidden).unwrap();
    let (decoy, peer): (IfName, IfName) = ("net1".parse().unwrap(), "decoy".parse().unwrap());
    nl.add_veth(&decoy, &peer, None).unwrap();
    nl.set_mac(decoy, POD_MAC).unwrap();
    nl.set_alias(decoy, &remembering(&host_name)).unwrap();

    assert_eq!(host.detach(&undo).unwrap(), Returned::AsBefore);
    guard.attached = None;
    assert_as_before(&host, &before);
    let left = nl.link(decoy).unwrap();
    assert_eq!(
        left.kind.as_deref(),
        Some("veth"),
        "the veth stays in the pod"
    );
    assert!(nl.link(hidden).unwrap_err().is_no_such_link());
}
