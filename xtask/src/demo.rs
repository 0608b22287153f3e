//! `cargo xtask demo`: boots the lab and narrates a pod getting a VF from each
//! PF, a bond over them, traffic to a peer pod, failover and teardown.
//!
//! The story ([`script`]) is told in terms of [`PodNetwork`] steps; what each
//! step runs comes from the backend. [`IpCommands`] does it with iproute2 today;
//! a backend that calls the `sriov` and `bond` plugins with a network config
//! slots in without touching the story.

use crate::error::Result;
use crate::lab::{self, Options};

/// A VF: its PF's position in `NETPLUMB_LAB_PFS` and its index on that PF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vf {
    /// 0 or 1.
    pub pf: usize,
    /// 0 to 6.
    pub index: u32,
}

impl Vf {
    /// The shell variable holding the VF's host netdev name.
    pub fn name_var(self) -> String {
        format!("vf_{}_{}", self.pf, self.index)
    }

    /// The shell variable holding the VF's MAC before the demo changed it.
    pub fn mac_var(self) -> String {
        format!("mac_{}_{}", self.pf, self.index)
    }
}

/// One VF given to a pod: what a `sriov` plugin config would say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VfAttachment<'a> {
    /// The pod's network namespace name.
    pub pod: &'a str,
    /// Which VF.
    pub vf: Vf,
    /// Its name in the pod.
    pub ifname: &'a str,
    /// Its MAC in the pod.
    pub mac: &'a str,
    /// An address with prefix length, if the VF gets one itself.
    pub address: Option<&'a str>,
}

/// How pods get their network in the demo. Each method returns shell command
/// lines; the story runs each one through its `run` helper, which shows the
/// command, runs it, and stops the demo if it fails.
pub trait PodNetwork {
    /// Moves the VF into its pod, named, with its MAC, up, addressed if asked.
    fn add_vf(&self, att: &VfAttachment<'_>) -> Vec<String>;
    /// Creates an active-backup bond over `ports` (already in `pod`) with `address`.
    fn add_bond(&self, pod: &str, bond: &str, ports: &[&str], address: &str) -> Vec<String>;
    /// Deletes the bond, releasing its ports.
    fn del_bond(&self, pod: &str, bond: &str) -> Vec<String>;
    /// Puts `vf` (now `ifname` in `pod`) back in the host with its name and MAC.
    fn del_vf(&self, pod: &str, vf: Vf, ifname: &str) -> Vec<String>;
}

/// The steps done with iproute2, the way the plugins will do them.
#[derive(Debug, Clone, Copy, Default)]
pub struct IpCommands;

impl PodNetwork for IpCommands {
    fn add_vf(&self, att: &VfAttachment<'_>) -> Vec<String> {
        let VfAttachment {
            pod,
            vf,
            ifname,
            mac,
            address,
        } = *att;
        let mut lines = vec![
            // Move and rename in one message: no temporary name in the pod.
            format!("ip link set ${} netns {pod} name {ifname}", vf.name_var()),
            format!("ip -n {pod} link set {ifname} address {mac}"),
            format!("ip -n {pod} link set {ifname} up"),
        ];
        if let Some(address) = address {
            lines.push(format!("ip -n {pod} addr add {address} dev {ifname}"));
        }
        lines
    }

    fn add_bond(&self, pod: &str, bond: &str, ports: &[&str], address: &str) -> Vec<String> {
        let mut lines = vec![format!(
            "ip -n {pod} link add {bond} type bond mode active-backup miimon 100 fail_over_mac active"
        )];
        for port in ports {
            // A port must be down to be enslaved.
            lines.push(format!("ip -n {pod} link set {port} down"));
            lines.push(format!("ip -n {pod} link set {port} master {bond}"));
        }
        lines.push(format!("ip -n {pod} link set {bond} up"));
        lines.push(format!("ip -n {pod} addr add {address} dev {bond}"));
        lines
    }

    fn del_bond(&self, pod: &str, bond: &str) -> Vec<String> {
        vec![format!("ip -n {pod} link del {bond}")]
    }

    fn del_vf(&self, pod: &str, vf: Vf, ifname: &str) -> Vec<String> {
        vec![
            format!("ip -n {pod} link set {ifname} down"),
            format!("ip -n {pod} link set {ifname} address ${}", vf.mac_var()),
            // PID 1 is the guest's init, in the host namespace.
            format!(
                "ip -n {pod} link set {ifname} netns 1 name ${}",
                vf.name_var()
            ),
        ]
    }
}

const POD: &str = "demo-pod";
const PEER: &str = "demo-peer";
const BOND: &str = "bond0";
const POD_ADDR: &str = "198.51.100.1/24";
const PEER_ADDR: &str = "198.51.100.2/24";
const PEER_IP: &str = "198.51.100.2";
const PORT_A: Vf = Vf { pf: 0, index: 1 };
const PORT_B: Vf = Vf { pf: 1, index: 1 };
const PEER_VF: Vf = Vf { pf: 0, index: 2 };

/// Shell helpers the story uses.
const HELPERS: &str = r#"ip() { /usr/sbin/ip "$@"; }
say() { echo; echo "== $*"; }
note() { echo "   $*"; }
# Takes the command as one string, expanded by the caller, so it shows as it runs.
run() {
    echo "   \$ $*"
    eval "$*" > /tmp/demo.out 2>&1
    rc=$?
    sed 's/^/     /' /tmp/demo.out
    [ $rc = 0 ] || lab_abort "demo step failed (exit $rc): $*"
}
# A VF's carrier comes up a second or two after `up` under emulation.
wait_carrier() {
    tries=0
    until ip -n "$1" link show "$2" | grep -q LOWER_UP; do
        tries=$((tries + 1))
        [ $tries -le 100 ] || lab_abort "$2 in $1 got no carrier"
        sleep 0.1
    done
}
active_port() { ip netns exec "$1" cat /sys/class/net/"$2"/bonding/active_slave; }
wait_active_not() {
    tries=0
    while [ "$(active_port "$1" "$2")" = "$3" ]; do
        tries=$((tries + 1))
        [ $tries -le 50 ] || lab_abort "bond $2 did not fail over from $3"
        sleep 0.2
    done
}
"#;

/// The demo's guest script, told with `net` doing the pod network steps.
pub fn script(net: &dyn PodNetwork) -> String {
    let mut s = String::from(HELPERS);
    let push_run = |s: &mut String, lines: Vec<String>| {
        for line in lines {
            s.push_str(&format!("run \"{}\"\n", line.replace('"', "\\\"")));
        }
    };
    s.push_str("pf0=${NETPLUMB_LAB_PFS%,*}\npf1=${NETPLUMB_LAB_PFS#*,}\n");
    for vf in [PORT_A, PORT_B, PEER_VF] {
        s.push_str(&format!(
            "{name}=$(ls /sys/class/net/$pf{pf}/device/virtfn{idx}/net)\n{mac}=$(cat /sys/class/net/${name}/address)\n",
            name = vf.name_var(),
            mac = vf.mac_var(),
            pf = vf.pf,
            idx = vf.index
        ));
    }
    s.push_str(&format!(
        r#"say "The lab: two igb PFs ($pf0, $pf1) with 7 VFs each, and $NETPLUMB_LAB_VMNIC, on one emulated wire"
run "ip -br link show dev $pf0"
run "ip -br link show dev $pf1"
note "VF 1 of $pf0 is ${a} (${ma}), VF 1 of $pf1 is ${b} (${mb}), VF 2 of $pf0 is ${p} (${mp})"

say "1. Two pods: {POD} and {PEER} (network namespaces)"
run 'ip netns add {POD}'
run 'ip netns add {PEER}'

say "2. {POD} gets VF 1 of each PF, as net1 and net2"
"#,
        a = PORT_A.name_var(),
        b = PORT_B.name_var(),
        p = PEER_VF.name_var(),
        ma = PORT_A.mac_var(),
        mb = PORT_B.mac_var(),
        mp = PEER_VF.mac_var(),
    ));
    push_run(
        &mut s,
        net.add_vf(&VfAttachment {
            pod: POD,
            vf: PORT_A,
            ifname: "net1",
            mac: "02:00:5e:de:00:01",
            address: None,
        }),
    );
    push_run(
        &mut s,
        net.add_vf(&VfAttachment {
            pod: POD,
            vf: PORT_B,
            ifname: "net2",
            mac: "02:00:5e:de:00:02",
            address: None,
        }),
    );
    s.push_str(&format!(
        "say \"3. A bond over them: active-backup, fail_over_mac active, miimon 100, {POD_ADDR}\"\n"
    ));
    push_run(&mut s, net.add_bond(POD, BOND, &["net1", "net2"], POD_ADDR));
    s.push_str(&format!(
        "run 'ip -n {POD} -br addr'\nsay \"4. {PEER} gets VF 2 of $pf0 as net1, {PEER_ADDR}\"\n"
    ));
    push_run(
        &mut s,
        net.add_vf(&VfAttachment {
            pod: PEER,
            vf: PEER_VF,
            ifname: "net1",
            mac: "02:00:5e:de:00:03",
            address: Some(PEER_ADDR),
        }),
    );
    s.push_str(&format!(
        r#"say "5. Traffic: {POD} pings {PEER} through the bond"
wait_carrier {POD} net1
wait_carrier {POD} net2
wait_carrier {PEER} net1
note "carrier on every VF; active port: $(active_port {POD} {BOND})"
run 'ip netns exec {POD} ping -c 3 -w 20 {PEER_IP}'

say "6. Failover: the active port goes down"
first=$(active_port {POD} {BOND})
run "ip -n {POD} link set $first down"
wait_active_not {POD} {BOND} "$first"
second=$(active_port {POD} {BOND})
note "active port now: $second"
run 'ip netns exec {POD} ping -c 3 -w 20 {PEER_IP}'

say "7. And back: $first comes up, $second goes down"
run "ip -n {POD} link set $first up"
wait_carrier {POD} "$first"
run "ip -n {POD} link set $second down"
wait_active_not {POD} {BOND} "$second"
note "active port now: $(active_port {POD} {BOND})"
run 'ip netns exec {POD} ping -c 3 -w 20 {PEER_IP}'
run "ip -n {POD} link set $second up"

say "8. Teardown: the bond goes, the VFs return to the host with their names and MACs"
"#
    ));
    push_run(&mut s, net.del_bond(POD, BOND));
    push_run(&mut s, net.del_vf(POD, PORT_A, "net1"));
    push_run(&mut s, net.del_vf(POD, PORT_B, "net2"));
    push_run(&mut s, net.del_vf(PEER, PEER_VF, "net1"));
    s.push_str(&format!(
        "run 'ip netns del {POD}'\nrun 'ip netns del {PEER}'\n"
    ));
    for vf in [PORT_A, PORT_B, PEER_VF] {
        s.push_str(&format!(
            "run \"ip -br link show dev ${name}\"\n[ \"$(cat /sys/class/net/${name}/address)\" = \"${mac}\" ] || lab_abort \"${name} did not get its MAC back\"\n",
            name = vf.name_var(),
            mac = vf.mac_var()
        ));
    }
    s.push_str("run 'ip netns list'\nsay \"Done: every VF is back where it was.\"\n");
    s
}

/// Boots the lab with the demo script and shows its story.
pub fn run(opts: &Options) -> Result<()> {
    lab::run_script("demo", script(&IpCommands), opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_runs_every_backend_step_through_run() {
        let s = script(&IpCommands);
        assert!(s.contains("run \"ip link set $vf_0_1 netns demo-pod name net1\"\n"));
        assert!(s.contains("run \"ip -n demo-pod link set net1 master bond0\"\n"));
        assert!(s.contains("run \"ip -n demo-peer link set net1 netns 1 name $vf_0_2\"\n"));
    }

    #[test]
    fn bond_ports_go_down_before_they_are_enslaved() {
        let lines = IpCommands.add_bond("p", "bond0", &["net1"], "198.51.100.1/24");
        let down = lines.iter().position(|l| l.ends_with("net1 down")).unwrap();
        let master = lines
            .iter()
            .position(|l| l.ends_with("master bond0"))
            .unwrap();
        assert!(down < master);
        assert!(lines[0].contains("mode active-backup miimon 100 fail_over_mac active"));
    }

    #[test]
    fn teardown_undoes_what_setup_did() {
        let s = script(&IpCommands);
        let setup = s.find("netns demo-pod name net1").unwrap();
        let teardown = s.find("netns 1 name $vf_0_1").unwrap();
        assert!(setup < teardown);
        assert!(s.contains("address $mac_0_1"));
        assert!(s.contains("ip netns del demo-pod"));
        assert!(s.contains("ip netns del demo-peer"));
    }

    #[test]
    fn only_documentation_addresses_are_used() {
        let s = script(&IpCommands);
        for addr in s
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|w| w.matches('.').count() == 3)
        {
            assert!(
                addr.starts_with("198.51.100.") || addr.starts_with("192.0.2."),
                "{addr}"
            );
        }
    }
}
