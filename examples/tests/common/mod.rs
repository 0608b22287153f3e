//! A container runtime for the lab tests of the plugin binaries: plugins
//! run as libcni runs them (the `CNI_*` environment, the configuration on
//! stdin, the result or error reply on stdout), pods as named network
//! namespaces, and a guard that puts every VF a test touches back as it
//! was, even when the test fails halfway.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use netplumb_cniconf::{CniResult, CniVersion};
use netplumb_netns::{MacAddr, NetNs};
use netplumb_vf::testing::comparable_after_restore;
use netplumb_vf::{Allocator, Host, IfName, PciAddr, Sysfs, Vf, VfNetdev, VfSettings, VfState};
use serde_json::{json, Value};

/// iproute2 by full path: busybox's shell would run its own `ip` applet.
pub const IP: &str = "/usr/sbin/ip";

/// A lab variable; without the lab, fails saying how to run the test.
pub fn lab_var(name: &str) -> String {
    assert!(
        std::env::var_os("NETPLUMB_LAB").is_some(),
        "this test needs the SR-IOV lab: run it through `cargo xtask lab`"
    );
    std::env::var(name).unwrap_or_else(|_| panic!("the lab did not set {name}"))
}

/// The two igb PFs, in PCI order.
pub fn lab_pfs() -> Vec<IfName> {
    lab_var("NETPLUMB_LAB_PFS")
        .split(',')
        .map(|name| name.parse().unwrap())
        .collect()
}

/// The e1000e NIC: a VF as a VM sees it, with no PF.
pub fn lab_vm_nic() -> IfName {
    lab_var("NETPLUMB_LAB_VMNIC").parse().unwrap()
}

/// Where the runtime looks for plugins: the workspace's binaries, then
/// Debian's.
pub fn cni_path() -> Vec<PathBuf> {
    vec![
        PathBuf::from(lab_var("NETPLUMB_LAB_PLUGINS")),
        PathBuf::from(lab_var("NETPLUMB_LAB_CNI_PATH")),
    ]
}

/// A name unique to this process and call, short enough for a netdev.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}x{n}", std::process::id() % 100_000)
}

/// Runs `iproute2` and returns its stdout, or the command and its stderr.
pub fn try_ip(args: &[&str]) -> Result<String, String> {
    let out = Command::new(IP)
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
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

pub fn ip(args: &[&str]) -> String {
    try_ip(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Polls `check` for up to `limit`: carrier, ARP and devices coming back
/// from a deleted namespace all take a while under emulation.
pub fn wait_for(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------
// Running plugins

/// What a plugin printed and how it exited.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The command, for messages.
    pub what: String,
    pub exit: Option<i32>,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.exit == Some(0)
    }

    /// Stdout as JSON (a result or an error reply).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{}: stdout is not JSON ({e}): {:?}\nstderr: {}",
                self.what,
                String::from_utf8_lossy(&self.stdout),
                self.stderr
            )
        })
    }

    /// Panics with everything the plugin said unless it succeeded.
    pub fn ok(&self) -> &Outcome {
        assert!(self.succeeded(), "{self}");
        self
    }

    /// The error reply of a plugin that failed as the spec says (exit 1,
    /// the reply on stdout): its code and message.
    pub fn error(&self) -> (u64, String) {
        assert_eq!(self.exit, Some(1), "{self}");
        let reply = self.json();
        let code = reply["code"]
            .as_u64()
            .unwrap_or_else(|| panic!("no code: {self}"));
        let msg = reply["msg"].as_str().unwrap_or_default().to_owned();
        (code, msg)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: exit {:?}\nstdout: {}\nstderr: {}",
            self.what,
            self.exit,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }
}

/// One attachment of a pod to a network: what the runtime puts in the
/// `CNI_*` variables.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub container_id: String,
    pub netns: PathBuf,
    pub ifname: String,
    pub args: String,
}

impl Attachment {
    /// `pod`'s attachment as `ifname`, with a container ID of its own and
    /// the `CNI_ARGS` a Kubernetes runtime passes.
    pub fn new(pod: &Pod, ifname: &str) -> Attachment {
        Attachment {
            container_id: format!("{}-{}", unique("ctr"), pod.name),
            netns: pod.path(),
            ifname: ifname.to_owned(),
            args: format!(
                "IgnoreUnknown=1;K8S_POD_NAMESPACE=lab;K8S_POD_NAME={}",
                pod.name
            ),
        }
    }
}

/// The plugin `plugin_type` as the runtime finds it: the first in CNI_PATH.
pub fn find_plugin(plugin_type: &str) -> PathBuf {
    cni_path()
        .into_iter()
        .map(|dir| dir.join(plugin_type))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no {plugin_type} in {:?}", cni_path()))
}

/// Runs the plugin `plugin_type` for `command` with `conf` on stdin.
pub fn exec(plugin_type: &str, command: &str, att: &Attachment, conf: &Value) -> Outcome {
    exec_with(plugin_type, command, att, conf, &[])
}

/// [`exec`], with the variables `extra` set too.
pub fn exec_with(
    plugin_type: &str,
    command: &str,
    att: &Attachment,
    conf: &Value,
    extra: &[(&str, &str)],
) -> Outcome {
    let path: Vec<String> = cni_path().iter().map(|p| p.display().to_string()).collect();
    let mut cmd = Command::new(find_plugin(plugin_type));
    cmd.envs(extra.iter().copied());
    // DEL may come without a namespace (a runtime whose pod is gone).
    if !att.netns.as_os_str().is_empty() {
        cmd.env("CNI_NETNS", &att.netns);
    }
    let mut child = cmd
        .env("CNI_COMMAND", command)
        .env("CNI_CONTAINERID", &att.container_id)
        .env("CNI_IFNAME", &att.ifname)
        .env("CNI_ARGS", &att.args)
        .env("CNI_PATH", path.join(":"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {plugin_type}: {e}"));
    // Far below a pipe's buffer: written before the plugin reads it.
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(conf).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Outcome {
        what: format!("{plugin_type} {command} {}", att.container_id),
        exit: out.status.code(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A network as a runtime holds it: one configuration, or a list whose
/// plugins get the list's `name` and `cniVersion` (libcni's conflist).
#[derive(Debug, Clone)]
pub struct Network {
    pub name: String,
    pub cni_version: Option<String>,
    pub plugins: Vec<Value>,
    /// A list (`name` and `cniVersion` injected into every plugin) rather
    /// than a configuration on its own.
    pub is_list: bool,
}

impl Network {
    /// A configuration on its own.
    pub fn single(conf: Value) -> Network {
        Network {
            name: conf["name"].as_str().unwrap_or_default().to_owned(),
            cni_version: conf["cniVersion"].as_str().map(str::to_owned),
            plugins: vec![conf],
            is_list: false,
        }
    }

    /// A conflist.
    pub fn list(name: &str, cni_version: &str, plugins: Vec<Value>) -> Network {
        Network {
            name: name.to_owned(),
            cni_version: Some(cni_version.to_owned()),
            plugins,
            is_list: true,
        }
    }

    /// The configuration plugin `i` gets, with `prev` as its prevResult.
    pub fn conf(&self, i: usize, prev: Option<&Value>) -> Value {
        let mut conf = self.plugins[i].clone();
        if self.is_list {
            conf["name"] = json!(self.name);
            conf["cniVersion"] = json!(self.cni_version);
        }
        if let Some(prev) = prev {
            conf["prevResult"] = prev.clone();
        }
        conf
    }

    fn plugin_type(&self, i: usize) -> String {
        self.plugins[i]["type"].as_str().unwrap().to_owned()
    }

    /// Whether DEL and CHECK get the cached result as prevResult (0.4.0
    /// and later).
    fn passes_cached_result(&self) -> bool {
        self.cni_version
            .as_deref()
            .and_then(|v| v.parse::<CniVersion>().ok())
            .is_some_and(|v| v >= CniVersion::V0_4_0)
    }

    /// ADD down the list, each plugin getting the one before's result;
    /// the final result (which the runtime caches), or the failing
    /// plugin's outcome.
    pub fn add(&self, att: &Attachment) -> Result<Value, Outcome> {
        let mut prev: Option<Value> = None;
        for i in 0..self.plugins.len() {
            let out = exec(
                &self.plugin_type(i),
                "ADD",
                att,
                &self.conf(i, prev.as_ref()),
            );
            if !out.succeeded() {
                return Err(out);
            }
            prev = Some(out.json());
        }
        Ok(prev.expect("a network has a plugin"))
    }

    /// ADD that must succeed; the result.
    pub fn added(&self, att: &Attachment) -> Value {
        self.add(att).unwrap_or_else(|o| panic!("{o}"))
    }

    /// CHECK that must succeed.
    pub fn checked(&self, att: &Attachment, cached: &Value) {
        self.check(att, cached).unwrap_or_else(|o| panic!("{o}"))
    }

    /// DEL that must succeed.
    pub fn deleted(&self, att: &Attachment, cached: Option<&Value>) {
        self.del(att, cached).unwrap_or_else(|o| panic!("{o}"))
    }

    /// CHECK down the list, each plugin with the cached result.
    pub fn check(&self, att: &Attachment, cached: &Value) -> Result<(), Outcome> {
        for i in 0..self.plugins.len() {
            let out = exec(
                &self.plugin_type(i),
                "CHECK",
                att,
                &self.conf(i, Some(cached)),
            );
            if !out.succeeded() {
                return Err(out);
            }
        }
        Ok(())
    }

    /// DEL up the list, each plugin with the cached result when the
    /// version passes it, stopping at the first that fails as libcni does.
    pub fn del(&self, att: &Attachment, cached: Option<&Value>) -> Result<(), Outcome> {
        let prev = cached.filter(|_| self.passes_cached_result());
        for i in (0..self.plugins.len()).rev() {
            let out = exec(&self.plugin_type(i), "DEL", att, &self.conf(i, prev));
            if !out.succeeded() {
                return Err(out);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Pods

/// A pod: a named network namespace (`/run/netns/NAME`), removed when
/// dropped.
#[derive(Debug)]
pub struct Pod {
    pub name: String,
    ns: Option<NetNs>,
}

impl Pod {
    pub fn new(prefix: &str) -> Pod {
        let name = unique(prefix);
        let ns = NetNs::create_named(&name).unwrap();
        Pod { name, ns: Some(ns) }
    }

    pub fn ns(&self) -> &NetNs {
        self.ns.as_ref().expect("the pod's namespace is there")
    }

    pub fn path(&self) -> PathBuf {
        Path::new(netplumb_netns::NETNS_RUN_DIR).join(&self.name)
    }

    /// Deletes the namespace now, as a runtime does when a pod ends: the
    /// kernel hands its VFs back to the host on its own, a little later.
    pub fn delete(&mut self) {
        self.ns = None;
        NetNs::remove_named(&self.name).unwrap();
    }

    /// `ip -n POD ARGS`: what a process in the pod may do to its links.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        ip(&all)
    }

    /// The names of the pod's links.
    pub fn links(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .ns()
            .netlink()
            .unwrap()
            .links()
            .unwrap()
            .into_iter()
            .map(|l| l.name.to_string())
            .collect();
        names.sort();
        names
    }

    /// Checks the pod holds nothing but its loopback.
    pub fn assert_empty(&self) {
        assert_eq!(
            self.links(),
            vec!["lo".to_owned()],
            "links in {}",
            self.name
        );
    }

    /// Whether a ping from the pod to `addr` gets an answer within a
    /// second.
    pub fn pings(&self, addr: &str) -> bool {
        Command::new(IP)
            .args([
                "netns", "exec", &self.name, "ping", "-c", "1", "-W", "1", addr,
            ])
            .output()
            .is_ok_and(|out| out.status.success())
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        if self.ns.take().is_some() {
            let _ = NetNs::remove_named(&self.name);
        }
    }
}

// ---------------------------------------------------------------------------
// VFs

/// VF `index` of lab PF `pf`.
pub fn lab_vf(host: &Host, pf: usize, index: u32) -> Vf {
    host.sysfs().vf_by_index(&lab_pfs()[pf], index).unwrap()
}

pub fn snapshot(host: &Host, vf: PciAddr) -> VfState {
    host.snapshot(&host.sysfs().vf(vf).unwrap()).unwrap()
}

/// Checks that the VF is back as `before` records it: name, MACs, MTU,
/// flags, alias, altnames, PF-side settings, and that it may still set its
/// own MAC.
pub fn assert_as_before(host: &Host, before: &VfState) {
    let now = snapshot(host, before.vf.addr);
    let (was, now) = comparable_after_restore(before, &now);
    assert_eq!(now, was, "{}", before.vf);
    if before.netdev.is_some() {
        assert!(
            may_set_own_mac(host, before.vf.addr),
            "{}: it can no longer set its own MAC (an administrative MAC is set)",
            before.vf
        );
    }
}

/// A MAC other than `mac`, locally administered.
pub fn other_mac(mac: MacAddr) -> MacAddr {
    let mut other = MacAddr([0x02, 0x6c, 0x61, 0x62, 0x77, 0x01]);
    if other == mac {
        other.0[5] = 0x02;
    }
    other
}

/// Whether the VF, from the host, may set its own MAC: it sets another one
/// and its own again, and both stick. The kernel does not pass the driver
/// a MAC the netdev already has, so the first change is what tells; igb
/// refuses it once the PF has written an administrative MAC.
pub fn may_set_own_mac(host: &Host, vf: PciAddr) -> bool {
    let found = host.sysfs().vf(vf).unwrap();
    let VfNetdev::Host(netdev) = &found.netdev else {
        panic!(
            "{vf} has no netdev in the host namespace: {:?}",
            found.netdev
        );
    };
    let nl = host.netlink();
    let own = nl.link(netdev.name).unwrap().mac.unwrap();
    let temp = other_mac(own);
    let took =
        nl.set_mac(netdev.name, temp).is_ok() && nl.link(netdev.name).unwrap().mac == Some(temp);
    if took {
        nl.set_mac(netdev.name, own).unwrap();
    }
    took && nl.link(netdev.name).unwrap().mac == Some(own)
}

/// Who holds the VF according to the host-wide claims, by owner text.
pub fn claim_owner(vf: PciAddr) -> Option<String> {
    Allocator::new(Allocator::HOST_DIR, Sysfs::default())
        .unwrap()
        .holder(vf)
        .unwrap()
        .map(|h| h.owner)
}

/// Writes `value` to a sysfs attribute.
fn write_sysfs(path: &Path, value: &str) -> Result<(), String> {
    std::fs::write(path, value).map_err(|e| format!("echo {value:?} > {}: {e}", path.display()))
}

/// Hands PCI function `vf` to `driver`, or with `None` to whichever driver
/// matches it, as DPDK's tools do: `driver_override`, unbind,
/// `drivers_probe`.
pub fn rebind(vf: PciAddr, driver: Option<&str>) -> Result<(), String> {
    let dev = Path::new("/sys/bus/pci/devices").join(vf.to_string());
    // A lone newline clears the override.
    write_sysfs(&dev.join("driver_override"), driver.unwrap_or("\n"))?;
    if dev.join("driver").exists() {
        write_sysfs(&dev.join("driver/unbind"), &vf.to_string())?;
    }
    write_sysfs(Path::new("/sys/bus/pci/drivers_probe"), &vf.to_string())
}

/// The driver bound to `vf`.
pub fn driver_of(vf: PciAddr) -> Option<String> {
    let link = Path::new("/sys/bus/pci/devices")
        .join(vf.to_string())
        .join("driver");
    std::fs::read_link(link)
        .ok()
        .map(|l| l.file_name().unwrap().to_string_lossy().into_owned())
}

/// Whether `vf`'s netdev is in the host namespace within 20 s (the kernel
/// hands a deleted namespace's devices back asynchronously, and igbvf
/// makes the netdev a little after it binds).
fn netdev_comes_home(host: &Host, vf: PciAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if matches!(host.sysfs().vf(vf).map(|v| v.netdev), Ok(VfNetdev::Host(_))) {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `vf`'s netdev is in the host namespace.
pub fn wait_in_host(host: &Host, vf: PciAddr) {
    assert!(
        netdev_comes_home(host, vf),
        "{vf}'s netdev did not come back to the host"
    );
}

/// The test's surroundings: the host, a private directory for the
/// plugins' journal and host-local's leases, and the VFs to put back.
/// Declare it before the pods, so that it is dropped after them: the
/// kernel hands their VFs back, and this puts each VF back exactly as it
/// was found, frees its MAC if a test left it locked, and drops its claim.
pub struct Lab {
    pub host: Host,
    pub dir: PathBuf,
    guarded: Vec<VfState>,
    /// PFs whose VF count a test changed, with the count to put back.
    pub num_vfs: Vec<(IfName, u32)>,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = std::env::temp_dir().join(unique("netplumb-sriov-"));
        std::fs::create_dir_all(&dir).unwrap();
        Lab {
            host: Host::open(Sysfs::default()).unwrap(),
            dir,
            guarded: Vec::new(),
            num_vfs: Vec::new(),
        }
    }

    /// Records `vf` to put back; returns its state now.
    pub fn guard(&mut self, vf: &Vf) -> VfState {
        let state = self.host.snapshot(vf).unwrap();
        self.guarded.push(state.clone());
        state
    }

    /// The plugins' data directory (`dataDir`).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// host-local's lease directory.
    pub fn ipam_dir(&self) -> PathBuf {
        self.dir.join("ipam")
    }

    /// The journal record of `att` on `network`.
    pub fn record(&self, network: &str, att: &Attachment) -> PathBuf {
        self.data_dir()
            .join("attachments")
            .join(network)
            .join(format!("{}:{}.json", att.container_id, att.ifname))
    }

    /// Files left in `network`'s journal directory.
    pub fn journal_files(&self, network: &str) -> Vec<String> {
        let dir = self.data_dir().join("attachments").join(network);
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// An `sriov` configuration in `version` for `network`, its journal in
    /// this test's directory, with `fields` added.
    pub fn sriov(&self, version: &str, network: &str, fields: Value) -> Value {
        let mut conf = json!({
            "cniVersion": version,
            "name": network,
            "type": "sriov",
            "dataDir": self.data_dir(),
        });
        for (k, v) in fields.as_object().unwrap() {
            conf[k] = v.clone();
        }
        conf
    }

    /// host-local over `ranges` (each a list of range objects), its leases
    /// in this test's directory.
    pub fn host_local(&self, ranges: Value) -> Value {
        json!({"type": "host-local", "ranges": ranges, "dataDir": self.ipam_dir()})
    }

    /// The addresses host-local has handed out on `network`.
    pub fn leases(&self, network: &str) -> Vec<String> {
        let mut files: Vec<String> = std::fs::read_dir(self.ipam_dir().join(network))
            .map(|d| {
                d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains('.') || n.contains(':'))
                    .filter(|n| !n.starts_with("last_reserved_ip") && n != "lock")
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    }

    /// Checks what an attachment that is gone must not leave: the VF as
    /// `before`, no claim on it, no journal record, nothing in the pod.
    pub fn assert_nothing_left(
        &self,
        before: &VfState,
        network: &str,
        att: &Attachment,
        pod: Option<&Pod>,
    ) {
        assert_as_before(&self.host, before);
        assert_eq!(
            claim_owner(before.vf.addr),
            None,
            "{} is still claimed",
            before.vf
        );
        let record = self.record(network, att);
        let lock = record.with_extension("lock");
        for file in [record, lock] {
            assert!(!file.exists(), "{} is left", file.display());
        }
        if let Some(pod) = pod {
            pod.assert_empty();
        }
    }

    fn put_back(&self, state: &VfState) -> Result<(), String> {
        let host = &self.host;
        let addr = state.vf.addr;
        let vf = host.sysfs().vf(addr).map_err(|e| e.to_string())?;
        if state.netdev.is_some() && !matches!(vf.netdev, VfNetdev::Host(_)) {
            if matches!(vf.netdev, VfNetdev::Userspace | VfNetdev::Unbound) {
                rebind(addr, None)?;
            }
            if !netdev_comes_home(host, addr) {
                return Err(format!("{addr}: its netdev did not come back"));
            }
        }
        host.restore(state).map_err(|e| format!("{addr}: {e}"))?;
        if let Some(netdev) = state
            .netdev
            .as_ref()
            .filter(|_| !may_set_own_mac(host, addr))
        {
            // The PF writes zero, then the VF sets its own MAC again.
            let zero = VfSettings {
                mac: Some(MacAddr::default()),
                ..VfSettings::default()
            };
            host.configure(&state.vf, &zero)
                .map_err(|e| e.to_string())?;
            let nl = host.netlink();
            nl.set_mac(netdev.name, other_mac(netdev.mac))
                .map_err(|e| e.to_string())?;
            nl.set_mac(netdev.name, netdev.mac)
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

impl Default for Lab {
    fn default() -> Lab {
        Lab::new()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for (pf, count) in &self.num_vfs {
            let now = self.host.sysfs().pf(pf).map(|nic| nic.num_vfs);
            if now.as_ref().ok() != Some(count) {
                if let Err(e) = self.host.sysfs().set_num_vfs(pf, *count) {
                    eprintln!("lab guard: {pf} back at {count} VFs: {e}");
                }
            }
        }
        for state in self.guarded.iter().rev() {
            if let Err(e) = self.put_back(state) {
                eprintln!("lab guard: putting {} back: {e}", state.vf);
            }
            let claim = Path::new(Allocator::HOST_DIR)
                .join("vfs")
                .join(format!("{}.json", state.vf.addr));
            let _ = std::fs::remove_file(claim);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------
// Results

/// Parses a result as the spec version it names, and checks that it is in
/// that version's shape: `cniVersion` as asked, `ips[].version` before
/// 1.0.0 only, the 1.1.0 interface fields only from 1.1.0, and the
/// interface index of each address pointing at an interface.
pub fn check_result_shape(result: &Value, version: &str) -> CniResult {
    assert_eq!(result["cniVersion"], json!(version), "{result}");
    let parsed = CniResult::from_slice(&serde_json::to_vec(result).unwrap())
        .unwrap_or_else(|e| panic!("not a {version} result: {e}: {result}"));
    assert_eq!(parsed.cni_version.as_str(), version);
    let v: CniVersion = version.parse().unwrap();
    let interfaces = result["interfaces"].as_array().cloned().unwrap_or_default();
    for ip in result["ips"].as_array().cloned().unwrap_or_default() {
        assert_eq!(
            ip.get("version").is_some(),
            v.has_ip_version_field(),
            "ips[].version in {version}: {result}"
        );
        if let Some(i) = ip.get("interface") {
            let i = i.as_u64().unwrap() as usize;
            assert!(i < interfaces.len(), "ips[].interface {i}: {result}");
        }
    }
    for iface in &interfaces {
        for field in ["mtu", "pciID", "socketPath"] {
            if !v.has_v1_1_fields() {
                assert!(iface.get(field).is_none(), "{field} in {version}: {result}");
            }
        }
    }
    parsed
}

/// The interface named `ifname` in `result`, and its index.
pub fn interface<'a>(result: &'a Value, ifname: &str) -> (usize, &'a Value) {
    result["interfaces"]
        .as_array()
        .unwrap_or_else(|| panic!("no interfaces: {result}"))
        .iter()
        .enumerate()
        .find(|(_, i)| i["name"] == json!(ifname))
        .unwrap_or_else(|| panic!("no interface {ifname}: {result}"))
}
