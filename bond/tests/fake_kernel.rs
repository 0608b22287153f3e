//! Building, undoing and releasing bonds against a scripted fake kernel:
//! the refusals, lost answers and double failures a real kernel does not
//! produce on demand. Each test pins the requests the code sends, in order.

mod common;

use common::n;
use netplumb_bond::{
    plan, release, BondConfig, BondMode, BondRecord, Error, ErrorKind, Home, LinkInfo, MacAddr,
    Pod, Port, PortRecord, Step,
};
use netplumb_netns::testing::{Answer, FakeKernel, Request, Sent};
use netplumb_netns::{Errno, Netlink};
use netplumb_types::Chain;

/// `IFF_UP`.
const UP: u32 = 0x1;

/// What a VF says when the bond needs to set its MAC and may not.
const NO_MAC_CHANGE: &str =
    "Slave device does not support setting the MAC address, but fail_over_mac is not set to active";

fn mac(last: u8) -> MacAddr {
    MacAddr([2, 0, 0, 0, 0, last])
}

/// A VF's netdev `name` at `index` with MAC `02:00:00:00:00:<mac_last>`
/// and MTU 1500, up or down, on a PCI function numbered after its name
/// wherever it goes.
fn link(index: u32, name: &str, mac_last: u8, up: bool) -> LinkInfo {
    let mut l = LinkInfo::new(index, n(name));
    l.mac = Some(mac(mac_last));
    l.flags = if up { UP } else { 0 };
    l.parent_bus = Some("pci".into());
    let function = name.bytes().fold(0u8, |sum, b| sum.wrapping_add(b));
    l.parent_device = Some(format!("0000:01:{function:02x}.0"));
    l
}

/// `port` enslaved to the bond at `bond`, which sets it up.
fn enslaved(mut port: LinkInfo, bond: u32) -> LinkInfo {
    port.controller = Some(bond);
    port.flags |= UP;
    port
}

/// The bond `bond0` at `index`, wearing its first port's MAC.
fn bond0(index: u32) -> LinkInfo {
    let mut l = link(index, "bond0", 1, false);
    l.kind = Some("bond".into());
    l.parent_bus = None;
    l.parent_device = None;
    l
}

fn lo() -> LinkInfo {
    LinkInfo::new(1, n("lo"))
}

fn active_backup() -> BondConfig {
    BondConfig::new(n("bond0"), BondMode::ActiveBackup).miimon(100)
}

fn vfs(names: &[&str]) -> Vec<Port> {
    names.iter().map(|name| Port::vf(n(name))).collect()
}

/// A client of a second namespace, `/run/netns/home`, on the same kernel.
fn home_netlink(kernel: &FakeKernel) -> Netlink {
    kernel.namespace("/run/netns/home").netlink().unwrap()
}

/// The interface index a link request is about (`ifi_index`, after the
/// 16-byte netlink header, the family, padding and type): 0 for dumps,
/// creates and requests by name.
fn ifindex(sent: &Sent) -> u32 {
    u32::from_ne_bytes(sent.bytes[20..24].try_into().unwrap())
}

/// Each request sent, with the index it is about.
fn sent(kernel: &FakeKernel) -> Vec<(Request, u32)> {
    kernel
        .sent()
        .iter()
        .map(|s| (s.request, ifindex(s)))
        .collect()
}

/// The kernel's extended-ack text of `e`.
fn ext_ack(e: &Error) -> Option<&str> {
    e.netlink_error().and_then(|e| e.ext_ack())
}

#[test]
fn an_undo_that_fails_too_says_what_it_left_behind() {
    let kernel = FakeKernel::new();
    let (net1, net2) = (link(4, "net1", 1, true), link(5, "net2", 2, true));
    let mut net1_released = net1.clone();
    net1_released.flags = 0;
    kernel
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), net1.clone(), net2.clone()]),
        )
        // Created, and echoed with its index.
        .expect(Request::NewLink, Answer::link(bond0(7)))
        // Each port is set down, then enslaved; net2 refuses.
        .expect(Request::SetLink, Answer::Ack)
        .expect(Request::SetLink, Answer::Ack)
        .expect(Request::SetLink, Answer::Ack)
        .expect(
            Request::SetLink,
            Answer::error(Errno::EOPNOTSUPP, NO_MAC_CHANGE),
        )
        // Undo. net2 is gone by now (its VF was removed), and the bond
        // will not go ...
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), bond0(7), enslaved(net1, 7)]),
        )
        .expect(
            Request::DelLink,
            Answer::error(Errno::EBUSY, "bond0 is held"),
        )
        // ... so net1 is released on its own, read again, and will not
        // come up.
        .expect(Request::SetLink, Answer::Ack)
        .expect(Request::GetLink, Answer::link(net1_released))
        .expect(
            Request::SetLink,
            Answer::error(Errno::EIO, "net1 did not come up"),
        );
    let nl = kernel.netlink();
    let pod = Pod::new(&nl);
    let config = active_backup();
    let err = plan(&pod, None, &config, &vfs(&["net1", "net2"]))
        .unwrap()
        .apply()
        .unwrap_err();
    kernel.finish();
    assert_eq!(
        sent(&kernel)[6..],
        [
            (Request::DumpLinks, 0),
            (Request::DelLink, 7),
            (Request::SetLink, 4),
            (Request::GetLink, 4),
            (Request::SetLink, 4),
        ]
    );

    let Error::UndoFailed { failure, undo } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.step(), Some(Step::Enslave));
    assert_eq!(failure.port(), Some(&n("net2")));
    assert_eq!(ext_ack(failure), Some(NO_MAC_CHANGE));
    // The whole error is classed, stepped and placed by its first failure.
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(
        (err.step(), err.port()),
        (Some(Step::Enslave), Some(&n("net2")))
    );

    let undone: Vec<_> = undo
        .iter()
        .map(|e| (e.step(), e.port().copied(), ext_ack(e)))
        .collect();
    assert_eq!(
        undone,
        [
            (Some(Step::DeleteBond), None, Some("bond0 is held")),
            (
                Some(Step::RestorePort),
                Some(n("net1")),
                Some("net1 did not come up")
            ),
            (None, Some(n("net2")), None),
        ]
    );
    assert!(
        matches!(
            undo[2],
            Error::PortNotFound {
                namespace: "pod",
                ..
            }
        ),
        "{:?}",
        undo[2]
    );

    let text = err.to_string();
    for e in std::iter::once(&**failure).chain(undo) {
        let whole = Chain(e).to_string();
        assert_eq!(text.matches(&whole).count(), 1, "{whole:?} in {text:?}");
    }
    assert!(
        text.starts_with(&format!(
            "{}; undoing what was done also failed: ",
            Chain(&**failure)
        )),
        "{text}"
    );
}

#[test]
fn a_failed_build_is_undone_and_fails_with_its_own_error() {
    let kernel = FakeKernel::new();
    // net1 up, net2 down: only what differs from then is put back.
    let (net1, net2) = (link(4, "net1", 1, true), link(5, "net2", 2, false));
    let mut net1_released = net1.clone();
    net1_released.flags = 0;
    kernel
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), net1.clone(), net2.clone()]),
        )
        // A kernel before 6.3 does not echo the new link: its index is
        // asked for.
        .expect(Request::NewLink, Answer::Ack)
        .expect(Request::GetLink, Answer::link(bond0(7)))
        .expect(Request::SetLink, Answer::Ack)
        .expect(Request::SetLink, Answer::Ack)
        // net2 is down already: no need to set it down.
        .expect(
            Request::SetLink,
            Answer::error(Errno::EOPNOTSUPP, NO_MAC_CHANGE),
        )
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), bond0(7), enslaved(net1, 7), net2.clone()]),
        )
        // Deleting the bond releases net1, down.
        .expect(Request::DelLink, Answer::Ack)
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), net1_released, net2]),
        )
        // net1 was up.
        .expect(Request::SetLink, Answer::Ack);
    let nl = kernel.netlink();
    let pod = Pod::new(&nl);
    let config = active_backup();
    let err = plan(&pod, None, &config, &vfs(&["net1", "net2"]))
        .unwrap()
        .apply()
        .unwrap_err();
    kernel.finish();
    assert_eq!(
        sent(&kernel),
        [
            (Request::DumpLinks, 0),
            (Request::NewLink, 0),
            (Request::GetLink, 0),
            (Request::SetLink, 0),
            (Request::SetLink, 0),
            (Request::SetLink, 0),
            (Request::DumpLinks, 0),
            (Request::DelLink, 7),
            (Request::DumpLinks, 0),
            (Request::SetLink, 4),
        ]
    );
    assert!(
        matches!(
            &err,
            Error::Netlink {
                step: Step::Enslave,
                port: Some(port),
                ..
            } if *port == n("net2")
        ),
        "{err:?}"
    );
    assert_eq!(ext_ack(&err), Some(NO_MAC_CHANGE));
    assert_eq!(err.kind(), ErrorKind::Refused);
}

#[test]
fn a_port_that_cannot_be_moved_in_sends_the_one_before_it_home() {
    let kernel = FakeKernel::new();
    let (eth1, eth2) = (link(11, "eth1", 0x11, true), link(12, "eth2", 0x12, true));
    // Moved into the pod, eth1 is down there, under another index.
    let eth1_in_pod = link(3, "eth1", 0x11, false);
    kernel
        .expect(Request::DumpLinks, Answer::Links(vec![lo()]))
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), eth1.clone(), eth2.clone()]),
        )
        .expect(Request::SetLink, Answer::Ack)
        .expect(
            Request::SetLink,
            Answer::error(Errno::EINVAL, "eth2 may not leave its namespace"),
        )
        .expect(Request::DumpLinks, Answer::Links(vec![lo(), eth1_in_pod]))
        // Home and up again, in one message.
        .expect(Request::SetLink, Answer::Ack)
        // eth2 is looked for at home, and is as it was.
        .expect(Request::DumpLinks, Answer::Links(vec![lo(), eth1, eth2]));
    let pod_nl = kernel.netlink();
    let home_nl = home_netlink(&kernel);
    let (pod, home) = (Pod::new(&pod_nl), Home::new(&home_nl));
    let config = active_backup();
    let err = plan(&pod, Some(&home), &config, &vfs(&["eth1", "eth2"]))
        .unwrap()
        .apply()
        .unwrap_err();
    kernel.finish();
    assert_eq!(
        sent(&kernel),
        [
            (Request::DumpLinks, 0),
            (Request::DumpLinks, 0),
            (Request::SetLink, 11),
            (Request::SetLink, 12),
            (Request::DumpLinks, 0),
            (Request::SetLink, 3),
            (Request::DumpLinks, 0),
        ]
    );
    assert_eq!(err.step(), Some(Step::MovePortIn));
    assert_eq!(err.port(), Some(&n("eth2")));
    assert_eq!(ext_ack(&err), Some("eth2 may not leave its namespace"));
}

#[test]
fn a_create_without_an_answer_deletes_a_bond_of_that_name() {
    let kernel = FakeKernel::new();
    let ports = vec![lo(), link(4, "net1", 1, true), link(5, "net2", 2, true)];
    let mut after = ports.clone();
    after.push(bond0(9));
    kernel
        .expect(Request::DumpLinks, Answer::Links(ports))
        .expect(Request::NewLink, Answer::Silence)
        // The kernel made it after all. No port was touched, so there is
        // nothing to read again once it is gone.
        .expect(Request::DumpLinks, Answer::Links(after))
        .expect(Request::DelLink, Answer::Ack);
    let nl = kernel.netlink();
    let pod = Pod::new(&nl);
    let config = active_backup();
    let err = plan(&pod, None, &config, &vfs(&["net1", "net2"]))
        .unwrap()
        .apply()
        .unwrap_err();
    kernel.finish();
    assert_eq!(sent(&kernel)[3], (Request::DelLink, 9));
    assert_eq!(err.step(), Some(Step::CreateBond));
    assert!(
        matches!(
            err.netlink_error(),
            Some(netplumb_netns::Error::NoAnswer { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn a_bond_name_taken_in_the_meantime_is_left_alone() {
    let kernel = FakeKernel::new();
    kernel
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![
                lo(),
                link(4, "net1", 1, true),
                link(5, "net2", 2, true),
            ]),
        )
        // Nothing was changed, so nothing is looked at again.
        .expect(
            Request::NewLink,
            Answer::error(Errno::EEXIST, "bond0 exists"),
        );
    let nl = kernel.netlink();
    let pod = Pod::new(&nl);
    let config = active_backup();
    let err = plan(&pod, None, &config, &vfs(&["net1", "net2"]))
        .unwrap()
        .apply()
        .unwrap_err();
    kernel.finish();
    assert_eq!(err.step(), Some(Step::CreateBond));
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert_eq!(ext_ack(&err), Some("bond0 exists"));
}

#[test]
fn ports_of_a_bond_that_is_not_ours_are_left_alone() {
    let kernel = FakeKernel::new();
    let (eth1, eth2) = (link(11, "eth1", 0x11, true), link(12, "eth2", 0x12, true));
    // By the time eth2's move fails, someone else has a bond0 in the pod,
    // over a port of its own.
    let mut theirs = bond0(20);
    theirs.mac = Some(mac(0x31));
    let their_port = enslaved(link(21, "x1", 0x31, true), 20);
    kernel
        .expect(Request::DumpLinks, Answer::Links(vec![lo()]))
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), eth1.clone(), eth2.clone()]),
        )
        .expect(Request::SetLink, Answer::Ack)
        .expect(
            Request::SetLink,
            Answer::error(Errno::EINVAL, "eth2 may not leave its namespace"),
        )
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), theirs, their_port, link(3, "eth1", 0x11, false)]),
        )
        .expect(Request::SetLink, Answer::Ack)
        .expect(Request::DumpLinks, Answer::Links(vec![lo(), eth1, eth2]));
    let pod_nl = kernel.netlink();
    let home_nl = home_netlink(&kernel);
    let (pod, home) = (Pod::new(&pod_nl), Home::new(&home_nl));
    let config = active_backup();
    let err = plan(&pod, Some(&home), &config, &vfs(&["eth1", "eth2"]))
        .unwrap()
        .apply()
        .unwrap_err();
    kernel.finish();
    // Only eth1 is touched: x1 is neither released nor taken for eth2.
    assert_eq!(sent(&kernel)[5], (Request::SetLink, 3));
    assert_eq!(err.step(), Some(Step::MovePortIn));
}

#[test]
fn a_release_that_cannot_finish_lists_what_failed_and_what_is_missing() {
    let kernel = FakeKernel::new();
    let mut net1 = PortRecord::new(n("net1"), false, mac(1), 1500, true);
    net1.index = Some(4);
    let mut eth2 = PortRecord::new(n("eth2"), true, mac(2), 1500, true);
    eth2.index = Some(12);
    let mut record = BondRecord::new(n("bond0"), vec![net1, eth2]);
    record.index = Some(7);
    kernel
        .expect(
            Request::DumpLinks,
            Answer::Links(vec![lo(), bond0(7), enslaved(link(4, "net1", 1, true), 7)]),
        )
        .expect(
            Request::DelLink,
            Answer::error(Errno::EBUSY, "bond0 is held"),
        )
        .expect(Request::SetLink, Answer::Ack)
        .expect(Request::GetLink, Answer::link(link(4, "net1", 1, false)))
        .expect(
            Request::SetLink,
            Answer::error(Errno::EIO, "net1 did not come up"),
        )
        // eth2 is not in the pod, nor at home.
        .expect(Request::DumpLinks, Answer::Links(vec![lo()]));
    let pod_nl = kernel.netlink();
    let home_nl = home_netlink(&kernel);
    let (pod, home) = (Pod::new(&pod_nl), Home::new(&home_nl));
    let err = release(Some(&pod), Some(&home), &record).unwrap_err();
    kernel.finish();
    assert_eq!(
        sent(&kernel),
        [
            (Request::DumpLinks, 0),
            (Request::DelLink, 7),
            (Request::SetLink, 4),
            (Request::GetLink, 4),
            (Request::SetLink, 4),
            (Request::DumpLinks, 0),
        ]
    );
    let Error::ReleaseIncomplete {
        bond,
        failures,
        missing,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*bond, n("bond0"));
    assert_eq!(missing, &[n("eth2")]);
    let failed: Vec<_> = failures
        .iter()
        .map(|e| (e.step(), e.port().copied(), ext_ack(e)))
        .collect();
    assert_eq!(
        failed,
        [
            (Some(Step::DeleteBond), None, Some("bond0 is held")),
            (
                Some(Step::RestorePort),
                Some(n("net1")),
                Some("net1 did not come up")
            ),
        ]
    );
    // Classed by its first failure.
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert_eq!(
        err.to_string(),
        format!(
            "bond bond0: release left work undone: {}; {}; ports not found: eth2",
            Chain(&failures[0]),
            Chain(&failures[1])
        )
    );
}
