//! The `sriov` and `bond` plugins together, driven as a runtime drives
//! them, against the lab's real kernel and emulated igb VFs: seed 004
//! (OpenShift's pod-level bonding) end to end, the balance modes, DEL
//! whatever is gone, ADDs that fail, CHECK, and ports from the host. Run
//! them with `cargo xtask lab lab_bond`; `cargo test` skips them.

mod common;

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use common::{
    assert_as_before, exec, lab_pfs, lab_vf, snapshot, try_ip, unique, wait_for, Attachment, Lab,
    Network, Pod, IP,
};
use netplumb_netns::{LinkInfo, MacAddr};
use netplumb_plugin::CHECK_FAILED;
use netplumb_vf::{IfName, Vf, VfNetdev, VfState};
use serde_json::{json, Value};

/// The VF index each test takes of both PFs, so that no two tests share a
/// VF; the peers' VF is shared by the tests that pull cables, which hold
/// the wire alone.
const SEED_VF: u32 = 0;
const BALANCE_VF: u32 = 1;
const DEL_VF: u32 = 2;
const FAILED_VF: u32 = 3;
const CHECK_VF: u32 = 4;
const HOST_VF: u32 = 5;
const PEER_VF: u32 = 6;

/// How long any one test may run before it counts as hung.
const TEST_LIMIT: Duration = Duration::from_secs(240);
/// Carrier, failover and ARP all take a while under emulation.
const SETTLE: Duration = Duration::from_secs(30);
/// Pings in a burst that must all be answered.
const BURST: u64 = 10;

/// A pulled cable takes the link of every VF of its PF: tests that pull
/// one, and those that share the peers' VFs with them, hold the wire
/// alone; the others share it.
static WIRE: RwLock<()> = RwLock::new(());

fn wire_shared() -> RwLockReadGuard<'static, ()> {
    WIRE.read().unwrap_or_else(|e| e.into_inner())
}

fn wire_alone() -> RwLockWriteGuard<'static, ()> {
    WIRE.write().unwrap_or_else(|e| e.into_inner())
}

/// Ends the test binary, failing, if the test is still running after
/// [`TEST_LIMIT`]: a plugin that hangs must fail the run, not stall it.
struct Deadline(Arc<AtomicBool>);

impl Deadline {
    fn new(test: &'static str) -> Deadline {
        let done = Arc::new(AtomicBool::new(false));
        let watched = Arc::clone(&done);
        std::thread::spawn(move || {
            let end = Instant::now() + TEST_LIMIT;
            while !watched.load(Ordering::Relaxed) {
                if Instant::now() >= end {
                    eprintln!(
                        "{test}: still running after {} s: it hangs",
                        TEST_LIMIT.as_secs()
                    );
                    std::process::exit(101);
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Deadline(done)
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs one case; a failure anywhere in it, the harness's own included,
/// names the case.
fn case<T>(name: &str, body: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            if msg.starts_with(name) {
                panic!("{msg}");
            }
            panic!("{name}: {msg}");
        }
    }
}

// ---------------------------------------------------------------------------
// Configurations

/// An `sriov` network as the SR-IOV Network Operator renders a
/// SriovNetwork (seed 004 asks for one per port, with linkState auto) and
/// as Multus hands it to the plugin, with the VF the device plugin gave
/// the pod for the network's resourceName as `deviceID`. Spoof check off
/// and trust on are the SriovNetwork's spoofChk and trust, which
/// balance-rr and balance-xor need. The journal goes to the test's
/// directory.
fn operator_sriov(lab: &Lab, network: &str, vf: &Vf) -> Value {
    json!({
        "cniVersion": "0.3.1",
        "name": network,
        "type": "sriov",
        "vlan": 0,
        "vlanQoS": 0,
        "spoofchk": "off",
        "trust": "on",
        "link_state": "auto",
        "logLevel": "info",
        "ipam": {},
        "deviceID": vf.addr.to_string(),
        "dataDir": lab.data_dir(),
    })
}

/// Seed 004's bond NetworkAttachmentDefinition as this lab runs it: its
/// subnet and gateway documentation ones, and host-local's leases and the
/// plugin's journal in the test's directory; the rest as the seed has it.
fn seed_004(lab: &Lab) -> Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cniconf/tests/data/seed-004-bond.json");
    let mut conf: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(
        (
            &conf["mode"],
            &conf["failOverMac"],
            &conf["linksInContainer"]
        ),
        (&json!("active-backup"), &json!(1), &json!(true)),
        "seed 004: {} is not the seed's bond",
        path.display()
    );
    conf["ipam"]["subnet"] = json!("192.0.2.0/24");
    conf["ipam"]["gateway"] = json!("192.0.2.1");
    conf["ipam"]["dataDir"] = json!(lab.ipam_dir());
    conf["dataDir"] = json!(lab.data_dir());
    conf
}

/// A `bond` network over the pod's `net1` and `net2` in `version`, its
/// journal in the test's directory, with `fields` added.
fn bond_conf(lab: &Lab, version: &str, network: &str, fields: Value) -> Value {
    let mut conf = json!({
        "cniVersion": version,
        "name": network,
        "type": "bond",
        "mode": "active-backup",
        "failOverMac": 1,
        "miimon": "100",
        "linksInContainer": true,
        "links": [{"name": "net1"}, {"name": "net2"}],
        "dataDir": lab.data_dir(),
    });
    for (k, v) in fields.as_object().unwrap() {
        conf[k] = v.clone();
    }
    conf
}

/// The pod's `net1`, `net2` and `bond0` attachments, as Multus makes them
/// for one pod: one container ID, an interface name each.
fn attachments(pod: &Pod) -> [Attachment; 3] {
    let net1 = Attachment::new(pod, "net1");
    let with = |ifname: &str| Attachment {
        ifname: ifname.to_owned(),
        ..net1.clone()
    };
    [with("net1"), with("net2"), with("bond0")]
}

/// Checks that `vfs` have the PF-side settings [`operator_sriov`] asks
/// for, which DEL must take away again.
fn assert_pf_side(case: &str, lab: &Lab, vfs: &[Vf]) {
    for vf in vfs {
        let config = lab.host.vf_config(&vf.id()).unwrap();
        assert_eq!(
            (config.spoofchk, config.trust),
            (Some(false), Some(true)),
            "{case}: {}: spoof check off and trust on",
            vf.addr
        );
    }
}

/// The VF's netdev name on the host.
fn host_name(vf: &Vf) -> String {
    vf.netdev_name()
        .unwrap_or_else(|| panic!("{} has no netdev on the host", vf.addr))
        .to_string()
}

// ---------------------------------------------------------------------------
// What the kernel shows

fn links(pod: &Pod) -> Vec<LinkInfo> {
    pod.ns().netlink().unwrap().links().unwrap()
}

/// The bond named `bond` in `pod` and its ports, as the kernel reports
/// them.
fn bond_in(pod: &Pod, bond: &str) -> Option<(LinkInfo, Vec<LinkInfo>)> {
    let all = links(pod);
    let link = all.iter().find(|l| l.name == bond)?.clone();
    let ports = all
        .into_iter()
        .filter(|l| l.controller == Some(link.index))
        .collect();
    Some((link, ports))
}

/// The port carrying the bond's traffic.
fn active_port(pod: &Pod) -> Option<String> {
    let (bond, ports) = bond_in(pod, "bond0")?;
    let index = bond.bond?.active_port?;
    ports
        .iter()
        .find(|p| p.index == index)
        .map(|p| p.name.to_string())
}

/// The bond's view of `port`'s link: 0 up, 2 down.
fn mii_status(pod: &Pod, port: &str) -> Option<u8> {
    let (_, ports) = bond_in(pod, "bond0")?;
    ports
        .iter()
        .find(|p| p.name == port)?
        .bond_port
        .as_ref()?
        .mii_status
}

fn wait_mii(case: &str, pod: &Pod, port: &str, status: u8) {
    let word = if status == 0 { "up" } else { "down" };
    wait_for(
        &format!("{case}: bond0 to see {port} {word}"),
        SETTLE,
        || mii_status(pod, port) == Some(status),
    );
}

/// What a port must be again once the bond is gone, as the pod sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PortState {
    name: IfName,
    mac: Option<MacAddr>,
    mtu: u32,
    up: bool,
    controller: Option<u32>,
}

fn ports_of(pod: &Pod, names: &[&str]) -> Vec<PortState> {
    let nl = pod.ns().netlink().unwrap();
    names
        .iter()
        .map(|name| {
            let l = nl
                .link(*name)
                .unwrap_or_else(|e| panic!("{name} in {}: {e}", pod.name));
            PortState {
                name: l.name,
                mac: l.mac,
                mtu: l.mtu,
                up: l.is_up(),
                controller: l.controller,
            }
        })
        .collect()
}

/// Frames `link` in `pod` has sent.
fn tx_packets(pod: &Pod, link: &str) -> u64 {
    let path = format!("/sys/class/net/{link}/statistics/tx_packets");
    common::ip(&["netns", "exec", &pod.name, "cat", &path])
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{path} in {}: {e}", pod.name))
}

// ---------------------------------------------------------------------------
// Traffic

/// A ping from `pod` reaches `addr` within the limit (the first may wait
/// for carrier and ARP).
fn reaches(case: &str, pod: &Pod, addr: &str) {
    wait_for(
        &format!("{case}: a ping from {} to {addr}", pod.name),
        SETTLE,
        || pod.pings(addr),
    );
}

/// A burst of pings from `pod` to `addr`, every one answered.
fn no_loss(case: &str, pod: &Pod, addr: &str) {
    let count = BURST.to_string();
    let out = Command::new(IP)
        .args([
            "netns", "exec", &pod.name, "ping", "-c", &count, "-i", "0.05", "-W", "5", addr,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // busybox: "10 packets transmitted, 10 packets received, 0% packet loss"
    let counts: Vec<u64> = text
        .lines()
        .find(|l| l.contains("packets transmitted"))
        .unwrap_or_else(|| panic!("{case}: no ping statistics from {}: {text}", pod.name))
        .split(',')
        .filter_map(|part| part.split_whitespace().next()?.parse().ok())
        .take(2)
        .collect();
    assert_eq!(
        counts,
        [BURST, BURST],
        "{case}: pings from {} to {addr} lost: {text}",
        pod.name
    );
}

/// A peer pod with its own VF (`PEER_VF` of PF `pf`) at `address`/24.
struct Peer {
    pod: Pod,
    net: Network,
    att: Attachment,
    result: Value,
    address: String,
}

impl Peer {
    fn new(lab: &Lab, pf: usize, address: &str) -> Peer {
        let vf = lab_vf(&lab.host, pf, PEER_VF);
        let pod = Pod::new("pe");
        let network = format!("peer-net{pf}");
        let net = Network::single(lab.sriov(
            "1.0.0",
            &network,
            json!({
                "deviceID": vf.addr.to_string(),
                "ipam": {"type": "static", "addresses": [{"address": format!("{address}/24")}]},
            }),
        ));
        let att = Attachment::new(&pod, "net1");
        let result = net.added(&att);
        Peer {
            pod,
            net,
            att,
            result,
            address: address.to_owned(),
        }
    }

    fn delete(&self, lab: &Lab, before: &VfState) {
        self.net.deleted(&self.att, Some(&self.result));
        lab.assert_nothing_left(before, &self.net.name, &self.att, Some(&self.pod));
    }
}

/// A PF's cable pulled: its link set down, which takes every VF of it
/// down with it, as a real pull does. Plugged in again when dropped.
struct Cable {
    pf: String,
    pulled: bool,
}

impl Cable {
    fn pull(pf: IfName) -> Cable {
        let pf = pf.to_string();
        common::ip(&["link", "set", &pf, "down"]);
        Cable { pf, pulled: true }
    }

    fn plug_in(mut self, case: &str) {
        self.pulled = false;
        common::ip(&["link", "set", &self.pf, "up"]);
        wait_for(&format!("{case}: carrier on {}", self.pf), SETTLE, || {
            has_carrier(&self.pf)
        });
        if let Err(e) = reset_idle_vfs(&self.pf) {
            panic!("{case}: {e}");
        }
    }
}

/// Resets each VF of `pf` that sits down on the host. Setting a PF down
/// resets it, and igb then ignores its VFs until each resets in turn (a
/// real cable pull resets nothing): those that are up do so on their
/// own, and igbvf resets one that is down when its MTU changes.
fn reset_idle_vfs(pf: &str) -> Result<(), String> {
    let host = netplumb_vf::Host::open(netplumb_vf::Sysfs::default()).map_err(|e| e.to_string())?;
    let pf: IfName = pf.parse().map_err(|e| format!("{pf}: {e}"))?;
    let nl = host.netlink();
    let mut batch = String::new();
    for vf in host.sysfs().pf(&pf).map_err(|e| e.to_string())?.vfs {
        let VfNetdev::Host(netdev) = &vf.netdev else {
            continue;
        };
        let link = nl
            .link(netdev.name)
            .map_err(|e| format!("{}: {e}", netdev.name))?;
        if !link.is_up() {
            let name = netdev.name;
            let mtu = link.mtu;
            let other = if mtu > 68 { mtu - 1 } else { mtu + 1 };
            batch.push_str(&format!(
                "link set dev {name} mtu {other}\nlink set dev {name} mtu {mtu}\n"
            ));
        }
    }
    let mut child = Command::new(IP)
        .args(["-batch", "-"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip -batch: {e}"))?;
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), batch.as_bytes())
        .map_err(|e| format!("ip -batch: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ip -batch: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "resetting the VFs of {pf}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Drop for Cable {
    fn drop(&mut self) {
        if !self.pulled {
            return;
        }
        if let Err(e) = try_ip(&["link", "set", &self.pf, "up"]) {
            eprintln!("cable: {e}");
        }
        let end = Instant::now() + SETTLE;
        while !has_carrier(&self.pf) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(100));
        }
        if let Err(e) = reset_idle_vfs(&self.pf) {
            eprintln!("cable: {e}");
        }
    }
}

fn has_carrier(pf: &str) -> bool {
    std::fs::read_to_string(format!("/sys/class/net/{pf}/carrier")).is_ok_and(|c| c.trim() == "1")
}

// ---------------------------------------------------------------------------
// Seed 004

#[test]
#[ignore = "lab"]
fn lab_bond_seed_004_passes_traffic_fails_over_and_back_and_gives_every_vf_back() {
    const CASE: &str = "seed 004";
    let _wire = wire_alone();
    let _deadline = Deadline::new(CASE);
    case(CASE, || {
        let mut lab = Lab::new();
        let pfs = lab_pfs();
        let ports = [lab_vf(&lab.host, 0, SEED_VF), lab_vf(&lab.host, 1, SEED_VF)];
        let peer_vfs = [lab_vf(&lab.host, 0, PEER_VF), lab_vf(&lab.host, 1, PEER_VF)];
        let before: Vec<VfState> = ports
            .iter()
            .chain(&peer_vfs)
            .map(|vf| lab.guard(vf))
            .collect();
        let peers = [
            Peer::new(&lab, 0, "192.0.2.100"),
            Peer::new(&lab, 1, "192.0.2.101"),
        ];
        let pod = Pod::new("s4");
        let [att1, att2, att_bond] = attachments(&pod);
        // The pod's annotation: demo/sriovnet1, demo/sriovnet2,
        // demo/bond-net1@bond0, added in that order.
        let net1 = Network::single(operator_sriov(&lab, "sriovnet1", &ports[0]));
        let net2 = Network::single(operator_sriov(&lab, "sriovnet2", &ports[1]));
        let bond = Network::single(seed_004(&lab));
        let result1 = net1.added(&att1);
        let result2 = net2.added(&att2);
        assert_pf_side(CASE, &lab, &ports);
        let result = bond.added(&att_bond);
        // Each port is written down by the VF it sits on, on every kernel
        // (before 5.16 the driver names it), so that DEL never takes a link
        // the pod dressed up as a port for one.
        let network = bond.conf(0, None)["name"].as_str().unwrap().to_owned();
        let record = std::fs::read_to_string(lab.record(&network, &att_bond)).unwrap();
        for vf in &ports {
            assert!(
                record.contains(&format!("\"{}\"", vf.addr)),
                "{CASE}: port on {} not recorded by its device: {record}",
                vf.addr
            );
        }

        assert_eq!(result["cniVersion"], "0.3.1", "{CASE}: {result}");
        let names: Vec<&str> = result["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["bond0", "net1", "net2"], "{CASE}: {result}");
        let ip = &result["ips"][0];
        assert_eq!(ip["interface"], 0, "{CASE}: the address is the bond's");
        assert_eq!(ip["gateway"], "192.0.2.1", "{CASE}: {result}");
        let address = ip["address"].as_str().unwrap();
        assert!(
            address.starts_with("192.0.2.") && address.ends_with("/24"),
            "{CASE}: {result}"
        );
        assert!(
            pod.ip(&["addr", "show", "bond0"]).contains(address),
            "{CASE}: {address} is not on bond0"
        );
        assert!(
            pod.ip(&["route", "show", "default"])
                .contains("via 192.0.2.1 dev bond0"),
            "{CASE}: the default route is not through bond0"
        );

        let (bond0, members) = bond_in(&pod, "bond0").expect("seed 004: no bond0 in the pod");
        let data = bond0.bond.clone().unwrap();
        assert_eq!(
            (data.mode, data.miimon, data.fail_over_mac, bond0.mtu),
            (Some(1), Some(100), Some(1), 1500),
            "{CASE}: active-backup, miimon 100, fail_over_mac active, mtu 1500"
        );
        let mut member_names: Vec<String> = members.iter().map(|m| m.name.to_string()).collect();
        member_names.sort();
        assert_eq!(member_names, ["net1", "net2"], "{CASE}: bond0's ports");
        // failOverMac 1: each port keeps the MAC sriov gave it.
        for (port, earlier) in members.iter().zip([&result1, &result2]) {
            assert_eq!(
                port.mac.map(|m| m.to_string()),
                earlier["interfaces"][0]["mac"].as_str().map(str::to_owned),
                "{CASE}: {} changed its MAC",
                port.name
            );
        }

        wait_mii(CASE, &pod, "net1", 0);
        wait_mii(CASE, &pod, "net2", 0);
        for peer in &peers {
            reaches(CASE, &pod, &peer.address);
        }

        // The active port's cable is pulled: traffic goes on over the
        // other port, to the peer on that port's PF (a pulled PF takes its
        // other VFs, the peer's among them, down too).
        let first = active_port(&pod).expect("seed 004: no active port");
        let (pulled, left) = if first == "net1" { (0, 1) } else { (1, 0) };
        let other = format!("net{}", left + 1);
        let step = format!("{CASE}: {first}'s cable pulled");
        let cable = Cable::pull(pfs[pulled]);
        wait_for(&format!("{step}: {other} active"), SETTLE, || {
            active_port(&pod).as_deref() == Some(other.as_str())
        });
        let nl = pod.ns().netlink().unwrap();
        assert_eq!(
            bond_in(&pod, "bond0").unwrap().0.mac,
            nl.link(other.as_str()).unwrap().mac,
            "{step}: bond0 wears its active port's MAC"
        );
        reaches(&step, &pod, &peers[left].address);
        no_loss(&step, &pod, &peers[left].address);

        // And back: plugged in again, the port rejoins as the backup (no
        // primary is configured), and carries the traffic again once the
        // other port goes down.
        let step = format!("{CASE}: {first}'s cable plugged in again");
        cable.plug_in(&step);
        wait_mii(&step, &pod, &first, 0);
        assert_eq!(
            active_port(&pod).as_deref(),
            Some(other.as_str()),
            "{step}: the bond stays on {other}"
        );
        for peer in &peers {
            reaches(&step, &pod, &peer.address);
        }
        pod.ip(&["link", "set", &other, "down"]);
        wait_for(&format!("{step}: {first} active again"), SETTLE, || {
            active_port(&pod).as_deref() == Some(first.as_str())
        });
        reaches(&step, &pod, &peers[pulled].address);
        no_loss(&step, &pod, &peers[pulled].address);
        pod.ip(&["link", "set", &other, "up"]);
        wait_mii(&step, &pod, &other, 0);

        // A runtime deletes in reverse order.
        bond.deleted(&att_bond, Some(&result));
        net2.deleted(&att2, Some(&result2));
        net1.deleted(&att1, Some(&result1));
        for peer in &peers {
            peer.net.deleted(&peer.att, Some(&peer.result));
        }
        for ((state, network), att) in before[..2]
            .iter()
            .zip(["sriovnet1", "sriovnet2"])
            .zip([&att1, &att2])
        {
            lab.assert_nothing_left(state, network, att, Some(&pod));
        }
        for (state, peer) in before[2..].iter().zip(&peers) {
            lab.assert_nothing_left(state, &peer.net.name, &peer.att, Some(&peer.pod));
        }
        for network in ["sriovnet1", "sriovnet2", "bond-net1"] {
            assert_eq!(
                lab.journal_files(network),
                Vec::<String>::new(),
                "{CASE}: journal files left"
            );
        }
        assert_eq!(
            lab.leases("bond-net1"),
            Vec::<String>::new(),
            "{CASE}: address not released"
        );
    });
}

// ---------------------------------------------------------------------------
// balance-rr and balance-xor

#[test]
#[ignore = "lab"]
fn lab_bond_balance_rr_and_xor_pass_traffic_over_both_ports_and_over_each_alone() {
    const CASE: &str = "balance modes";
    let _wire = wire_alone();
    let _deadline = Deadline::new(CASE);
    case(CASE, || {
        let mut lab = Lab::new();
        let vfs = [
            lab_vf(&lab.host, 0, BALANCE_VF),
            lab_vf(&lab.host, 1, BALANCE_VF),
            lab_vf(&lab.host, 0, PEER_VF),
            lab_vf(&lab.host, 1, PEER_VF),
        ];
        let before: Vec<VfState> = vfs.iter().map(|vf| lab.guard(vf)).collect();
        let peers = [
            Peer::new(&lab, 0, "198.51.100.100"),
            Peer::new(&lab, 1, "198.51.100.101"),
        ];
        let pod = Pod::new("bl");
        let [att1, att2, att_bond] = attachments(&pod);
        let net1 = Network::single(operator_sriov(&lab, "balance-port1", &vfs[0]));
        let net2 = Network::single(operator_sriov(&lab, "balance-port2", &vfs[1]));
        net1.added(&att1);
        net2.added(&att2);
        assert_pf_side(CASE, &lab, &vfs[..2]);
        let ports_before = ports_of(&pod, &["net1", "net2"]);

        for (mode, extra) in [
            ("balance-rr", json!({})),
            ("balance-xor", json!({"xmitHashPolicy": "layer3+4"})),
        ] {
            case(mode, || {
                let mut fields = json!({
                    "mode": mode,
                    "ipam": {"type": "static", "addresses": [{"address": "198.51.100.10/24"}]},
                });
                for (k, v) in extra.as_object().unwrap() {
                    fields[k] = v.clone();
                }
                // failOverMac is active-backup's.
                let mut conf = bond_conf(&lab, "1.0.0", "balance-net", fields);
                conf.as_object_mut().unwrap().remove("failOverMac");
                let net = Network::single(conf);
                let result = net.added(&att_bond);
                let (bond0, members) = bond_in(&pod, "bond0").expect("no bond0");
                let number = if mode == "balance-rr" { 0 } else { 2 };
                assert_eq!(bond0.bond.as_ref().unwrap().mode, Some(number), "{mode}");
                if mode == "balance-xor" {
                    assert_eq!(
                        bond0.bond.as_ref().unwrap().xmit_hash_policy,
                        Some(1),
                        "{mode}: xmit_hash_policy layer3+4"
                    );
                }
                assert!(
                    members.iter().all(|p| p.mac == bond0.mac) && members.len() == 2,
                    "{mode}: every port wears the bond's MAC: {members:?}"
                );
                wait_mii(mode, &pod, "net1", 0);
                wait_mii(mode, &pod, "net2", 0);
                for peer in &peers {
                    reaches(mode, &pod, &peer.address);
                }

                let sent = [tx_packets(&pod, "net1"), tx_packets(&pod, "net2")];
                no_loss(mode, &pod, &peers[0].address);
                if mode == "balance-rr" {
                    for (port, earlier) in ["net1", "net2"].into_iter().zip(sent) {
                        let now = tx_packets(&pod, port) - earlier;
                        assert!(
                            now >= BURST / 4,
                            "{mode}: round robin sent {now} frames on {port}"
                        );
                    }
                }
                // Each port down in turn: the peer on the other port's PF
                // is reached over it (a PF hands frames for its own VFs'
                // MACs, the bond's among them, to its own VF).
                for (down, left) in [(0, 1), (1, 0)] {
                    let port = format!("net{}", down + 1);
                    let step = format!("{mode}: {port} down");
                    pod.ip(&["link", "set", &port, "down"]);
                    wait_mii(&step, &pod, &port, 2);
                    reaches(&step, &pod, &peers[left].address);
                    no_loss(&step, &pod, &peers[left].address);
                    pod.ip(&["link", "set", &port, "up"]);
                    wait_mii(&format!("{step} and up again"), &pod, &port, 0);
                }
                no_loss(mode, &pod, &peers[0].address);

                net.deleted(&att_bond, Some(&result));
                assert_eq!(
                    ports_of(&pod, &["net1", "net2"]),
                    ports_before,
                    "{mode}: the ports are not as they were"
                );
                assert_eq!(pod.links(), ["lo", "net1", "net2"], "{mode}: links left");
                assert_eq!(
                    lab.journal_files("balance-net"),
                    Vec::<String>::new(),
                    "{mode}: journal files left"
                );
            });
        }

        net2.deleted(&att2, None);
        net1.deleted(&att1, None);
        lab.assert_nothing_left(&before[0], "balance-port1", &att1, None);
        lab.assert_nothing_left(&before[1], "balance-port2", &att2, Some(&pod));
        for (peer, state) in peers.iter().zip(&before[2..]) {
            peer.delete(&lab, state);
        }
    });
}

// ---------------------------------------------------------------------------
// DEL

#[test]
#[ignore = "lab"]
fn lab_bond_del_leaves_the_ports_as_they_were_and_nothing_behind_whatever_is_gone() {
    const CASE: &str = "DEL";
    let _wire = wire_shared();
    let _deadline = Deadline::new(CASE);
    case(CASE, del_cases);
}

fn del_cases() {
    let mut lab = Lab::new();
    let vfs = [lab_vf(&lab.host, 0, DEL_VF), lab_vf(&lab.host, 1, DEL_VF)];
    let before: Vec<VfState> = vfs.iter().map(|vf| lab.guard(vf)).collect();
    let net = Network::single(bond_conf(
        &lab,
        "1.0.0",
        "del-net",
        json!({"ipam": lab.host_local(json!([[{"subnet": "203.0.113.0/24"}]]))}),
    ));
    let port_nets = [
        Network::single(operator_sriov(&lab, "del-port1", &vfs[0])),
        Network::single(operator_sriov(&lab, "del-port2", &vfs[1])),
    ];
    let pod = Pod::new("dl");
    let [att1, att2, att_bond] = attachments(&pod);
    port_nets[0].added(&att1);
    port_nets[1].added(&att2);
    let ports = ports_of(&pod, &["net1", "net2"]);
    let nothing_left = |case: &str, names: &[&str]| {
        let want: Vec<PortState> = ports
            .iter()
            .filter(|p| names.iter().any(|n| p.name == *n))
            .cloned()
            .collect();
        assert_eq!(
            ports_of(&pod, names),
            want,
            "{case}: the ports are not as they were"
        );
        let mut all = vec!["lo"];
        all.extend_from_slice(names);
        assert_eq!(pod.links(), all, "{case}: links left in the pod");
        assert_eq!(
            lab.journal_files("del-net"),
            Vec::<String>::new(),
            "{case}: journal files left"
        );
        assert_eq!(
            lab.leases("del-net"),
            Vec::<String>::new(),
            "{case}: address not released"
        );
    };

    case("repeated DEL", || {
        let result = net.added(&att_bond);
        assert!(bond_in(&pod, "bond0").is_some(), "repeated DEL: no bond0");
        net.deleted(&att_bond, Some(&result));
        nothing_left("repeated DEL, once", &["net1", "net2"]);
        net.deleted(&att_bond, Some(&result));
        nothing_left("repeated DEL, twice", &["net1", "net2"]);
    });

    case("DEL with no ADD", || {
        net.deleted(&att_bond, None);
        nothing_left("DEL with no ADD", &["net1", "net2"]);
        for netns in ["/run/netns/netplumb-never-was", ""] {
            let att = Attachment {
                netns: netns.into(),
                ..att_bond.clone()
            };
            net.deleted(&att, None);
        }
        nothing_left("DEL with no ADD and no netns", &["net1", "net2"]);
    });

    case("DEL with the journal record missing", || {
        let result = net.added(&att_bond);
        let record = lab.record("del-net", &att_bond);
        std::fs::remove_file(&record).unwrap();
        // The plugin finds bond0 by its name and releases what is there.
        let del = exec("bond", "DEL", &att_bond, &net.conf(0, Some(&result)));
        del.ok();
        assert!(
            del.stderr
                .contains("taken apart as found, without a journal record"),
            "DEL with the journal record missing: {del}"
        );
        nothing_left("DEL with the journal record missing", &["net1", "net2"]);
        net.deleted(&att_bond, Some(&result));
        nothing_left(
            "DEL with the journal record missing, again",
            &["net1", "net2"],
        );
    });

    case("DEL with a port gone", || {
        let result = net.added(&att_bond);
        // net2's sriov DEL comes first: its VF leaves the bond and the pod.
        port_nets[1].deleted(&att2, None);
        lab.assert_nothing_left(&before[1], "del-port2", &att2, None);
        assert!(
            bond_in(&pod, "bond0").is_some_and(|(_, p)| p.len() == 1),
            "DEL with a port gone: bond0 should hold net1 only"
        );
        let del = exec("bond", "DEL", &att_bond, &net.conf(0, Some(&result)));
        del.ok();
        assert!(
            del.stderr
                .contains("ports not found, left as they are: net2"),
            "DEL with a port gone: {del}"
        );
        nothing_left("DEL with a port gone", &["net1"]);
        net.deleted(&att_bond, Some(&result));
        nothing_left("DEL with a port gone, again", &["net1"]);
        port_nets[0].deleted(&att1, None);
        lab.assert_nothing_left(&before[0], "del-port1", &att1, Some(&pod));
    });

    case("DEL with the netns gone", || {
        let mut pod = Pod::new("dg");
        let [att1, att2, att_bond] = attachments(&pod);
        port_nets[0].added(&att1);
        port_nets[1].added(&att2);
        let result = net.added(&att_bond);
        // The pod ends before its DELs; the kernel hands the VFs back.
        pod.delete();
        net.deleted(&att_bond, Some(&result));
        port_nets[1].deleted(&att2, None);
        port_nets[0].deleted(&att1, None);
        net.deleted(&att_bond, Some(&result));
        for ((state, network), att) in before
            .iter()
            .zip(["del-port1", "del-port2"])
            .zip([&att1, &att2])
        {
            lab.assert_nothing_left(state, network, att, None);
        }
        assert_eq!(
            lab.journal_files("del-net"),
            Vec::<String>::new(),
            "DEL with the netns gone: journal files left"
        );
        assert_eq!(
            lab.leases("del-net"),
            Vec::<String>::new(),
            "DEL with the netns gone: address not released"
        );
    });
    for state in &before {
        assert_as_before(&lab.host, state);
    }
}

// ---------------------------------------------------------------------------
// ADDs that fail

#[test]
#[ignore = "lab"]
fn lab_bond_failed_adds_leave_nothing_behind() {
    const CASE: &str = "failed ADD";
    let _wire = wire_shared();
    let _deadline = Deadline::new(CASE);
    case(CASE, failed_adds);
}

fn failed_adds() {
    let mut lab = Lab::new();
    let vfs = [
        lab_vf(&lab.host, 0, FAILED_VF),
        lab_vf(&lab.host, 1, FAILED_VF),
    ];
    let before: Vec<VfState> = vfs.iter().map(|vf| lab.guard(vf)).collect();
    // Each port with a MAC its PF sets and no trust: it may not wear
    // another MAC.
    let port_nets: Vec<Network> = vfs
        .iter()
        .enumerate()
        .map(|(i, vf)| {
            Network::single(lab.sriov(
                "1.0.0",
                &format!("locked-port{}", i + 1),
                json!({
                    "deviceID": vf.addr.to_string(),
                    "mac": format!("02:00:5e:10:0b:0{}", i + 1),
                    "trust": "off",
                }),
            ))
        })
        .collect();
    let pod = Pod::new("fa");
    let [att1, att2, _] = attachments(&pod);
    port_nets[0].added(&att1);
    port_nets[1].added(&att2);
    let ports = ports_of(&pod, &["net1", "net2"]);

    // ADD fails with `code`, leaving the ports as they were, no bond, no
    // journal file or lock and no address; the runtime's DEL after it
    // succeeds and leaves the same. The error's message.
    let fails = |case: &str, fields: Value, code: u64, pods_own: Option<u32>| -> String {
        let network = "failing-net";
        let net = Network::single(bond_conf(&lab, "1.0.0", network, fields));
        let att = Attachment {
            container_id: unique("ctr"),
            ..attachments(&pod)[2].clone()
        };
        let outcome = net.add(&att).expect_err(&format!("{case}: ADD succeeded"));
        let (got, msg) = outcome.error();
        assert_eq!(got, code, "{case}: {msg}");
        for when in ["after ADD", "after DEL"] {
            assert_eq!(
                ports_of(&pod, &["net1", "net2"]),
                ports,
                "{case}, {when}: the ports are not as they were"
            );
            assert_eq!(
                bond_in(&pod, "bond0").map(|(b, _)| b.index),
                pods_own,
                "{case}, {when}: bond0 is not as the pod had it"
            );
            assert_eq!(
                lab.journal_files(network),
                Vec::<String>::new(),
                "{case}, {when}: journal files left"
            );
            assert_eq!(
                lab.leases(network),
                Vec::<String>::new(),
                "{case}, {when}: an address is left"
            );
            if when == "after ADD" {
                net.deleted(&att, None);
            }
        }
        msg
    };
    let host_local = lab.host_local(json!([[{"subnet": "192.0.2.0/24"}]]));

    let msg = case("a port that is not there", || {
        fails(
            "a port that is not there",
            json!({"links": [{"name": "net1"}, {"name": "net9"}], "ipam": host_local}),
            7,
            None,
        )
    });
    assert!(
        msg.contains("\"net9\" does not exist"),
        "a port that is not there: {msg}"
    );

    for (option, fields) in [
        (
            "primary",
            json!({"mode": "balance-rr", "primary": "net1", "ipam": host_local}),
        ),
        ("updelay", json!({"updelay": 150, "ipam": host_local})),
    ] {
        let name = format!("{option} refused by the checks");
        let msg = case(&name, || fails(&name, fields, 7, None));
        assert!(msg.contains(option), "{name}: {msg}");
    }

    // balance-rr puts the bond's MAC on every port: net2's PF refuses it.
    let msg = case("a port the kernel refuses for the mode", || {
        fails(
            "a port the kernel refuses for the mode",
            json!({"mode": "balance-rr", "ipam": host_local}),
            7,
            None,
        )
    });
    assert!(
        msg.contains("enslave port net2") && msg.contains("Cannot assign requested address"),
        "a port the kernel refuses for the mode: {msg}"
    );

    // IPAM fails once the bond is built: the bond goes again.
    let msg = case("IPAM fails after the bond is built", || {
        fails(
            "IPAM fails after the bond is built",
            json!({"ipam": {"type": "netplumb-no-such-ipam"}}),
            4,
            None,
        )
    });
    assert!(
        msg.contains("netplumb-no-such-ipam"),
        "IPAM fails after the bond is built: {msg}"
    );

    // The pod has a bond0 of its own: ADD fails, and neither it nor the
    // runtime's DEL after it touches that bond.
    case("the bond's name taken by the pod's own bond", || {
        pod.ip(&[
            "link",
            "add",
            "bond0",
            "type",
            "bond",
            "mode",
            "balance-xor",
        ]);
        let own = bond_in(&pod, "bond0").unwrap().0.index;
        let msg = fails(
            "the bond's name taken by the pod's own bond",
            json!({"ipam": host_local}),
            7,
            Some(own),
        );
        assert!(
            msg.contains("already exists"),
            "the bond's name taken: {msg}"
        );
        // A DEL without a record says why it leaves the bond alone.
        let net = Network::single(bond_conf(&lab, "1.0.0", "failing-net", json!({})));
        let del = exec("bond", "DEL", &attachments(&pod)[2], &net.conf(0, None));
        del.ok();
        assert!(
            del.stderr
                .contains("bond bond0 in the pod is left as it is"),
            "the bond's name taken: {del}"
        );
        assert_eq!(
            bond_in(&pod, "bond0").map(|(b, _)| b.index),
            Some(own),
            "the bond's name taken: the pod's own bond0 is gone"
        );
        assert_eq!(
            lab.journal_files("failing-net"),
            Vec::<String>::new(),
            "the bond's name taken: journal files left"
        );
        pod.ip(&["link", "del", "bond0"]);
    });

    port_nets[1].deleted(&att2, None);
    port_nets[0].deleted(&att1, None);
    lab.assert_nothing_left(&before[0], "locked-port1", &att1, None);
    lab.assert_nothing_left(&before[1], "locked-port2", &att2, Some(&pod));
}

// ---------------------------------------------------------------------------
// CHECK

#[test]
#[ignore = "lab"]
fn lab_bond_check_passes_after_add_and_names_each_difference() {
    const CASE: &str = "CHECK";
    let _wire = wire_shared();
    let _deadline = Deadline::new(CASE);
    case(CASE, || {
        let mut lab = Lab::new();
        let vfs = [
            lab_vf(&lab.host, 0, CHECK_VF),
            lab_vf(&lab.host, 1, CHECK_VF),
        ];
        let before: Vec<VfState> = vfs.iter().map(|vf| lab.guard(vf)).collect();
        let pod = Pod::new("ck");
        let [att1, att2, att_bond] = attachments(&pod);
        let port_nets = [
            Network::single(operator_sriov(&lab, "check-port1", &vfs[0])),
            Network::single(operator_sriov(&lab, "check-port2", &vfs[1])),
        ];
        port_nets[0].added(&att1);
        port_nets[1].added(&att2);
        let ports = ports_of(&pod, &["net1", "net2"]);
        let net = Network::single(bond_conf(
            &lab,
            "1.0.0",
            "check-net",
            json!({"ipam": lab.host_local(json!([[{"subnet": "198.51.100.0/24"}]]))}),
        ));
        let result = net.added(&att_bond);
        net.checked(&att_bond, &result);

        // The pod takes net2 out of the bond, sets another miimon and
        // removes the bond's address.
        let address = result["ips"][0]["address"].as_str().unwrap().to_owned();
        pod.ip(&["link", "set", "net2", "nomaster"]);
        pod.ip(&["link", "set", "bond0", "type", "bond", "miimon", "200"]);
        pod.ip(&["addr", "del", &address, "dev", "bond0"]);
        let (code, msg) = net
            .check(&att_bond, &result)
            .expect_err("CHECK: passes with the pod's changes")
            .error();
        assert_eq!(code, u64::from(CHECK_FAILED), "{CASE}: {msg}");
        for difference in [
            "bond bond0: miimon is 200, not 100",
            "bond bond0: net2 is not one of its ports",
            &format!("bond bond0 does not have {address}"),
        ] {
            assert!(
                msg.contains(difference),
                "{CASE}: {difference:?} not in {msg}"
            );
        }

        net.deleted(&att_bond, Some(&result));
        assert_eq!(
            ports_of(&pod, &["net1", "net2"]),
            ports,
            "{CASE}: the ports are not as they were after DEL"
        );
        assert_eq!(
            lab.journal_files("check-net"),
            Vec::<String>::new(),
            "{CASE}: journal files left"
        );
        port_nets[1].deleted(&att2, None);
        port_nets[0].deleted(&att1, None);
        lab.assert_nothing_left(&before[0], "check-port1", &att1, None);
        lab.assert_nothing_left(&before[1], "check-port2", &att2, Some(&pod));
    });
}

// ---------------------------------------------------------------------------
// linksInContainer: false

#[test]
#[ignore = "lab"]
fn lab_bond_links_from_the_host_are_moved_in_and_back() {
    const CASE: &str = "linksInContainer false";
    let _wire = wire_shared();
    let _deadline = Deadline::new(CASE);
    case(CASE, || {
        let mut lab = Lab::new();
        let vfs = [lab_vf(&lab.host, 0, HOST_VF), lab_vf(&lab.host, 1, HOST_VF)];
        let before: Vec<VfState> = vfs.iter().map(|vf| lab.guard(vf)).collect();
        let names: Vec<String> = vfs.iter().map(host_name).collect();
        let net = Network::single(bond_conf(
            &lab,
            "1.0.0",
            "host-net",
            json!({
                "linksInContainer": false,
                "links": [{"name": names[0]}, {"name": names[1]}],
            }),
        ));

        let mut pod = Pod::new("hl");
        let att = Attachment::new(&pod, "bond0");
        let result = net.added(&att);
        let mut want = vec!["bond0".to_owned(), "lo".to_owned()];
        want.extend(names.iter().cloned());
        want.sort();
        assert_eq!(
            pod.links(),
            want,
            "{CASE}: the ports keep their names in the pod"
        );
        let (_, members) = bond_in(&pod, "bond0").expect("linksInContainer false: no bond0");
        assert_eq!(members.len(), 2, "{CASE}: bond0's ports: {members:?}");
        for name in &names {
            wait_mii(CASE, &pod, name, 0);
        }
        for vf in &vfs {
            assert!(
                matches!(
                    lab.host.sysfs().vf(vf.addr).unwrap().netdev,
                    VfNetdev::Moved
                ),
                "{CASE}: {} is still on the host",
                vf.addr
            );
        }
        let listed: Vec<&str> = result["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(listed, ["bond0", &names[0], &names[1]], "{CASE}: {result}");
        net.checked(&att, &result);
        net.deleted(&att, Some(&result));
        pod.assert_empty();
        for state in &before {
            assert_as_before(&lab.host, state);
        }
        net.deleted(&att, Some(&result));

        // Again, and the pod ends before its DEL: the kernel hands the
        // ports to the host, where DEL puts them back as they were.
        let att = Attachment::new(&pod, "bond0");
        let result = net.added(&att);
        pod.delete();
        net.deleted(&att, Some(&result));
        for state in &before {
            assert_as_before(&lab.host, state);
            assert_eq!(
                snapshot(&lab.host, state.vf.addr).netdev.map(|n| n.name),
                state.netdev.as_ref().map(|n| n.name),
                "{CASE}: {} is not back under its name",
                state.vf
            );
        }
        assert_eq!(
            lab.journal_files("host-net"),
            Vec::<String>::new(),
            "{CASE}: journal files left"
        );
    });
}
