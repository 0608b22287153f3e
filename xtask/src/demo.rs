//! `cargo xtask demo`: boots the lab and tells, with the `sriov` and `bond`
//! plugins called as a container runtime calls them, how a pod gets a VF
//! from each PF and a bond over them, talks to a peer pod, keeps talking
//! while a cable is pulled and after it is plugged back in, and gives every
//! VF back.
//!
//! Each plugin call shows its `CNI_*` variables, the configuration it reads
//! on stdin, what it prints and its exit code (its log only when it fails).
//! The story ends by comparing every VF's name and netdev, and its PF's VF
//! table, with how they were before it, and fails unless they match.

use crate::error::Result;
use crate::lab::{self, Options};

/// A network a pod attaches to, as the runtime has it: the plugin its
/// `type` names and the configuration that plugin reads on stdin. `$pf0`,
/// `$pf1` and `$peer_pf` in a configuration are the guest's PF names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Network {
    plugin: &'static str,
    config: &'static str,
}

/// Seed 003's kind of `sriov` network: a free VF of the PF `master` names.
/// Spoof check off, as bond-cni's README has its ports, and trust on, which
/// OpenShift asks of balance-rr and balance-xor ports: PF-side settings
/// that teardown must put back.
const SRIOV_NET1: Network = Network {
    plugin: "sriov",
    config: r#"{"cniVersion":"0.3.1","name":"sriovnet1","type":"sriov","master":"$pf0","spoofchk":"off","trust":"on"}"#,
};
const SRIOV_NET2: Network = Network {
    plugin: "sriov",
    config: r#"{"cniVersion":"0.3.1","name":"sriovnet2","type":"sriov","master":"$pf1","spoofchk":"off","trust":"on"}"#,
};
/// Seed 004's bond (OpenShift's pod-level bonding), with a documentation
/// subnet instead of 10.56.217.0/24.
const BOND_NET: Network = Network {
    plugin: "bond",
    config: r#"{"type":"bond","cniVersion":"0.3.1","name":"bond-net1","mode":"active-backup","failOverMac":1,"linksInContainer":true,"miimon":"100","mtu":1500,"links":[{"name":"net1"},{"name":"net2"}],"ipam":{"type":"host-local","subnet":"192.0.2.0/24","routes":[{"dst":"0.0.0.0/0"}],"gateway":"192.0.2.1"}}"#,
};
/// The peer's VF, with a fixed address in the bond's subnet: host-local
/// keeps one pool per network name, so a second pool would hand out the
/// bond's address again.
const PEER_NET: Network = Network {
    plugin: "sriov",
    config: r#"{"cniVersion":"0.3.1","name":"sriovnet-peer","type":"sriov","master":"$peer_pf","ipam":{"type":"static","addresses":[{"address":"192.0.2.100/24"}]}}"#,
};
const PEER_IP: &str = "192.0.2.100";

const POD: &str = "demo-pod";
const PEER: &str = "demo-peer";

/// One interface of a pod: the network behind it and its name in the pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Attachment {
    pod: &'static str,
    ifname: &'static str,
    net: Network,
}

/// The pod's interfaces in the order the runtime adds them (the
/// annotation's order): a runtime deletes them in reverse.
const POD_ATTACHMENTS: [Attachment; 3] = [
    Attachment {
        pod: POD,
        ifname: "net1",
        net: SRIOV_NET1,
    },
    Attachment {
        pod: POD,
        ifname: "net2",
        net: SRIOV_NET2,
    },
    Attachment {
        pod: POD,
        ifname: "bond0",
        net: BOND_NET,
    },
];
const PEER_ATTACHMENT: Attachment = Attachment {
    pod: PEER,
    ifname: "net1",
    net: PEER_NET,
};

impl Attachment {
    /// The guest line that calls the plugin with `command` (`ADD`, `DEL`)
    /// through the `cni` helper.
    fn call(&self, command: &str) -> String {
        format!(
            "cni {command} {plugin} {pod} {ifname} {config}\n",
            plugin = self.net.plugin,
            pod = self.pod,
            ifname = self.ifname,
            config = double_quoted(self.net.config),
        )
    }
}

/// `s` as a shell word in double quotes: `$name` still expands.
fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '\\' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

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
# cni COMMAND PLUGIN POD IFNAME CONFIG: calls PLUGIN as a runtime does, the
# CNI_* variables in its environment and CONFIG on its stdin, and shows the
# call, what it prints and its exit code; its log (stderr) only if it fails.
cni() {
    echo "   \$ CNI_COMMAND=$1 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$3 CNI_IFNAME=$4 $2"
    echo "     stdin  $5"
    printf '%s\n' "$5" |
        CNI_COMMAND=$1 CNI_CONTAINERID=$3 CNI_NETNS=/run/netns/$3 CNI_IFNAME=$4 \
        "$NETPLUMB_LAB_PLUGINS/$2" > /tmp/cni.out 2> /tmp/cni.log
    rc=$?
    if [ -s /tmp/cni.out ]; then
        sed '1s/^/     stdout /; 2,$s/^/            /' /tmp/cni.out
        # A plugin's output need not end with a newline.
        [ -z "$(tail -c 1 /tmp/cni.out)" ] || echo
    else
        echo "     stdout (nothing)"
    fi
    echo "     exit $rc"
    if [ $rc != 0 ]; then
        sed 's/^/     log: /' /tmp/cni.log
        lab_abort "$2 $1 of $4 in $3 failed (exit $rc)"
    fi
}
# A VF's carrier comes up seconds after `up` (or after its PF's) under emulation.
wait_carrier() {
    tries=0
    until ip -n "$1" link show "$2" | grep -q LOWER_UP; do
        tries=$((tries + 1))
        [ $tries -le 300 ] || lab_abort "$2 in $1 got no carrier"
        sleep 0.1
    done
}
active_port() { ip netns exec "$1" cat /sys/class/net/"$2"/bonding/active_slave; }
# Waits until the bond has an active port other than $3 (none: any).
wait_active_not() {
    tries=0
    while now=$(active_port "$1" "$2"); [ -z "$now" ] || [ "$now" = "$3" ]; do
        tries=$((tries + 1))
        [ $tries -le 100 ] || lab_abort "bond $2 has no active port other than '$3'"
        sleep 0.1
    done
}
bond_status() {
    run "ip netns exec $1 grep -E 'Active Slave|Slave Interface|MII Status' /proc/net/bonding/$2"
}
# What the demo must leave as it found it: each PF's VF table, and each VF's
# netdev in the host (name, MAC, MTU, flags).
vf_homes() {
    for pf in $pf0 $pf1; do
        /usr/sbin/ip link show dev $pf | grep '^ *vf '
        for vf in /sys/class/net/$pf/device/virtfn*; do
            for n in "$vf"/net/*; do
                [ -e "$n" ] && echo "$pf ${vf##*/} ${n##*/} $(cat $n/address) mtu $(cat $n/mtu) flags $(cat $n/flags)"
            done
        done
    done
}
vf_names() {
    names=
    for vf in /sys/class/net/$1/device/virtfn*; do
        names="$names ${vf##*/}=$(ls $vf/net 2>/dev/null)"
    done
    note "VF netdevs of $1:$names"
}
"#;

/// The demo's guest script.
pub fn script() -> String {
    let [net1, net2, bond0] = POD_ATTACHMENTS;
    let mut s = String::from(HELPERS);
    s.push_str(&format!(
        r#"pf0=${{NETPLUMB_LAB_PFS%,*}}
pf1=${{NETPLUMB_LAB_PFS#*,}}
export CNI_PATH=$NETPLUMB_LAB_PLUGINS:$NETPLUMB_LAB_CNI_PATH

say "The lab: two igb PFs ($pf0, $pf1) with 7 VFs each, and $NETPLUMB_LAB_VMNIC, on one emulated wire"
run "ip link show dev $pf0"
run "ip link show dev $pf1"
vf_names $pf0
vf_names $pf1
vf_homes > /tmp/homes.before
note "The demo ends by comparing every VF's name, netdev and VF table entry with these."

say "1. Two pods: {POD} and {PEER} (network namespaces, as a runtime makes them)"
run 'ip netns add {POD}'
run 'ip netns add {PEER}'
note "Plugins are called as a runtime calls them, with CNI_PATH=$CNI_PATH"
note "(where they find the IPAM plugins host-local and static)."

say "2. {POD} gets a VF of each PF through sriov, as net1 and net2 (as in seed 003, \"master\" names the PF)"
"#
    ));
    s.push_str(&net1.call("ADD"));
    s.push_str(&net2.call("ADD"));
    s.push_str(&format!(
        r#"run 'ip -n {POD} -br link'
note "The PFs' VF tables show the VFs sriov took, with spoof checking off and trust on:"
run "ip link show dev $pf0 | grep 'trust on'"
run "ip link show dev $pf1 | grep 'trust on'"

say "3. A bond over them through bond, as OpenShift's pod-level bonding has it (seed 004): active-backup, failOverMac 1, linksInContainer, miimon 100, mtu 1500; host-local on 192.0.2.0/24"
"#
    ));
    s.push_str(&bond0.call("ADD"));
    s.push_str(&format!(
        r#"run 'ip -n {POD} -br addr'
wait_carrier {POD} net1
wait_carrier {POD} net2
wait_active_not {POD} bond0 ""
first=$(active_port {POD} bond0)
bond_status {POD} bond0
# The peer hangs off the PF that stays plugged in when the active port's
# cable is pulled: on one wire, a pulled PF takes its other VFs with it.
if [ "$first" = net1 ]; then first_pf=$pf0 peer_pf=$pf1; else first_pf=$pf1 peer_pf=$pf0; fi

say "4. {PEER} gets a VF of $peer_pf (the PF behind the backup port) through sriov, with static IPAM: {PEER_IP}/24"
"#
    ));
    s.push_str(&PEER_ATTACHMENT.call("ADD"));
    s.push_str(&format!(
        r#"wait_carrier {PEER} net1
run 'ip -n {PEER} -br addr'

say "5. Traffic: {POD} pings {PEER} through the bond, whose active port is $first"
run 'ip netns exec {POD} ping -c 3 -w 20 {PEER_IP}'

say "6. Failover: $first's cable is pulled ($first_pf goes down)"
run "ip link set $first_pf down"
wait_active_not {POD} bond0 "$first"
second=$(active_port {POD} bond0)
run "ip -n {POD} -br link show $first"
bond_status {POD} bond0
note "active port now: $second"
run 'ip netns exec {POD} ping -c 3 -w 20 {PEER_IP}'

say "7. And back: $first_pf is plugged in again"
run "ip link set $first_pf up"
wait_carrier {POD} "$first"
bond_status {POD} bond0
note "both ports up; the bond stays on $second (the configuration names no primary)"
run 'ip netns exec {POD} ping -c 3 -w 20 {PEER_IP}'

say "8. Teardown in reverse, as a runtime does: DEL bond0, net2 and net1 of {POD}, net1 of {PEER}; then the pods go"
"#
    ));
    for attachment in POD_ATTACHMENTS.iter().rev() {
        s.push_str(&attachment.call("DEL"));
    }
    s.push_str(&PEER_ATTACHMENT.call("DEL"));
    s.push_str(&format!(
        r#"run 'ip netns del {POD}'
run 'ip netns del {PEER}'

say "9. Every VF is home"
run "ip link show dev $pf0"
run "ip link show dev $pf1"
vf_names $pf0
vf_names $pf1
vf_homes > /tmp/homes.after
if ! cmp -s /tmp/homes.before /tmp/homes.after; then
    diff /tmp/homes.before /tmp/homes.after | sed 's/^/     /'
    lab_abort "not every VF is home as it was (- before, + after)"
fi
note "every VF is home, as it was"
"#
    ));
    s
}

/// Boots the lab with the demo script and shows its story.
pub fn run(opts: &Options) -> Result<()> {
    lab::run_script("demo", script(), opts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(config: &str) -> serde_json::Value {
        serde_json::from_str(config).unwrap_or_else(|e| panic!("{config}: {e}"))
    }

    #[test]
    fn every_network_is_json_naming_its_plugin() {
        for net in [SRIOV_NET1, SRIOV_NET2, BOND_NET, PEER_NET] {
            assert_eq!(json(net.config)["type"], net.plugin, "{}", net.config);
        }
    }

    #[test]
    fn the_bond_is_seed_004_on_a_documentation_subnet() {
        let seed = std::fs::read_to_string(
            lab::workspace_root().join("cniconf/tests/data/seed-004-bond.json"),
        )
        .unwrap();
        let mut seed = json(&seed);
        seed["ipam"]["subnet"] = "192.0.2.0/24".into();
        seed["ipam"]["gateway"] = "192.0.2.1".into();
        assert_eq!(json(BOND_NET.config), seed);
    }

    #[test]
    fn a_call_passes_the_config_with_the_pf_names_left_to_the_guest() {
        assert_eq!(
            PEER_ATTACHMENT.call("DEL"),
            format!(
                "cni DEL sriov demo-peer net1 \"{}\"\n",
                PEER_NET.config.replace('"', "\\\"")
            )
        );
        assert!(POD_ATTACHMENTS[0]
            .call("ADD")
            .contains(r#"\"master\":\"$pf0\""#));
        assert_eq!(double_quoted(r#"a"b\c`d$e"#), r#""a\"b\\c\`d$e""#);
    }

    #[test]
    fn teardown_deletes_in_reverse_of_add() {
        let s = script();
        let at = |line: String| s.find(&line).unwrap_or_else(|| panic!("{line}"));
        let adds: Vec<usize> = POD_ATTACHMENTS
            .iter()
            .chain([&PEER_ATTACHMENT])
            .map(|a| at(a.call("ADD")))
            .collect();
        assert!(adds.windows(2).all(|w| w[0] < w[1]));
        let dels: Vec<usize> = POD_ATTACHMENTS
            .iter()
            .rev()
            .map(|a| at(a.call("DEL")))
            .collect();
        assert!(dels.windows(2).all(|w| w[0] < w[1]));
        assert!(adds.iter().all(|add| *add < dels[0]));
        assert!(s.find("ip netns del demo-pod").unwrap() > dels[2]);
        assert!(s.contains("every VF is home, as it was"));
    }

    #[test]
    fn the_peer_is_reached_at_its_static_address() {
        let peer = json(PEER_NET.config);
        assert_eq!(
            peer["ipam"]["addresses"][0]["address"],
            format!("{PEER_IP}/24")
        );
        assert!(script().contains(&format!("ping -c 3 -w 20 {PEER_IP}")));
    }

    #[test]
    fn only_documentation_addresses_are_used() {
        let s = script();
        for addr in s
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|w| w.matches('.').count() == 3)
        {
            assert!(
                addr.starts_with("192.0.2.") || addr.starts_with("0.0.0.0"),
                "{addr}"
            );
        }
    }
}
