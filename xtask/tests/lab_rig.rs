//! Lab tests of the rig itself: the VFs exist as docs/testing.md promises, a
//! VF in a namespace reaches a VF of the other PF, a bond over one VF of each
//! PF fails over and back, igb's administrative MAC behaves as the lab's
//! state check assumes, a VF binds to vfio-pci and back, and the plugin
//! directories hold what docs/testing.md promises. They drive
//! iproute2, ping and sysfs, not our libraries, so a failure here is the
//! lab's, not the code's.
//!
//! Run them with `cargo xtask lab lab_`; `cargo test` skips them.

use netplumb_netns::testing::kernel_at_least;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// iproute2 by full path: busybox's shell would run its own `ip` applet.
const IP: &str = "/usr/sbin/ip";
const VFS_PER_PF: u32 = 7;

/// The PF and VM-NIC names the lab runner exported.
struct Lab {
    pfs: Vec<String>,
    vmnic: String,
}

fn lab() -> Lab {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: this is a lab test; run it through `cargo xtask lab`")
        })
    };
    assert_eq!(
        var("NETPLUMB_LAB"),
        "1",
        "NETPLUMB_LAB must be 1; run this through `cargo xtask lab`"
    );
    let pfs: Vec<String> = var("NETPLUMB_LAB_PFS")
        .split(',')
        .map(String::from)
        .collect();
    assert_eq!(
        pfs.len(),
        2,
        "NETPLUMB_LAB_PFS should name two PFs: {pfs:?}"
    );
    Lab {
        pfs,
        vmnic: var("NETPLUMB_LAB_VMNIC"),
    }
}

/// Runs `ip` and returns its stdout, or the command and its stderr.
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

fn device_dir(netdev: &str) -> PathBuf {
    Path::new("/sys/class/net").join(netdev).join("device")
}

fn driver_of(device: &Path) -> String {
    let link = fs::read_link(device.join("driver"))
        .unwrap_or_else(|e| panic!("{}/driver: {e}", device.display()));
    link.file_name().unwrap().to_string_lossy().into_owned()
}

/// The host netdev name of VF `index` of `pf`, read from sysfs.
fn vf_netdev(pf: &str, index: u32) -> String {
    let net = device_dir(pf).join(format!("virtfn{index}")).join("net");
    let names: Vec<String> = fs::read_dir(&net)
        .unwrap_or_else(|e| panic!("{}: {e}", net.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names.len(),
        1,
        "{} should hold one netdev: {names:?}",
        net.display()
    );
    names.into_iter().next().unwrap()
}

/// What the tests change on a VF and must put back.
#[derive(Debug, Clone, PartialEq, Eq)]
struct VfState {
    name: String,
    mac: String,
    up: bool,
}

fn vf_state(name: &str) -> VfState {
    let read = |attr: &str| {
        let path = Path::new("/sys/class/net").join(name).join(attr);
        fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .trim()
            .to_string()
    };
    let flags = u32::from_str_radix(read("flags").trim_start_matches("0x"), 16).unwrap();
    VfState {
        name: name.to_string(),
        mac: read("address"),
        up: flags & 1 != 0,
    }
}

/// Undo steps (ip commands) run in reverse order when dropped, whether the
/// test passed or panicked, so the next test finds the lab as this one did.
#[derive(Default)]
struct Cleanup {
    steps: Vec<Vec<String>>,
}

impl Cleanup {
    fn push(&mut self, args: &[&str]) {
        self.steps
            .push(args.iter().map(|a| a.to_string()).collect());
    }

    /// Creates a namespace with a unique name, deleted last.
    fn netns(&mut self, role: &str) -> String {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "rig-{role}-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        self.push(&["netns", "del", &name]);
        name
    }

    /// Moves VF `index` of `pf` into `ns` as `ifname` with `mac`, up, and
    /// records how to put its name, MAC and state back. Returns its state before.
    fn give_vf(&mut self, pf: &str, index: u32, ns: &str, ifname: &str, mac: &str) -> VfState {
        let before = vf_state(&vf_netdev(pf, index));
        ip(&["link", "set", &before.name, "netns", ns, "name", ifname]);
        // Registered in reverse: down, old MAC, then home under the old name.
        if before.up {
            self.push(&["link", "set", &before.name, "up"]);
        }
        self.push(&[
            "-n",
            ns,
            "link",
            "set",
            ifname,
            "netns",
            "1",
            "name",
            &before.name,
        ]);
        self.push(&["-n", ns, "link", "set", ifname, "address", &before.mac]);
        self.push(&["-n", ns, "link", "set", ifname, "down"]);
        // igb VFs pass no traffic until they have a MAC of their own.
        ip(&["-n", ns, "link", "set", ifname, "address", mac]);
        ip(&["-n", ns, "link", "set", ifname, "up"]);
        before
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for step in self.steps.drain(..).rev() {
            let args: Vec<&str> = step.iter().map(String::as_str).collect();
            if let Err(e) = try_ip(&args) {
                eprintln!("cleanup: {e}");
            }
        }
    }
}

/// Polls `check` until it holds or `what` times out (a generous bound: the
/// guest is emulated and the machine may be busy).
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        sleep(Duration::from_millis(100));
    }
}

/// VF carrier follows `up` by a second or two under emulation.
fn wait_carrier(ns: &str, dev: &str) {
    wait_for(&format!("carrier on {dev} in {ns}"), || {
        ip(&["-n", ns, "link", "show", "dev", dev]).contains("LOWER_UP")
    });
}

fn pings(ns: &str, addr: &str) -> bool {
    Command::new(IP)
        .args(["netns", "exec", ns, "ping", "-c", "1", "-W", "1", addr])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// One ping gets through within the bound (the first may wait for ARP).
fn assert_reaches(ns: &str, addr: &str) {
    wait_for(
        &format!("a ping from {ns} to {addr} to get through"),
        || pings(ns, addr),
    );
}

fn active_port(ns: &str, bond: &str) -> String {
    let out = Command::new(IP)
        .args(["netns", "exec", ns, "cat"])
        .arg(format!("/sys/class/net/{bond}/bonding/active_slave"))
        .output()
        .expect("run ip netns exec cat");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn wait_active(ns: &str, bond: &str, port: &str) {
    wait_for(
        &format!("{port} to become the active port of {bond}"),
        || active_port(ns, bond) == port,
    );
}

fn namespaces() -> String {
    ip(&["netns", "list"])
}

/// The MAC the PF's VF table shows for VF `index` of `pf`.
fn table_mac(pf: &str, index: u32) -> String {
    let out = ip(&["link", "show", "dev", pf]);
    let prefix = format!("vf {index} ");
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| {
            l.split_whitespace()
                .skip_while(|w| *w != "link/ether")
                .nth(1)
        })
        .unwrap_or_else(|| panic!("no MAC for vf {index} in `ip link show dev {pf}`:\n{out}"))
        .trim_end_matches(',')
        .to_string()
}

/// The VF netdev sets its own MAC (through the VF driver, not the PF).
fn set_own_mac(dev: &str, mac: &str) -> Result<(), String> {
    try_ip(&["link", "set", "dev", dev, "address", mac]).map(drop)
}

/// Runs a closure when dropped, whether the test passed or panicked.
struct Finally<F: FnMut()>(F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

/// Frees VF `index` of `pf` the way a VF whose MAC the PF never wrote is:
/// the PF writes zero (clearing the flag and the entry), then the VF sets a
/// MAC and its own again (the kernel skips the driver when the MAC is the
/// one the netdev has, so a round trip is needed).
fn free_vf_mac(pf: &str, index: u32, dev: &str, own: &str, temp: &str) {
    let steps: [&[&str]; 3] = [
        &[
            "link",
            "set",
            "dev",
            pf,
            "vf",
            &index.to_string(),
            "mac",
            "00:00:00:00:00:00",
        ],
        &["link", "set", "dev", dev, "address", temp],
        &["link", "set", "dev", dev, "address", own],
    ];
    for step in steps {
        if let Err(e) = try_ip(step) {
            eprintln!("freeing VF {index} of {pf}: {e}");
        }
    }
}

/// Writes `value` to a sysfs attribute; the kernel's refusal is the message.
fn write_sysfs(path: &Path, value: &str) -> Result<(), String> {
    fs::write(path, value).map_err(|e| format!("echo {value:?} > {}: {e}", path.display()))
}

/// Hands PCI function `dev` (its sysfs directory) to `driver`, or with
/// `None` to whichever driver matches it, the way DPDK's tools do:
/// `driver_override`, unbind, `drivers_probe`.
fn rebind(dev: &Path, driver: Option<&str>) -> Result<(), String> {
    let addr = dev.file_name().unwrap().to_string_lossy().into_owned();
    // A lone newline clears the override.
    write_sysfs(&dev.join("driver_override"), driver.unwrap_or("\n"))?;
    if dev.join("driver").exists() {
        write_sysfs(&dev.join("driver/unbind"), &addr)?;
    }
    write_sysfs(Path::new("/sys/bus/pci/drivers_probe"), &addr)
}

#[test]
#[ignore = "lab"]
fn lab_vfs_are_visible_with_physfn_and_virtfn_links() {
    let lab = lab();
    let mut pci = Vec::new();
    for pf in &lab.pfs {
        let dev = device_dir(pf);
        assert_eq!(driver_of(&dev), "igb", "{pf} is not an igb PF");
        let numvfs = fs::read_to_string(dev.join("sriov_numvfs")).unwrap();
        assert_eq!(
            numvfs.trim(),
            VFS_PER_PF.to_string(),
            "sriov_numvfs of {pf}"
        );
        let pf_real = fs::canonicalize(&dev).unwrap();
        pci.push(pf_real.file_name().unwrap().to_owned());
        for i in 0..VFS_PER_PF {
            let vf = dev.join(format!("virtfn{i}"));
            assert!(vf.is_symlink(), "{} is not a link", vf.display());
            let physfn = fs::canonicalize(vf.join("physfn")).unwrap();
            assert_eq!(
                physfn,
                pf_real,
                "physfn of {} points elsewhere",
                vf.display()
            );
            assert_eq!(driver_of(&vf), "igbvf", "driver of {}", vf.display());
            vf_netdev(pf, i);
        }
        assert!(
            !dev.join(format!("virtfn{VFS_PER_PF}")).exists(),
            "{pf} has more VFs than sriov_numvfs says"
        );
    }
    assert!(
        pci[0] < pci[1],
        "NETPLUMB_LAB_PFS is not in PCI order: {pci:?}"
    );

    let vmnic = device_dir(&lab.vmnic);
    assert_eq!(driver_of(&vmnic), "e1000e");
    assert!(
        !vmnic.join("physfn").exists(),
        "the VM NIC must look like no VF's child"
    );
    assert!(
        !vmnic.join("sriov_totalvfs").exists(),
        "the VM NIC must not offer SR-IOV"
    );
}

#[test]
#[ignore = "lab"]
fn lab_vf_in_a_namespace_reaches_a_vf_of_the_other_pf() {
    let lab = lab();
    let (a_name, b_name) = (vf_netdev(&lab.pfs[0], 3), vf_netdev(&lab.pfs[1], 3));
    let before = (vf_state(&a_name), vf_state(&b_name), namespaces());
    {
        let mut cleanup = Cleanup::default();
        let a = cleanup.netns("a");
        let b = cleanup.netns("b");
        cleanup.give_vf(&lab.pfs[0], 3, &a, "net1", "02:00:00:1a:b0:01");
        cleanup.give_vf(&lab.pfs[1], 3, &b, "net1", "02:00:00:1a:b0:02");
        ip(&["-n", &a, "addr", "add", "192.0.2.1/24", "dev", "net1"]);
        ip(&["-n", &b, "addr", "add", "192.0.2.2/24", "dev", "net1"]);
        wait_carrier(&a, "net1");
        wait_carrier(&b, "net1");
        assert_reaches(&a, "192.0.2.2");
        assert_reaches(&b, "192.0.2.1");
    }
    let after = (vf_state(&a_name), vf_state(&b_name), namespaces());
    assert_eq!(after, before, "the VFs and namespaces were not restored");
}

#[test]
#[ignore = "lab"]
fn lab_bond_over_vfs_of_both_pfs_fails_over_and_back() {
    let lab = lab();
    let names = [
        vf_netdev(&lab.pfs[0], 4),
        vf_netdev(&lab.pfs[1], 4),
        vf_netdev(&lab.pfs[0], 5),
    ];
    let states = || names.iter().map(|n| vf_state(n)).collect::<Vec<_>>();
    let before = (states(), namespaces());
    {
        let mut cleanup = Cleanup::default();
        let pod = cleanup.netns("pod");
        let peer = cleanup.netns("peer");
        cleanup.give_vf(&lab.pfs[0], 4, &pod, "p0", "02:00:00:b0:0d:01");
        cleanup.give_vf(&lab.pfs[1], 4, &pod, "p1", "02:00:00:b0:0d:02");
        // The peer shares a PF with p0 and not with p1: both paths get used.
        cleanup.give_vf(&lab.pfs[0], 5, &peer, "net1", "02:00:00:b0:0d:03");
        ip(&["-n", &peer, "addr", "add", "198.51.100.2/24", "dev", "net1"]);

        ip(&[
            "-n",
            &pod,
            "link",
            "add",
            "bond0",
            "type",
            "bond",
            "mode",
            "active-backup",
            "miimon",
            "100",
            "fail_over_mac",
            "active",
            // Without a primary the first port to get carrier becomes
            // active, and carrier follows `up` by a second or two here.
            "primary",
            "p0",
        ]);
        cleanup.push(&["-n", &pod, "link", "del", "bond0"]);
        for port in ["p0", "p1"] {
            ip(&["-n", &pod, "link", "set", port, "down"]);
            ip(&["-n", &pod, "link", "set", port, "master", "bond0"]);
        }
        ip(&["-n", &pod, "link", "set", "bond0", "up"]);
        ip(&["-n", &pod, "addr", "add", "198.51.100.1/24", "dev", "bond0"]);
        for (ns, dev) in [(&pod, "p0"), (&pod, "p1"), (&peer, "net1")] {
            wait_carrier(ns, dev);
        }
        wait_active(&pod, "bond0", "p0");
        assert_reaches(&pod, "198.51.100.2");

        // Fail over: the active port goes down.
        ip(&["-n", &pod, "link", "set", "p0", "down"]);
        wait_active(&pod, "bond0", "p1");
        assert_reaches(&pod, "198.51.100.2");

        // And back.
        ip(&["-n", &pod, "link", "set", "p0", "up"]);
        wait_carrier(&pod, "p0");
        ip(&["-n", &pod, "link", "set", "p1", "down"]);
        wait_active(&pod, "bond0", "p0");
        assert_reaches(&pod, "198.51.100.2");
    }
    assert_eq!(
        (states(), namespaces()),
        before,
        "the VFs and namespaces were not restored"
    );
}

#[test]
#[ignore = "lab"]
fn lab_the_pf_table_shows_each_vfs_own_mac() {
    let lab = lab();
    for pf in &lab.pfs {
        for i in 0..VFS_PER_PF {
            let own = vf_state(&vf_netdev(pf, i)).mac;
            assert_ne!(own, "00:00:00:00:00:00", "VF {i} of {pf} has no MAC");
            // igb leaves some VFs' entries zero until the VF sets a MAC
            // (every new VF on 5.10, some on 6.1) and fills the others with
            // the VF's own.
            let entry = table_mac(pf, i);
            assert!(
                entry == own || entry == "00:00:00:00:00:00",
                "the table entry of VF {i} of {pf} is {entry}: neither the VF's own MAC ({own}) nor zero"
            );
        }
    }
}

#[test]
#[ignore = "lab"]
fn lab_a_mac_written_by_the_pf_locks_the_vf_until_the_pf_writes_zero() {
    let lab = lab();
    let pf = &lab.pfs[0];
    let dev = vf_netdev(pf, 2);
    let before = vf_state(&dev);
    let own = before.mac.clone();
    let temp = "02:00:00:10:c0:02";
    set_own_mac(&dev, temp).expect("a VF whose MAC the PF never wrote sets its own");
    set_own_mac(&dev, &own).unwrap();
    assert_eq!(table_mac(pf, 2), own);
    {
        let _free = Finally(|| free_vf_mac(pf, 2, &dev, &own, temp));
        // The very MAC the table shows: the write alone sets the flag.
        ip(&["link", "set", "dev", pf, "vf", "2", "mac", &own]);
        let refused = set_own_mac(&dev, temp).expect_err("the VF changed a MAC the PF wrote");
        assert!(
            refused.contains("Cannot assign requested address"),
            "{refused}"
        );
        assert_eq!(vf_state(&dev).mac, own);

        ip(&[
            "link",
            "set",
            "dev",
            pf,
            "vf",
            "2",
            "mac",
            "00:00:00:00:00:00",
        ]);
        assert_eq!(table_mac(pf, 2), "00:00:00:00:00:00");
        // The MAC the netdev already has: 6.12 never passes it to the
        // driver (still zero); 5.10 does (the VF's own again).
        set_own_mac(&dev, &own).unwrap();
        let entry = table_mac(pf, 2);
        if kernel_at_least(6, 12) {
            assert_eq!(entry, "00:00:00:00:00:00");
        } else {
            assert!(entry == "00:00:00:00:00:00" || entry == own, "{entry}");
        }
        set_own_mac(&dev, temp).expect("zero frees the VF");
        set_own_mac(&dev, &own).unwrap();
        assert_eq!(table_mac(pf, 2), own);
    }
    set_own_mac(&dev, temp).expect("the VF is free again");
    set_own_mac(&dev, &own).unwrap();
    assert_eq!(table_mac(pf, 2), own);
    assert_eq!(vf_state(&dev), before);
}

#[test]
#[ignore = "lab"]
fn lab_a_vf_binds_to_vfio_pci_and_back_to_igbvf() {
    let lab = lab();
    let pf = &lab.pfs[1];
    let last = VFS_PER_PF - 1;
    let before = vf_state(&vf_netdev(pf, last));
    let vf = fs::canonicalize(device_dir(pf).join(format!("virtfn{last}"))).unwrap();
    {
        let _back = Finally(|| {
            if let Err(e) = rebind(&vf, None) {
                eprintln!("giving VF {last} of {pf} back to igbvf: {e}");
            }
        });
        rebind(&vf, Some("vfio-pci")).unwrap();
        assert_eq!(driver_of(&vf), "vfio-pci");
        assert!(
            !vf.join("net").exists(),
            "a VF bound to vfio-pci has no netdev"
        );
        // What a userspace driver opens.
        let group = fs::read_link(vf.join("iommu_group")).expect("the VF has an IOMMU group");
        let node = Path::new("/dev/vfio").join(group.file_name().unwrap());
        assert!(node.exists(), "{} is missing", node.display());
    }
    wait_for(&format!("igbvf to register VF {last} of {pf}"), || {
        fs::read_dir(vf.join("net")).is_ok_and(|d| d.count() == 1)
    });
    assert_eq!(driver_of(&vf), "igbvf");
    let name = vf_netdev(pf, last);
    if name != before.name {
        ip(&["link", "set", "dev", &name, "name", &before.name]);
    }
    // If the function reset on the way cleared its table entry, igbvf picked
    // a random MAC: the VF sets its own again (a PF write would lock it).
    if vf_state(&before.name).mac != before.mac {
        set_own_mac(&before.name, &before.mac).unwrap();
    }
    if before.up {
        ip(&["link", "set", "dev", &before.name, "up"]);
    }
    assert_eq!(vf_state(&before.name), before);
    assert_eq!(table_mac(pf, last), before.mac);
}

/// `[[bin]]` names in a Cargo.toml: enough TOML for the examples manifest.
fn bin_names(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
        } else if let Some(value) = line.strip_prefix("name").map(str::trim_start) {
            if in_bin {
                if let Some(value) = value.strip_prefix('=') {
                    names.push(value.trim().trim_matches('"').to_string());
                }
            }
        }
    }
    names
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[test]
#[ignore = "lab"]
fn lab_plugin_directories_hold_the_examples_and_debians_plugins() {
    lab();
    let plugins = PathBuf::from(std::env::var("NETPLUMB_LAB_PLUGINS").unwrap());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/Cargo.toml");
    let bins = bin_names(&fs::read_to_string(&manifest).unwrap());
    assert!(!bins.is_empty(), "no [[bin]] in {}", manifest.display());
    for bin in &bins {
        assert!(
            is_executable(&plugins.join(bin)),
            "{bin} is not in {}",
            plugins.display()
        );
    }

    let cni = PathBuf::from(std::env::var("NETPLUMB_LAB_CNI_PATH").unwrap());
    for plugin in ["host-local", "static", "host-device", "tuning"] {
        let path = cni.join(plugin);
        // VERSION needs no network config: it shows the plugin runs here.
        let out = Command::new(&path)
            .env("CNI_COMMAND", "VERSION")
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("supportedVersions"),
            "{plugin} VERSION: {}: {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
