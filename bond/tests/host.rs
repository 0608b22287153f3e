//! Root tests on veth pairs in private namespaces: what can be checked of
//! planning, undoing and releasing on a kernel with or without bonding.

mod common;

use common::{link_names, n, root_or_skip, snapshots, unique, Snapshot};
use netplumb_bond::{
    plan, release, BondConfig, BondMode, BondRecord, Error, FailOverMac, Home, IfName, MacAddr,
    Pod, Port, PortRecord, Released, Step,
};
use netplumb_netns::{NetNs, Netlink};

/// A private namespace and a client bound to it.
struct Ns {
    ns: NetNs,
    nl: Netlink,
}

impl Ns {
    fn new() -> Ns {
        let ns = NetNs::new_unnamed().unwrap();
        let nl = ns.netlink().unwrap();
        Ns { ns, nl }
    }

    fn pod(&self) -> Pod<'_> {
        Pod::new(&self.nl)
    }

    fn home(&self) -> Home<'_> {
        Home::new(&self.nl)
    }

    /// A veth pair `name`/`name`p here, `name` with `mac`, `mtu` and up
    /// state `up`.
    fn veth(&self, name: &str, mac: MacAddr, mtu: u32, up: bool) {
        self.nl
            .add_veth(&n(name), &n(&format!("{name}p")), None)
            .unwrap();
        self.nl.set_mac(name, mac).unwrap();
        self.nl.set_mtu(name, mtu).unwrap();
        if up {
            self.nl.set_up(name).unwrap();
        }
    }
}

fn mac(last: u8) -> MacAddr {
    MacAddr([0x02, 0, 0, 0x0b, 0x0d, last])
}

fn active_backup(name: &str) -> BondConfig {
    BondConfig::new(n(name), BondMode::ActiveBackup)
        .miimon(100)
        .fail_over_mac(FailOverMac::Active)
}

#[test]
fn plan_checks_ports_against_the_kernel_and_changes_nothing() {
    if !root_or_skip("plan_checks_ports_against_the_kernel_and_changes_nothing") {
        return;
    }
    let pod = Ns::new();
    pod.veth("p1", mac(1), 1500, true);
    pod.veth("p2", mac(2), 1400, false);
    pod.veth("p3", mac(3), 1500, false);
    // A controller of a kind the kernel has: this host has bridges, the
    // lab kernel bonds.
    pod.nl
        .add_link(&n("ctl0"), "bridge")
        .or_else(|_| pod.nl.add_link(&n("ctl0"), "bond"))
        .unwrap();
    pod.nl.set_controller("p3", "ctl0").unwrap();
    let pod_side = pod.pod();
    let names = ["p1", "p2", "p3", "p1p", "ctl0"];
    let before = snapshots(&pod.nl, &names);
    let all_before = link_names(&pod.nl);

    let err = plan(
        &pod_side,
        None,
        &active_backup("bond0").mtu(1500),
        &[Port::vf(n("p1")), Port::vf(n("p2"))],
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("mtu 1500 is larger than port \"p2\"'s mtu 1400"),
        "the MTU comes from the kernel: {err}"
    );

    match plan(
        &pod_side,
        None,
        &active_backup("bond0"),
        &[Port::vf(n("p1")), Port::vf(n("gone0"))],
    ) {
        Err(e @ Error::PortNotFound { .. }) => {
            assert_eq!(e.port(), Some(&n("gone0")));
            assert!(e.to_string().contains("in the pod namespace"), "{e}");
        }
        other => panic!("expected PortNotFound, got {other:?}"),
    }

    match plan(
        &pod_side,
        None,
        &active_backup("bond0"),
        &[Port::vf(n("p1")), Port::vf(n("p3"))],
    ) {
        Err(e @ Error::PortInUse { .. }) => {
            let ctl0 = pod.nl.index_of("ctl0").unwrap();
            assert!(e.to_string().contains(&format!("ifindex {ctl0}")), "{e}");
        }
        other => panic!("expected PortInUse, got {other:?}"),
    }

    match plan(
        &pod_side,
        None,
        &active_backup("p1p"),
        &[Port::vf(n("p1")), Port::vf(n("p2"))],
    ) {
        Err(Error::NameTaken { name, .. }) => assert_eq!(name, n("p1p")),
        other => panic!("expected NameTaken, got {other:?}"),
    }

    // Bad input never reaches the kernel.
    let trips = pod.nl.round_trips();
    assert!(plan(
        &pod_side,
        None,
        &active_backup("bond0"),
        &[Port::vf(n("p1"))]
    )
    .is_err());
    assert!(plan(
        &pod_side,
        None,
        &active_backup("bond0").updelay(150),
        &[Port::vf(n("p1")), Port::vf(n("p2"))]
    )
    .is_err());
    assert_eq!(pod.nl.round_trips(), trips);

    // A good plan costs one round trip and records the ports as they are
    // (veths: no device to ask about).
    let trips = pod.nl.round_trips();
    let ok = plan(
        &pod_side,
        None,
        &active_backup("bond0").mtu(1400),
        &[Port::other(n("p1")), Port::other(n("p2"))],
    )
    .unwrap();
    assert_eq!(pod.nl.round_trips() - trips, 1, "one dump of the pod");
    let recorded = |name: &str, mac: MacAddr, mtu, up| {
        let mut port = PortRecord::new(n(name), false, mac, mtu, up);
        // veth has no permanent MAC.
        port.index = Some(pod.nl.index_of(name).unwrap());
        port
    };
    assert_eq!(
        ok.record(),
        &BondRecord::new(
            n("bond0"),
            vec![
                recorded("p1", mac(1), 1500, true),
                recorded("p2", mac(2), 1400, false),
            ]
        )
    );
    assert!(ok.warnings().is_empty(), "{:?}", ok.warnings());
    drop(ok);

    assert_eq!(snapshots(&pod.nl, &names), before);
    assert_eq!(link_names(&pod.nl), all_before);
}

#[test]
fn ports_at_home_are_looked_up_there() {
    if !root_or_skip("ports_at_home_are_looked_up_there") {
        return;
    }
    let (pod, home) = (Ns::new(), Ns::new());
    home.veth("h1", mac(1), 1500, true);
    home.veth("h2", mac(2), 1500, false);
    pod.veth("h2", mac(9), 1500, false);
    let (pod_side, home_side) = (pod.pod(), home.home());

    match plan(
        &pod_side,
        Some(&home_side),
        &active_backup("bond0"),
        &[Port::vf(n("h1")), Port::vf(n("h9"))],
    ) {
        Err(e @ Error::PortNotFound { .. }) => {
            assert!(e.to_string().contains("in the home namespace"), "{e}")
        }
        other => panic!("expected PortNotFound, got {other:?}"),
    }
    // h2 would clash with the pod's own h2 when moved in.
    match plan(
        &pod_side,
        Some(&home_side),
        &active_backup("bond0"),
        &[Port::vf(n("h1")), Port::vf(n("h2"))],
    ) {
        Err(Error::NameTaken { name, .. }) => assert_eq!(name, n("h2")),
        other => panic!("expected NameTaken, got {other:?}"),
    }
    pod.nl.delete_link("h2").unwrap();
    let trips = pod.nl.round_trips() + home.nl.round_trips();
    let ok = plan(
        &pod_side,
        Some(&home_side),
        &active_backup("bond0"),
        &[Port::other(n("h1")), Port::other(n("h2"))],
    )
    .unwrap();
    assert_eq!(
        pod.nl.round_trips() + home.nl.round_trips() - trips,
        2,
        "one dump of each namespace, however many ports"
    );
    assert!(ok.record().ports.iter().all(|p| p.from_home));
    assert_eq!(ok.record().ports[1].mac, mac(2));
}

/// Plans a bond over `h1` and `h2` moved in from home, lets `take` take a
/// name in the pod before it is built, and builds it. The build must fail
/// with the kernel's EEXIST and be undone: both ports home as they were,
/// and the pod as `take` left it. Returns the error.
fn apply_after_the_pod_changes(take: impl FnOnce(&Ns)) -> Error {
    let (pod, home) = (Ns::new(), Ns::new());
    home.veth("h1", mac(1), 1500, true);
    home.veth("h2", mac(2), 1450, false);
    let before = snapshots(&home.nl, &["h1", "h2"]);
    let (pod_side, home_side) = (pod.pod(), home.home());
    let ready = plan(
        &pod_side,
        Some(&home_side),
        &active_backup("bond0").mtu(1400),
        &[Port::vf(n("h1")), Port::vf(n("h2"))],
    )
    .unwrap();
    take(&pod);
    let pod_names = link_names(&pod.nl);
    let names: Vec<&str> = pod_names.iter().map(String::as_str).collect();
    let pod_before = snapshots(&pod.nl, &names);

    let err = ready.apply().unwrap_err();
    assert!(matches!(err, Error::Netlink { .. }), "undo worked: {err}");
    assert!(
        err.netlink_error().unwrap().is_already_exists(),
        "the kernel's own answer comes through: {err}"
    );
    assert_eq!(snapshots(&home.nl, &["h1", "h2"]), before);
    assert_eq!(link_names(&pod.nl), pod_names);
    assert_eq!(snapshots(&pod.nl, &names), pod_before);
    err
}

#[test]
fn a_failed_creation_moves_the_ports_back_home_and_keeps_what_is_not_its_own() {
    if !root_or_skip("a_failed_creation_moves_the_ports_back_home_and_keeps_what_is_not_its_own") {
        return;
    }
    // The bond's name is taken: the create message fails, on kernels with
    // bonding and without, and the pod's bond0 is not deleted.
    let err = apply_after_the_pod_changes(|pod| {
        pod.nl.add_veth(&n("bond0"), &n("bond0p"), None).unwrap()
    });
    assert_eq!(err.step(), Some(Step::CreateBond), "{err}");
}

#[test]
fn a_port_that_cannot_be_moved_in_undoes_the_ports_before_it() {
    if !root_or_skip("a_port_that_cannot_be_moved_in_undoes_the_ports_before_it") {
        return;
    }
    // h2's name is taken: h1 goes in and comes back, and the pod's own h2
    // is not taken for the port.
    let err = apply_after_the_pod_changes(|pod| pod.nl.add_veth(&n("h2"), &n("x2"), None).unwrap());
    assert_eq!(err.step(), Some(Step::MovePortIn), "{err}");
    assert_eq!(err.port(), Some(&n("h2")), "{err}");
}

/// What plan records of `name`, read through `nl`: its name, MAC, MTU, up
/// state and index (veth has no permanent MAC).
fn recorded(nl: &Netlink, name: &str, from_home: bool) -> PortRecord {
    let link = nl.link(name).unwrap();
    let mut port = PortRecord::new(
        n(name),
        from_home,
        link.mac.unwrap(),
        link.mtu,
        link.is_up(),
    );
    port.index = Some(link.index);
    port
}

/// Moves `name` from `home` into `pod` and changes it as a bond that has
/// just released it leaves it: MAC back, but the bond's MTU and up.
fn move_in_and_disturb(home: &Ns, pod: &Ns, name: &str) {
    home.nl.move_link(name, &pod.ns, None).unwrap();
    pod.nl.set_mtu(name, 1300).unwrap();
    pod.nl.set_up(name).unwrap();
}

/// The ports a release reports missing, whether or not it also failed to
/// look in the initial namespace: a test process outside the initial PID
/// namespace, or without ptrace rights on PID 1, cannot open it.
fn missing_after(result: Result<Released, Error>) -> Vec<IfName> {
    match result {
        Ok(released) => released.missing,
        Err(Error::ReleaseIncomplete {
            failures, missing, ..
        }) => {
            for failure in &failures {
                assert!(
                    matches!(failure, Error::LookUp { namespace, .. }
                        if namespace.as_os_str() == "/proc/1/ns/net"),
                    "{failure}"
                );
            }
            missing
        }
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn release_puts_ports_back_home_and_is_idempotent() {
    if !root_or_skip("release_puts_ports_back_home_and_is_idempotent") {
        return;
    }
    let (pod, home) = (Ns::new(), Ns::new());
    home.veth("h1", mac(1), 1500, true);
    home.veth("h2", mac(2), 1450, false);
    pod.veth("p3", mac(3), 1500, false);
    let home_before = snapshots(&home.nl, &["h1", "h2"]);
    let pod_before = snapshots(&pod.nl, &["p3"]);
    let record = BondRecord::new(
        n("bond0"),
        vec![
            recorded(&home.nl, "h1", true),
            recorded(&home.nl, "h2", true),
            recorded(&pod.nl, "p3", false),
        ],
    );
    move_in_and_disturb(&home, &pod, "h1");
    move_in_and_disturb(&home, &pod, "h2");
    // Without its MAC, p3 is still known by its name and index.
    pod.nl.set_mac("p3", mac(0x78)).unwrap();
    pod.nl.set_up("p3").unwrap();
    // A link with the bond's name that is not a bond is not deleted.
    pod.nl.add_veth(&n("bond0"), &n("bond0p"), None).unwrap();

    let (pod_side, home_side) = (Pod::open(&pod.ns).unwrap(), Home::new(&home.nl));
    let released = release(Some(&pod_side), Some(&home_side), &record).unwrap();
    assert_eq!(released.missing, Vec::<IfName>::new());
    assert_eq!(snapshots(&home.nl, &["h1", "h2"]), home_before);
    assert_eq!(snapshots(&pod.nl, &["p3"]), pod_before);
    assert_eq!(link_names(&pod.nl), ["bond0", "bond0p", "lo", "p3", "p3p"]);

    // Again, and with the pod gone: nothing left to do, and no error.
    let trips = || pod_side.netlink().round_trips() + home.nl.round_trips();
    let before = trips();
    let again = release(Some(&pod_side), Some(&home_side), &record).unwrap();
    assert_eq!(again.missing, Vec::<IfName>::new());
    assert_eq!(
        trips() - before,
        2,
        "a dump of the pod and one of home: nothing differs"
    );
    let gone = release(None, Some(&home_side), &record).unwrap();
    assert_eq!(
        gone.missing,
        Vec::<IfName>::new(),
        "the pod's own p3 is not looked for"
    );
    assert_eq!(snapshots(&home.nl, &["h1", "h2"]), home_before);
    assert_eq!(snapshots(&pod.nl, &["p3"]), pod_before);
}

#[test]
fn release_with_the_pod_gone_restores_ports_that_came_back_home() {
    if !root_or_skip("release_with_the_pod_gone_restores_ports_that_came_back_home") {
        return;
    }
    let home = Ns::new();
    home.veth("h1", mac(1), 1500, true);
    home.veth("h2", mac(2), 1500, true);
    let before = snapshots(&home.nl, &["h1", "h2"]);
    let mut h9 = recorded(&home.nl, "h1", true);
    h9.name = n("h9");
    h9.index = Some(9999);
    h9.mac = mac(9);
    let record = BondRecord::new(
        n("bond0"),
        vec![
            recorded(&home.nl, "h1", true),
            recorded(&home.nl, "h2", true),
            h9,
        ],
    );
    // As ports look when their pod died: back home and down; h1 with the
    // bond's MAC, h2 renamed as the kernel does on a name clash.
    home.nl.set_down("h1").unwrap();
    home.nl.set_mac("h1", mac(0x55)).unwrap();
    home.nl.set_down("h2").unwrap();
    home.nl.set_name("h2", &n("dev7")).unwrap();

    let missing = missing_after(release(None, Some(&home.home()), &record));
    assert_eq!(missing, [n("h9")], "h9 is nowhere");
    assert_eq!(snapshots(&home.nl, &["h1", "h2"]), before);
    assert!(home.nl.link("dev7").is_err_and(|e| e.is_no_such_link()));
}

#[test]
fn release_without_home_still_restores_what_it_can() {
    if !root_or_skip("release_without_home_still_restores_what_it_can") {
        return;
    }
    let (pod, home) = (Ns::new(), Ns::new());
    home.veth("h1", mac(1), 1500, true);
    pod.veth("p2", mac(2), 1500, false);
    let record = BondRecord::new(
        n(&unique("b")),
        vec![
            recorded(&home.nl, "h1", true),
            recorded(&pod.nl, "p2", false),
        ],
    );
    move_in_and_disturb(&home, &pod, "h1");
    pod.nl.set_up("p2").unwrap();

    match release(Some(&pod.pod()), None, &record) {
        Err(Error::ReleaseIncomplete {
            failures, missing, ..
        }) => {
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(
                matches!(&failures[0], Error::HomeNeeded { port, .. } if *port == n("h1")),
                "{failures:?}"
            );
            assert_eq!(missing, Vec::<IfName>::new());
        }
        other => panic!("expected ReleaseIncomplete, got {other:?}"),
    }
    // h1 stays in the pod but gets its MTU and state back; p2 is down again.
    let h1 = Snapshot::from(&pod.nl.link("h1").unwrap());
    assert_eq!((h1.mac, h1.mtu, h1.up), (Some(mac(1)), 1500, true));
    assert!(!pod.nl.link("p2").unwrap().is_up());
}

#[test]
fn a_port_of_the_same_name_is_not_taken_for_the_recorded_one() {
    if !root_or_skip("a_port_of_the_same_name_is_not_taken_for_the_recorded_one") {
        return;
    }
    let (pod, home) = (Ns::new(), Ns::new());
    home.veth("h1", mac(1), 1500, true);
    let record = BondRecord::new(n("bond0"), vec![recorded(&home.nl, "h1", true)]);
    // The pod has an h1 of its own: not the port, which is still at home.
    pod.veth("h1", mac(0x31), 1400, true);
    let pod_before = snapshots(&pod.nl, &["h1"]);
    let home_before = snapshots(&home.nl, &["h1"]);

    let released = release(Some(&pod.pod()), Some(&home.home()), &record).unwrap();
    assert_eq!(released.missing, Vec::<IfName>::new());
    assert_eq!(snapshots(&pod.nl, &["h1"]), pod_before);
    assert_eq!(snapshots(&home.nl, &["h1"]), home_before);

    // Gone from home too: reported, not silently skipped.
    home.nl.delete_link("h1").unwrap();
    let released = release(Some(&pod.pod()), Some(&home.home()), &record).unwrap();
    assert_eq!(released.missing, [n("h1")]);
    assert_eq!(snapshots(&pod.nl, &["h1"]), pod_before);
}
