//! Lab tests: bonds over VFs of both emulated igb PFs, with traffic. They
//! need the bonding driver and SR-IOV, so they run through `cargo xtask lab`.
//!
//! The fixture sets the lab up with iproute2 from the host side (VFs moved
//! into namespaces, their MACs, PF-side trust and MACs) and puts every one
//! of those changes back when it is dropped, even when a test fails.

mod common;

use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use common::{link_names, n, snapshots, unique, Snapshot};
use netplumb_bond::{
    create, inspect, plan, release, BondConfig, BondInfo, BondMode, BondRecord, Error, FailOverMac,
    Home, MiiStatus, Pod, Port, PortState, Step, Warning, XmitHashPolicy,
};
use netplumb_netns::raw::netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_REQUEST,
};
use netplumb_netns::raw::netlink_packet_route::link::{
    InfoBond, InfoBondPort, InfoData, InfoPortData, LinkAttribute, LinkExtentMask,
    LinkInfo as NlLinkInfo, LinkMessage,
};
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
use netplumb_netns::testing::kernel_at_least;
use netplumb_netns::{NetNs, Netlink};
use netplumb_types::{Chain, IfName};

/// iproute2 by full path: busybox's shell would run its own `ip` applet.
const IP: &str = "/usr/sbin/ip";
const POD_ADDR: &str = "198.51.100.1/24";
/// The peer on the first PF.
const PEER_ADDR: &str = "198.51.100.2";
/// A second peer, on the second PF, for tests that need one on each.
const PEER1_ADDR: &str = "198.51.100.3";
/// Peers get this VF of their PF in every test.
const PEER_VF: u32 = 6;

fn lab_pfs() -> [String; 2] {
    assert_eq!(
        std::env::var("NETPLUMB_LAB").as_deref(),
        Ok("1"),
        "this is a lab test: run it through `cargo xtask lab`"
    );
    let pfs = std::env::var("NETPLUMB_LAB_PFS").expect("the lab runner sets NETPLUMB_LAB_PFS");
    let pfs: Vec<String> = pfs.split(',').map(String::from).collect();
    pfs.try_into()
        .unwrap_or_else(|pfs| panic!("NETPLUMB_LAB_PFS should name two PFs: {pfs:?}"))
}

/// Round trips a kernel costs beyond 6.12's for `links` links whose device
/// is asked for: before 5.16 it reports no parent device, so each link is
/// read again after its driver named the device (in case it was renamed).
fn extra_device_trips(nl: &Netlink, link: &str, links: u64) -> u64 {
    if nl.link(link).unwrap().parent_device.is_some() {
        0
    } else {
        links
    }
}

fn try_ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new(IP)
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: could not start: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "ip {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> String {
    try_ip(args).unwrap_or_else(|e| panic!("{e}"))
}

/// The host netdev name of VF `index` of `pf`, from sysfs (read in the host
/// namespace, where sysfs shows the PF's VFs), or `None` while the VF's
/// netdev is in another namespace: sysfs lists only the host's.
fn vf_netdev_at_home(pf: &str, index: u32) -> Option<String> {
    let dir = format!("/sys/class/net/{pf}/device/virtfn{index}/net");
    let mut names = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned());
    let name = names.next()?;
    assert!(names.next().is_none(), "{dir} holds more than one netdev");
    Some(name)
}

/// A namespace made for one test: its `ip netns` name, handle and client.
struct Ns {
    name: String,
    ns: NetNs,
    nl: Netlink,
}

impl Ns {
    fn pod(&self) -> Pod<'_> {
        Pod::new(&self.nl)
    }

    fn home(&self) -> Home<'_> {
        Home::new(&self.nl)
    }

    /// Deletes the namespace now, as a dying pod's is: the kernel sends
    /// its VFs back to the host in the background.
    fn kill(self) {
        let Ns { name, ns, nl } = self;
        drop((ns, nl));
        ip(&["netns", "del", &name]);
    }
}

/// A VF a test touched, and its host-side state before.
struct RigVf {
    pf: usize,
    index: u32,
    before: Snapshot,
}

/// One test's changes to the lab, undone on drop even when the test fails:
/// first the steps in reverse order of doing (moves back, PF-side
/// settings, namespaces), then, once every VF is back on the host, each
/// VF's name, MTU, MAC and up state.
struct Rig {
    pfs: [String; 2],
    host: Netlink,
    /// `ip` argument lists that undo what was done, in order of doing.
    undo: Vec<Vec<String>>,
    vfs: Vec<RigVf>,
}

impl Rig {
    fn new() -> Rig {
        let host = NetNs::current().unwrap().netlink().unwrap();
        Rig {
            pfs: lab_pfs(),
            host,
            undo: Vec::new(),
            vfs: Vec::new(),
        }
    }

    fn host_home(&self) -> Home<'_> {
        Home::new(&self.host)
    }

    fn push_undo(&mut self, args: &[&str]) {
        self.undo.push(args.iter().map(|a| a.to_string()).collect());
    }

    /// A namespace with a unique name, deleted after everything in it is
    /// moved back.
    fn netns(&mut self, role: &str) -> Ns {
        let name = unique(role);
        ip(&["netns", "add", &name]);
        self.push_undo(&["netns", "del", &name]);
        let ns = NetNs::named(&name).unwrap();
        let nl = ns.netlink().unwrap();
        Ns { name, ns, nl }
    }

    /// VF `index` of PF `pf` (0 or 1), remembered so that its host-side
    /// state is put back: name, MAC, MTU, up state.
    fn vf(&mut self, pf: usize, index: u32) -> String {
        let name = vf_netdev_at_home(&self.pfs[pf], index)
            .unwrap_or_else(|| panic!("VF {index} of {} is not on the host", self.pfs[pf]));
        let before = Snapshot::from(&self.host.link(name.as_str()).unwrap());
        self.vfs.push(RigVf { pf, index, before });
        name
    }

    /// A VF with `mac`, up, in the host namespace under its own name.
    fn vf_at_home(&mut self, pf: usize, index: u32, mac: &str) -> String {
        let name = self.vf(pf, index);
        // igb VFs pass no traffic until they have a MAC of their own.
        ip(&["link", "set", &name, "address", mac]);
        ip(&["link", "set", &name, "up"]);
        name
    }

    /// A VF moved into `ns` as `ifname`, with `mac`, up.
    fn vf_in(&mut self, pf: usize, index: u32, ns: &Ns, ifname: &str, mac: &str) -> String {
        let name = self.vf(pf, index);
        ip(&["link", "set", &name, "netns", &ns.name, "name", ifname]);
        self.push_undo(&[
            "-n", &ns.name, "link", "set", ifname, "netns", "1", "name", &name,
        ]);
        ip(&["-n", &ns.name, "link", "set", ifname, "address", mac]);
        ip(&["-n", &ns.name, "link", "set", ifname, "up"]);
        name
    }

    /// Ports `create` moved from `home` (the host when `None`) into `pod`:
    /// moved back if the test ends before release does it.
    fn moved_in(&mut self, pod: &Ns, home: Option<&Ns>, ports: &[&str]) {
        let target = home.map_or("1", |h| h.name.as_str()).to_string();
        for port in ports {
            self.push_undo(&["-n", &pod.name, "link", "set", port, "netns", &target]);
        }
    }

    /// A dummy link named `name` on the host, deleted again on drop.
    fn dummy_at_home(&mut self, name: &str) {
        ip(&["link", "add", name, "type", "dummy"]);
        self.push_undo(&["link", "del", name]);
    }

    /// Sets VF `index` of PF `pf`'s trust and, when given, its MAC from the
    /// PF side; cleared again on drop, before the VF's own MAC is put back
    /// (the VF refuses a MAC of its own while its PF's is set).
    fn pf_side(&mut self, pf: usize, index: u32, mac: Option<&str>, trust: bool) {
        let pf_name = self.pfs[pf].clone();
        let vf = index.to_string();
        let trust = if trust { "on" } else { "off" };
        ip(&["link", "set", &pf_name, "vf", &vf, "trust", trust]);
        self.push_undo(&["link", "set", &pf_name, "vf", &vf, "trust", "off"]);
        if let Some(mac) = mac {
            ip(&["link", "set", &pf_name, "vf", &vf, "mac", mac]);
            self.push_undo(&[
                "link",
                "set",
                &pf_name,
                "vf",
                &vf,
                "mac",
                "00:00:00:00:00:00",
            ]);
        }
    }

    /// A peer namespace with VF `PEER_VF` of the first PF at `PEER_ADDR`.
    fn peer(&mut self) {
        self.peer_on(0, PEER_ADDR);
    }

    /// A peer namespace with VF `PEER_VF` of PF `pf` at `addr`.
    fn peer_on(&mut self, pf: usize, addr: &str) {
        let peer = self.netns("pe");
        let mac = format!("02:00:00:be:e7:{:02x}", pf + 1);
        self.vf_in(pf, PEER_VF, &peer, "net1", &mac);
        ip(&[
            "-n",
            &peer.name,
            "addr",
            "add",
            &format!("{addr}/24"),
            "dev",
            "net1",
        ]);
    }

    /// Waits until every VF is back on the host (the kernel returns those
    /// of deleted namespaces in the background), under any name.
    fn wait_for_vfs(&self) -> Vec<Option<String>> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let names: Vec<Option<String>> = self
                .vfs
                .iter()
                .map(|vf| vf_netdev_at_home(&self.pfs[vf.pf], vf.index))
                .collect();
            if names.iter().all(Option::is_some) || Instant::now() >= deadline {
                return names;
            }
            sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let cleanup = |args: &[&str]| {
            // Steps for things release already put back fail; that is fine.
            if let Err(e) = try_ip(args) {
                eprintln!("cleanup: {e}");
            }
        };
        for step in self.undo.drain(..).rev() {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            cleanup(&args);
        }
        let names = self.wait_for_vfs();
        for (vf, now) in self.vfs.iter().zip(names) {
            let b = &vf.before;
            let Some(now) = now else {
                eprintln!(
                    "cleanup: VF {} of {} never came back",
                    vf.index, self.pfs[vf.pf]
                );
                continue;
            };
            let name = b.name.to_string();
            if now != name {
                cleanup(&["link", "set", &now, "down"]);
                cleanup(&["link", "set", &now, "name", &name]);
            }
            cleanup(&["link", "set", &name, "down"]);
            cleanup(&["link", "set", &name, "mtu", &b.mtu.to_string()]);
            cleanup(&["link", "set", &name, "address", &b.mac.unwrap().to_string()]);
            if b.up {
                cleanup(&["link", "set", &name, "up"]);
            }
        }
    }
}

/// Runs a test body on a fresh rig, then checks every VF it touched is
/// back as it was in the host namespace.
fn with_rig(body: impl FnOnce(&mut Rig)) {
    let (before, host) = {
        let mut rig = Rig::new();
        body(&mut rig);
        let before: Vec<Snapshot> = rig.vfs.iter().map(|vf| vf.before.clone()).collect();
        (before, NetNs::current().unwrap().netlink().unwrap())
    };
    let after: Vec<Snapshot> = before
        .iter()
        .map(|b| Snapshot::from(&host.link(b.name).unwrap()))
        .collect();
    assert_eq!(after, before, "the lab's VFs were not put back");
}

/// Polls `check` until it holds (a generous bound: the guest is emulated
/// and the machine may be busy).
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

fn pings(ns: &Ns, addr: &str) -> bool {
    Command::new(IP)
        .args([
            "netns", "exec", &ns.name, "ping", "-c", "1", "-W", "1", addr,
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A ping gets through within the bound (the first may wait for ARP).
fn assert_reaches(ns: &Ns, addr: &str) {
    wait_for(&format!("a ping from {} to {addr}", ns.name), || {
        pings(ns, addr)
    });
}

/// Pings in a burst: how many.
const PING_BURST: u64 = 20;

/// Pings `addr` from `ns` `PING_BURST` times, 50 ms apart, and asserts
/// every ping was answered.
fn assert_no_loss(ns: &Ns, addr: &str) {
    let count = PING_BURST.to_string();
    let out = Command::new(IP)
        .args([
            "netns", "exec", &ns.name, "ping", "-c", &count, "-i", "0.05", "-W", "2", addr,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // busybox: "20 packets transmitted, 20 packets received, 0% packet loss"
    let counts: Vec<u64> = text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("no ping statistics from {}: {text}", ns.name))
        .split(',')
        .filter_map(|part| part.split_whitespace().next()?.parse().ok())
        .take(2)
        .collect();
    assert_eq!(
        counts,
        [PING_BURST, PING_BURST],
        "pings from {} to {addr} lost: {text}",
        ns.name
    );
}

/// Frames `link` in `ns` has sent (sysfs as `ip netns exec` mounts it for
/// the namespace).
fn tx_packets(ns: &Ns, link: &str) -> u64 {
    let path = format!("/sys/class/net/{link}/statistics/tx_packets");
    let out = Command::new(IP)
        .args(["netns", "exec", &ns.name, "cat", &path])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .parse()
        .unwrap_or_else(|e| panic!("{path} in {}: {e}: {text:?}", ns.name))
}

fn inspect_ok(pod: &Ns, bond: &str) -> BondInfo {
    inspect(&pod.nl, &n(bond)).unwrap_or_else(|e| panic!("{}", Chain(&e)))
}

fn wait_active(pod: &Ns, bond: &str, port: &str) {
    wait_for(
        &format!("{port} to become the active port of {bond}"),
        || inspect_ok(pod, bond).active_port.is_some_and(|p| p == port),
    );
}

/// Waits until bond0 in `pod` sees `port`'s link as `status`.
fn wait_mii(pod: &Ns, port: &str, status: MiiStatus) {
    wait_for(&format!("bond0 to see {port} {status}"), || {
        inspect_ok(pod, "bond0")
            .ports
            .iter()
            .any(|p| p.link.name == port && p.mii_status == Some(status))
    });
}

fn wait_carrier(pod: &Ns, link: &str) {
    wait_for(&format!("carrier on {link}"), || {
        pod.nl.link(link).unwrap().is_lower_up()
    });
}

/// A pod with VF `index` of each PF as `p0` and `p1` (MACs set, up), a
/// peer to ping, and the ports' state before any bond.
struct Scene {
    pod: Ns,
    before: Vec<Snapshot>,
}

fn scene(rig: &mut Rig, index: u32, tag: u8) -> Scene {
    let pod = rig.netns("po");
    rig.vf_in(0, index, &pod, "p0", &format!("02:00:00:b0:{tag:02x}:01"));
    rig.vf_in(1, index, &pod, "p1", &format!("02:00:00:b0:{tag:02x}:02"));
    rig.peer();
    let before = snapshots(&pod.nl, &["p0", "p1"]);
    Scene { pod, before }
}

impl Scene {
    fn ports_now(&self) -> Vec<Snapshot> {
        snapshots(&self.pod.nl, &["p0", "p1"])
    }

    /// Puts the pod's address on bond0, waits for `active` to carry its
    /// traffic (in modes with an active port; which port is active first
    /// is a race unless it is the primary), and pings the peer.
    fn serve(&self, active: Option<&str>) {
        ip(&[
            "-n",
            &self.pod.name,
            "addr",
            "add",
            POD_ADDR,
            "dev",
            "bond0",
        ]);
        match active {
            Some(port) => wait_active(&self.pod, "bond0", port),
            None => wait_for("both ports up in the bond", || {
                inspect_ok(&self.pod, "bond0")
                    .ports
                    .iter()
                    .all(|p| p.mii_status == Some(MiiStatus::Up))
            }),
        }
        assert_reaches(&self.pod, PEER_ADDR);
    }

    fn release(&self, record: &BondRecord) {
        release_all(Some(&self.pod.pod()), None, record);
    }
}

/// Releases the bond of `record`, which must find every port.
fn release_all(pod: Option<&Pod<'_>>, home: Option<&Home<'_>>, record: &BondRecord) {
    let released = release(pod, home, record).unwrap_or_else(|e| panic!("{}", Chain(&e)));
    assert!(
        released.missing.is_empty(),
        "every port is found: {:?}",
        released.missing
    );
}

fn ports() -> [Port; 2] {
    [Port::vf(n("p0")), Port::vf(n("p1"))]
}

/// The bond a pod over two VFs wants: active-backup, link monitoring, and
/// the bond taking the active port's MAC.
fn active_backup() -> BondConfig {
    BondConfig::new(n("bond0"), BondMode::ActiveBackup)
        .miimon(100)
        .fail_over_mac(FailOverMac::Active)
}

#[test]
#[ignore = "lab"]
fn lab_active_backup_fails_over_and_back() {
    with_rig(|rig| {
        let s = scene(rig, 1, 1);
        let config = active_backup().primary(n("p0"));

        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        assert_eq!(created.warnings, vec![], "active-backup done right");
        s.serve(Some("p0"));
        let info = inspect_ok(&s.pod, "bond0");
        assert_eq!(info.link.index, created.index);
        assert_eq!(info.mode, BondMode::ActiveBackup);
        assert_eq!(info.miimon, 100);
        assert_eq!(info.fail_over_mac, FailOverMac::Active);
        assert_eq!(info.primary, Some(n("p0")));
        assert!(info.link.is_up());
        let states: Vec<(IfName, Option<PortState>)> =
            info.ports.iter().map(|p| (p.link.name, p.state)).collect();
        assert_eq!(
            states,
            [
                (n("p0"), Some(PortState::Active)),
                (n("p1"), Some(PortState::Backup))
            ]
        );
        // fail_over_mac active: ports keep their own MACs.
        let macs = |snaps: &[Snapshot]| snaps.iter().map(|p| p.mac).collect::<Vec<_>>();
        assert_eq!(
            info.ports.iter().map(|p| p.link.mac).collect::<Vec<_>>(),
            macs(&s.before)
        );
        assert_eq!(
            info.link.mac, s.before[0].mac,
            "the bond wears the active port's MAC"
        );

        // The active port goes down: p1 takes over, traffic keeps flowing.
        s.pod.nl.set_down("p0").unwrap();
        wait_active(&s.pod, "bond0", "p1");
        let info = inspect_ok(&s.pod, "bond0");
        assert_eq!(info.ports[0].mii_status, Some(MiiStatus::Down));
        assert!(info.ports[0].link_failure_count >= 1, "{info:?}");
        assert_eq!(info.link.mac, s.before[1].mac);
        assert_reaches(&s.pod, PEER_ADDR);

        // And back: the primary is preferred again once its link is up.
        s.pod.nl.set_up("p0").unwrap();
        wait_active(&s.pod, "bond0", "p0");
        assert_reaches(&s.pod, PEER_ADDR);

        s.release(&created.record);
        assert_eq!(s.ports_now(), s.before);
        assert_eq!(link_names(&s.pod.nl), ["lo", "p0", "p1"]);
    });
}

#[test]
#[ignore = "lab"]
fn lab_balance_rr_and_xor_pass_traffic_with_a_port_down() {
    for (i, mode) in [BondMode::BalanceRr, BondMode::BalanceXor]
        .into_iter()
        .enumerate()
    {
        with_rig(|rig| {
            let s = scene(rig, 2, 2 + i as u8);
            rig.peer_on(1, PEER1_ADDR);
            // Both ports send with the bond's MAC: the VFs need trust. (Set
            // after the VFs are given, so it is undone before their MACs.)
            rig.pf_side(0, 2, Some("02:00:00:b2:00:01"), true);
            rig.pf_side(1, 2, Some("02:00:00:b2:00:02"), true);
            let mut config = BondConfig::new(n("bond0"), mode).miimon(100);
            if mode == BondMode::BalanceXor {
                config = config
                    .xmit_hash_policy(XmitHashPolicy::Layer34)
                    .all_slaves_active(true);
            }

            let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
            assert_eq!(
                created.warnings,
                vec![Warning::VfsNeedTrust {
                    mode,
                    ports: vec![n("p0"), n("p1")]
                }]
            );
            s.serve(None);
            let info = inspect_ok(&s.pod, "bond0");
            assert_eq!(info.mode, mode);
            assert!(
                info.ports.iter().all(|p| p.link.mac == info.link.mac),
                "every port wears the bond's MAC: {info:?}"
            );
            if mode == BondMode::BalanceXor {
                assert_eq!(info.xmit_hash_policy, XmitHashPolicy::Layer34);
                assert!(info.all_slaves_active);
            }

            // Both ports up: no loss, and round robin sends on both.
            let sent_before = [tx_packets(&s.pod, "p0"), tx_packets(&s.pod, "p1")];
            assert_no_loss(&s.pod, PEER_ADDR);
            if mode == BondMode::BalanceRr {
                for (port, before) in ["p0", "p1"].into_iter().zip(sent_before) {
                    let sent = tx_packets(&s.pod, port) - before;
                    assert!(sent >= PING_BURST / 4, "balance-rr sent {sent} on {port}");
                }
            }
            // Each port down in turn, and back up before the next. A PF
            // hands a frame for one of its own VFs' MACs to that VF, so a
            // peer's replies to the bond's MAC only reach the port on its
            // own PF: each time, the peer pinged is the one on the PF of
            // the port that stays up.
            assert_reaches(&s.pod, PEER1_ADDR);
            for (port, peer) in [("p0", PEER1_ADDR), ("p1", PEER_ADDR)] {
                s.pod.nl.set_down(port).unwrap();
                wait_mii(&s.pod, port, MiiStatus::Down);
                assert_no_loss(&s.pod, peer);
                s.pod.nl.set_up(port).unwrap();
                wait_mii(&s.pod, port, MiiStatus::Up);
            }
            assert_no_loss(&s.pod, PEER_ADDR);

            s.release(&created.record);
            assert_eq!(s.ports_now(), s.before, "{mode}");
        });
    }
}

#[test]
#[ignore = "lab"]
fn lab_release_returns_both_vfs_intact() {
    with_rig(|rig| {
        let mut s = scene(rig, 3, 4);
        // One port down before: release must leave it down.
        s.pod.nl.set_down("p1").unwrap();
        s.before = s.ports_now();
        // fail_over_mac follow moves MACs between the ports on failover,
        // and a smaller bond MTU is pushed onto both.
        let config = active_backup()
            .fail_over_mac(FailOverMac::Follow)
            .mtu(1400)
            .primary(n("p0"));
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        assert_eq!(
            created.warnings,
            vec![Warning::ActiveBackupVfsNeedFailOverMacActive {
                ports: vec![n("p0"), n("p1")]
            }]
        );
        s.serve(Some("p0"));
        let info = inspect_ok(&s.pod, "bond0");
        assert!(info.ports.iter().all(|p| p.link.mtu == 1400));
        s.pod.nl.set_down("p0").unwrap();
        wait_active(&s.pod, "bond0", "p1");
        assert_reaches(&s.pod, PEER_ADDR);
        let swapped = inspect_ok(&s.pod, "bond0");
        assert_ne!(
            swapped.ports.iter().map(|p| p.link.mac).collect::<Vec<_>>(),
            s.before.iter().map(|p| p.mac).collect::<Vec<_>>(),
            "follow moved MACs around: {swapped:?}"
        );

        s.release(&created.record);
        assert_eq!(s.ports_now(), s.before);
        assert_eq!(link_names(&s.pod.nl), ["lo", "p0", "p1"]);
        assert!(matches!(
            inspect(&s.pod.nl, &n("bond0")),
            Err(Error::NoSuchBond { .. })
        ));
        // Releasing again finds nothing to do: one dump (and, before 5.16,
        // the device of each link in the pod: lo, p0, p1).
        let extra = extra_device_trips(&s.pod.nl, "p0", 3);
        let trips = s.pod.nl.round_trips();
        s.release(&created.record);
        assert_eq!(s.pod.nl.round_trips() - trips, 1 + extra);
        assert_eq!(s.ports_now(), s.before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_ports_from_the_host_are_moved_in_and_back() {
    with_rig(|rig| {
        let a = rig.vf_at_home(0, 4, "02:00:00:b4:00:01");
        let b = rig.vf_at_home(1, 4, "02:00:00:b4:00:02");
        let pod = rig.netns("po");
        rig.peer();
        let before = snapshots(&rig.host, &[&a, &b]);
        let ports = [Port::vf(n(&a)), Port::vf(n(&b))];

        // Named before it is moved in: without a primary, which port is
        // active first is a race.
        let config = active_backup().primary(n(&a));
        let created = create(&pod.pod(), Some(&rig.host_home()), &config, &ports).unwrap();
        rig.moved_in(&pod, None, &[&a, &b]);
        assert!(created.record.ports.iter().all(|p| p.from_home));
        let mut in_pod = link_names(&pod.nl);
        in_pod.retain(|n| n != "lo");
        let mut want = vec![a.clone(), b.clone(), "bond0".to_string()];
        want.sort();
        assert_eq!(in_pod, want, "ports keep their names in the pod");
        ip(&["-n", &pod.name, "addr", "add", POD_ADDR, "dev", "bond0"]);
        wait_active(&pod, "bond0", &a);
        assert_reaches(&pod, PEER_ADDR);

        release_all(Some(&pod.pod()), Some(&rig.host_home()), &created.record);
        assert_eq!(link_names(&pod.nl), ["lo"]);
        assert_eq!(snapshots(&rig.host, &[&a, &b]), before);

        // Again, then the pod dies with the bond built: the kernel hands
        // the VFs back to the host in its own time, and release waits for
        // them and finishes the job there.
        let created = create(&pod.pod(), Some(&rig.host_home()), &config, &ports).unwrap();
        wait_active(&pod, "bond0", &a);
        pod.kill();
        release_all(None, Some(&rig.host_home()), &created.record);
        assert_eq!(snapshots(&rig.host, &[&a, &b]), before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_a_port_back_from_a_dead_pod_under_another_name_is_found() {
    with_rig(|rig| {
        let a = rig.vf_at_home(0, 0, "02:00:00:b9:00:01");
        let b = rig.vf_at_home(1, 0, "02:00:00:b9:00:02");
        let pod = rig.netns("po");
        let before = snapshots(&rig.host, &[&a, &b]);
        let config = active_backup().primary(n(&a));
        let ports = [Port::vf(n(&a)), Port::vf(n(&b))];
        let created = create(&pod.pod(), Some(&rig.host_home()), &config, &ports).unwrap();
        rig.moved_in(&pod, None, &[&a, &b]);
        wait_active(&pod, "bond0", &a);

        // While a is away, another link takes its name on the host: when
        // the pod dies, the kernel brings a back as devN.
        rig.dummy_at_home(&a);
        pod.kill();
        wait_for("the VFs to come back", || {
            vf_netdev_at_home(&rig.pfs[0], 0).is_some_and(|name| name.starts_with("dev"))
                && vf_netdev_at_home(&rig.pfs[1], 0).is_some()
        });
        ip(&["link", "del", &a]);

        release_all(None, Some(&rig.host_home()), &created.record);
        assert_eq!(snapshots(&rig.host, &[&a, &b]), before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_a_link_the_pod_dresses_as_a_port_is_not_taken_for_it() {
    with_rig(|rig| {
        let a = rig.vf_at_home(0, 4, "02:00:00:bb:00:01");
        let b = rig.vf_at_home(1, 4, "02:00:00:bb:00:02");
        let pod = rig.netns("po");
        let before = snapshots(&rig.host, &[&a, &b]);
        let devices: Vec<Option<String>> = [&a, &b]
            .iter()
            .map(|name| {
                let link = rig.host.link(name.as_str()).unwrap();
                rig.host.device_of(&link).unwrap()
            })
            .collect();
        let config = active_backup().primary(n(&a));
        let ports = [Port::vf(n(&a)), Port::vf(n(&b))];
        let created = create(&pod.pod(), Some(&rig.host_home()), &config, &ports).unwrap();
        rig.moved_in(&pod, None, &[&a, &b]);
        let recorded: Vec<Option<String>> = created
            .record
            .ports
            .iter()
            .map(|p| p.device.clone())
            .collect();
        assert_eq!(recorded, devices, "each VF's PCI function is recorded");
        assert!(devices.iter().all(Option::is_some));
        wait_active(&pod, "bond0", &a);

        // The pod hides the VF under another name and gives a veth its
        // name, MAC and the bond as controller.
        ip(&["-n", &pod.name, "link", "set", &a, "nomaster"]);
        ip(&["-n", &pod.name, "link", "set", &a, "down"]);
        ip(&["-n", &pod.name, "link", "set", &a, "name", "hidden"]);
        ip(&[
            "-n",
            &pod.name,
            "link",
            "add",
            &a,
            "address",
            "02:00:00:bb:00:01",
            "type",
            "veth",
            "peer",
            "name",
            "decoy",
        ]);

        release_all(Some(&pod.pod()), Some(&rig.host_home()), &created.record);
        assert_eq!(snapshots(&rig.host, &[&a, &b]), before);
        let mut left = link_names(&pod.nl);
        left.sort();
        let mut want = vec!["decoy".to_string(), "lo".to_string(), a.clone()];
        want.sort();
        assert_eq!(left, want, "the veth stays in the pod");
    });
}

#[test]
#[ignore = "lab"]
fn lab_ports_of_a_dead_pod_go_back_to_a_home_that_is_not_the_host() {
    with_rig(|rig| {
        let home = rig.netns("hm");
        rig.vf_in(0, 2, &home, "h0", "02:00:00:ba:00:01");
        rig.vf_in(1, 2, &home, "h1", "02:00:00:ba:00:02");
        home.nl.set_mtu("h1", 1400).unwrap();
        let before = snapshots(&home.nl, &["h0", "h1"]);
        let pod = rig.netns("po");
        let config = active_backup().primary(n("h0"));
        let ports = [Port::vf(n("h0")), Port::vf(n("h1"))];
        let created = create(&pod.pod(), Some(&home.home()), &config, &ports).unwrap();
        rig.moved_in(&pod, Some(&home), &["h0", "h1"]);
        wait_active(&pod, "bond0", "h0");

        // The kernel returns the VFs of the dead pod to the host, not to
        // their home: release finds them there and moves them home.
        pod.kill();
        release_all(None, Some(&home.home()), &created.record);
        assert_eq!(snapshots(&home.nl, &["h0", "h1"]), before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_without_an_mtu_the_bond_keeps_its_ports_mtu() {
    with_rig(|rig| {
        let mut s = scene(rig, 3, 9);
        for port in ["p0", "p1"] {
            s.pod.nl.set_mtu(port, 1400).unwrap();
        }
        s.before = s.ports_now();
        // A new bond has MTU 1500, which enslaving would push onto its
        // ports; it is created with theirs instead.
        let config = active_backup().primary(n("p0"));
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        let info = inspect_ok(&s.pod, "bond0");
        assert_eq!(info.link.mtu, 1400);
        assert!(info.ports.iter().all(|p| p.link.mtu == 1400), "{info:?}");
        s.serve(Some("p0"));
        s.release(&created.record);
        assert_eq!(s.ports_now(), s.before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_balance_tlb_monitors_links_without_being_told() {
    with_rig(|rig| {
        let s = scene(rig, 5, 10);
        // No miimon: the kernel turns it on at 100 ms in balance-tlb, so
        // an updelay of 200 is whole and there is nothing to warn about
        // but the VFs' trust.
        let config = BondConfig::new(n("bond0"), BondMode::BalanceTlb).updelay(200);
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        assert_eq!(
            created.warnings,
            vec![Warning::VfsNeedTrust {
                mode: BondMode::BalanceTlb,
                ports: vec![n("p0"), n("p1")]
            }]
        );
        let info = inspect_ok(&s.pod, "bond0");
        assert_eq!(
            (info.mode, info.miimon, info.updelay),
            (BondMode::BalanceTlb, 100, 200)
        );
        s.release(&created.record);
        assert_eq!(s.ports_now(), s.before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_a_failed_creation_leaves_nothing_behind() {
    with_rig(|rig| {
        let mut s = scene(rig, 5, 5);
        // p1's PF gives it a MAC and no trust: it refuses the bond's MAC.
        // igbvf takes the PF's MAC when it resets, as it does going down.
        rig.pf_side(1, 5, Some("02:00:00:b5:00:99"), false);
        s.pod.nl.set_down("p1").unwrap();
        s.pod.nl.set_up("p1").unwrap();
        assert_eq!(
            s.pod.nl.link("p1").unwrap().mac,
            Some("02:00:00:b5:00:99".parse().unwrap())
        );
        s.before = s.ports_now();
        let names_before = link_names(&s.pod.nl);

        // A port that is not there: refused before anything changes.
        let config = BondConfig::new(n("bond0"), BondMode::BalanceRr).miimon(100);
        let trips = s.pod.nl.round_trips();
        match create(
            &s.pod.pod(),
            None,
            &config,
            &[Port::vf(n("p0")), Port::vf(n("gone0"))],
        ) {
            Err(e @ Error::PortNotFound { .. }) => assert_eq!(e.port(), Some(&n("gone0"))),
            other => panic!("expected PortNotFound, got {other:?}"),
        }
        assert_eq!(s.pod.nl.round_trips() - trips, 1, "only the lookup");

        // The kernel refuses the second port: everything is undone.
        let err = create(&s.pod.pod(), None, &config, &ports()).unwrap_err();
        assert!(matches!(err, Error::Netlink { .. }), "undo worked: {err}");
        assert_eq!(err.step(), Some(Step::Enslave), "{err}");
        assert_eq!(err.port(), Some(&n("p1")), "{err}");
        assert_eq!(err.to_string(), "bond bond0: enslave port p1");
        assert!(
            Chain(&err)
                .to_string()
                .starts_with("bond bond0: enslave port p1: set controller #"),
            "the kernel's refusal follows: {}",
            Chain(&err)
        );
        assert_eq!(link_names(&s.pod.nl), names_before, "no bond left");
        assert_eq!(s.ports_now(), s.before);

        // And p0 still works on its own.
        ip(&["-n", &s.pod.name, "addr", "add", POD_ADDR, "dev", "p0"]);
        wait_carrier(&s.pod, "p0");
        assert_reaches(&s.pod, PEER_ADDR);
        ip(&["-n", &s.pod.name, "addr", "flush", "dev", "p0"]);
    });
}

#[test]
#[ignore = "lab"]
fn lab_create_round_trips() {
    with_rig(|rig| {
        let s = scene(rig, 1, 6);
        let config = active_backup().primary(n("p1"));

        let trips = s.pod.nl.round_trips();
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        let create_trips = s.pod.nl.round_trips() - trips;
        eprintln!("round trips: create with two ports that were up: {create_trips}");
        // Dump, create (echoing its index; before 6.3 a lookup of it), per
        // port down and enslave, bond up; before 5.16 each port's device.
        let extra = u64::from(!kernel_at_least(6, 3)) + extra_device_trips(&s.pod.nl, "p0", 2);
        assert_eq!(create_trips, 7 + extra);
        s.serve(Some("p1"));

        let trips = s.pod.nl.round_trips();
        s.release(&created.record);
        let release_trips = s.pod.nl.round_trips() - trips;
        eprintln!("round trips: release of two ports: {release_trips}");
        // Dump, delete, dump again (deleting the bond released and closed
        // the ports), one message per port to set it up again; before 5.16
        // the device of each link the second dump finds (lo, p0, p1).
        assert_eq!(release_trips, 5 + extra_device_trips(&s.pod.nl, "p0", 3));

        // Ports that are down already skip their down message.
        s.pod.nl.set_down("p0").unwrap();
        s.pod.nl.set_down("p1").unwrap();
        let trips = s.pod.nl.round_trips();
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        let down_trips = s.pod.nl.round_trips() - trips;
        eprintln!("round trips: create with two ports that were down: {down_trips}");
        assert_eq!(down_trips, 5 + extra);
        s.release(&created.record);
    });
}

/// Reads links `indexes` with the kernel's own bytes, through a socket of
/// our own in `ns`: one RTM_GETLINK each, without statistics.
fn raw_links(ns: &NetNs, indexes: &[u32]) -> Vec<Vec<u8>> {
    use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
    let socket = ns
        .run(|| {
            let mut s = Socket::new(NETLINK_ROUTE).unwrap();
            s.bind_auto().unwrap();
            s.connect(&SocketAddr::new(0, 0)).unwrap();
            s
        })
        .unwrap();
    indexes
        .iter()
        .map(|&index| {
            let mut msg = LinkMessage::default();
            msg.header.index = index;
            msg.attributes
                .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
            let mut header = NetlinkHeader::default();
            header.flags = NLM_F_REQUEST;
            header.sequence_number = index;
            let mut req = NetlinkMessage::new(
                header,
                NetlinkPayload::from(RouteNetlinkMessage::GetLink(msg)),
            );
            req.finalize();
            let mut bytes = vec![0; req.buffer_len()];
            req.serialize(&mut bytes);
            socket.send(&bytes, 0).unwrap();
            let (reply, _) = socket.recv_from_full().unwrap();
            reply
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks that what netns's decoder read of a link (`seen`) is what
/// netlink-packet-route, a decoder of its own, reads in the kernel's reply
/// `bytes` about the same link.
fn assert_read_alike(bytes: &[u8], seen: &netplumb_bond::LinkInfo) {
    let parsed = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes).unwrap();
    let NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) = parsed.payload else {
        panic!("not a link: {parsed:?}")
    };
    assert_eq!(link.header.index, seen.index);
    let mut bond = None;
    let mut port = None;
    for attr in &link.attributes {
        match attr {
            LinkAttribute::IfName(name) => assert_eq!(seen.name, name.as_str()),
            LinkAttribute::Mtu(mtu) => assert_eq!(seen.mtu, *mtu, "{}", seen.name),
            LinkAttribute::Address(mac) => {
                assert_eq!(seen.mac.map(|m| m.0.to_vec()).as_ref(), Some(mac))
            }
            LinkAttribute::PermAddress(mac) => {
                assert_eq!(seen.permanent_mac.map(|m| m.0.to_vec()).as_ref(), Some(mac))
            }
            LinkAttribute::Controller(index) => {
                assert_eq!(seen.controller, Some(*index).filter(|&i| i != 0))
            }
            LinkAttribute::LinkInfo(infos) => {
                for info in infos {
                    match info {
                        NlLinkInfo::Data(InfoData::Bond(options)) => bond = Some(options.clone()),
                        NlLinkInfo::PortData(InfoPortData::BondPort(data)) => {
                            port = Some(data.clone())
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(options) = bond {
        let data = seen
            .bond
            .as_ref()
            .expect("netns read the bond's IFLA_INFO_DATA");
        for option in options {
            match option {
                InfoBond::Mode(mode) => assert_eq!(data.mode, Some(u8::from(mode))),
                InfoBond::MiiMon(ms) => assert_eq!(data.miimon, Some(ms)),
                InfoBond::UpDelay(ms) => assert_eq!(data.updelay, Some(ms)),
                InfoBond::DownDelay(ms) => assert_eq!(data.downdelay, Some(ms)),
                InfoBond::FailOverMac(p) => assert_eq!(data.fail_over_mac, Some(u8::from(p))),
                InfoBond::XmitHashPolicy(p) => {
                    assert_eq!(data.xmit_hash_policy, Some(u8::from(p)))
                }
                InfoBond::AllPortsActive(v) => {
                    assert_eq!(data.all_slaves_active, Some(u8::from(v)))
                }
                InfoBond::TlbDynamicLb(on) => assert_eq!(data.tlb_dynamic_lb, Some(u8::from(on))),
                InfoBond::Primary(index) => assert_eq!(data.primary, Some(index)),
                InfoBond::ActivePort(index) => assert_eq!(data.active_port, Some(index)),
                _ => {}
            }
        }
    }
    if let Some(attrs) = port {
        let data = seen
            .bond_port
            .as_ref()
            .expect("netns read the port's IFLA_INFO_SLAVE_DATA");
        for attr in attrs {
            match attr {
                InfoBondPort::BondPortState(state) => assert_eq!(data.state, Some(u8::from(state))),
                InfoBondPort::MiiStatus(mii) => assert_eq!(data.mii_status, Some(u8::from(mii))),
                InfoBondPort::LinkFailureCount(count) => {
                    assert_eq!(data.link_failure_count, Some(count))
                }
                InfoBondPort::PermHwaddr(mac) => {
                    assert_eq!(data.permanent_mac.map(|m| m.0.to_vec()), Some(mac))
                }
                _ => {}
            }
        }
    }
}

/// Captures the kernel's replies about a bond and its ports (printed, to
/// keep as test data) and checks they say what `inspect` read.
fn capture(pod: &Ns, label: &str) -> BondInfo {
    let info = inspect_ok(pod, "bond0");
    let mut links = vec![&info.link];
    links.extend(info.ports.iter().map(|p| &p.link));
    let indexes: Vec<u32> = links.iter().map(|l| l.index).collect();
    let replies = raw_links(&pod.ns, &indexes);
    for (bytes, seen) in replies.iter().zip(&links) {
        eprintln!("capture {label} {}: {}", seen.index, hex(bytes));
        assert_read_alike(bytes, seen);
    }
    assert!(info.link.bond.is_some(), "{info:?}");
    info
}

#[test]
#[ignore = "lab"]
fn lab_the_kernels_own_replies_say_what_inspect_reads() {
    with_rig(|rig| {
        let s = scene(rig, 3, 7);

        let config = active_backup().updelay(200).primary(n("p0"));
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        s.serve(Some("p0"));
        let info = capture(&s.pod, "active-backup");
        assert_eq!(info.updelay, 200);
        s.release(&created.record);

        let config = BondConfig::new(n("bond0"), BondMode::BalanceXor)
            .miimon(100)
            .xmit_hash_policy(XmitHashPolicy::Layer23)
            .all_slaves_active(true)
            .mtu(1400);
        let created = create(&s.pod.pod(), None, &config, &ports()).unwrap();
        s.serve(None);
        let info = capture(&s.pod, "balance-xor");
        assert_eq!(info.xmit_hash_policy, XmitHashPolicy::Layer23);
        s.release(&created.record);
    });
}

#[test]
#[ignore = "lab"]
fn lab_plan_record_is_kept_before_anything_changes() {
    with_rig(|rig| {
        let s = scene(rig, 0, 8);
        let config = active_backup().primary(n("p0"));
        let pod = s.pod.pod();
        let permanent: Vec<_> = ["p0", "p1"]
            .iter()
            .map(|p| s.pod.nl.link(*p).unwrap().permanent_mac)
            .collect();
        let ready = plan(&pod, None, &config, &ports()).unwrap();
        // What a plugin writes to its journal before building.
        let journal = serde_json::to_string(ready.record()).unwrap();
        let created = ready.apply().unwrap();
        s.serve(Some("p0"));
        // A later DEL, from the journal alone.
        let record: BondRecord = serde_json::from_str(&journal).unwrap();
        // What apply adds to the plan's record is the bond's index.
        let mut planned = created.record.clone();
        assert_eq!(planned.index, Some(created.index));
        planned.index = None;
        assert_eq!(planned, record);
        // Every port was recorded with its index and igbvf's permanent MAC.
        for ((port, before), permanent) in record.ports.iter().zip(&s.before).zip(permanent) {
            let now = s.pod.nl.link(port.name).unwrap();
            assert_eq!(port.index, Some(now.index));
            assert_eq!(port.permanent_mac, permanent, "{port:?}");
            assert!(port.permanent_mac.is_some(), "{port:?}");
            assert_eq!(Some(port.mac), before.mac);
        }
        s.release(&record);
        assert_eq!(s.ports_now(), s.before);
    });
}

#[test]
#[ignore = "lab"]
fn lab_the_build_bond_example_builds_and_releases_a_bond() {
    let examples = std::env::var("NETPLUMB_LAB_EXAMPLES")
        .expect("this is a lab test: run it through `cargo xtask lab`");
    let example = std::path::Path::new(&examples).join("build_bond");

    let out = Command::new(example).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("released; ports not found: []"), "{stdout}");
}
