//! `netplumb-bench lab`: runs inside the lab guest (`cargo xtask bench`
//! boots it) and times ADD+DEL cycles of the plugins, Go `host-device` and
//! the floor (`ip link set DEV netns NS name NAME` and back), each cycle two
//! process starts, as a runtime makes them.
//!
//! It prints only figures, one line each, for `cargo xtask bench` to read:
//!
//! ```text
//! bench round ROUND SUBJECT NANOSECONDS CYCLES   # one round of CYCLES cycles
//! bench rss SUBJECT KIB                          # the largest peak RSS of one process
//! bench cost PLUGIN COMMAND ROUND_TRIPS SYSFS_READS
//! ```

use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use netplumb_plugin::Cost;
use netplumb_types::IfName;
use netplumb_vf::{Sysfs, Vf, VfNetdev};
use serde_json::{json, Value};

/// iproute2's `ip` in the lab (busybox's applet would answer to `ip`).
const IP: &str = "/usr/sbin/ip";
/// The pod whose namespace the single-VF subjects move their VF into.
const POD: &str = "bench-pod";
/// The pod whose two VFs the bond plugin bonds.
const BOND_POD: &str = "bench-bond";
/// The name a VF gets in the pod.
const POD_IFNAME: &str = "net1";
/// Where the journals and the cost logs go.
const WORK: &str = "/tmp/netplumb-bench";

/// How much to run.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Rounds; each round runs every subject for `cycles` cycles.
    pub rounds: u32,
    /// ADD+DEL cycles per subject per round.
    pub cycles: u32,
}

/// One process run to its end.
struct Run {
    status: ExitStatus,
    /// Peak resident set size, KiB (`ru_maxrss`).
    max_rss_kib: u64,
    stdout: String,
    stderr: String,
}

/// Runs `cmd` with `stdin` and reaps it with `wait4` for its peak RSS.
fn run(cmd: &mut Command, stdin: &[u8]) -> Result<Run, String> {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    // Configurations are far smaller than a pipe's buffer, and so are the
    // results and logs read after the process ends.
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin).map_err(|e| format!("{what}: {e}"))?;
    drop(input);
    let pid = libc::pid_t::try_from(child.id()).map_err(|e| format!("{what}: {e}"))?;
    let mut status = 0;
    // SAFETY: all-zero bytes are a valid rusage (plain integers and timevals).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped (std never waited for it);
    // `status` and `usage` are valid for writes for the call's duration.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    if reaped != pid {
        return Err(format!(
            "{what}: wait4: {}",
            std::io::Error::last_os_error()
        ));
    }
    let mut stdout = String::new();
    let mut stderr = String::new();
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_string(&mut stdout);
    }
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    Ok(Run {
        status: ExitStatus::from_raw(status),
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        stdout,
        stderr,
    })
}

/// Runs `cmd` and fails unless it succeeds.
fn run_ok(cmd: &mut Command, stdin: &[u8]) -> Result<Run, String> {
    let what = format!("{cmd:?}");
    let ran = run(cmd, stdin)?;
    if ran.status.success() {
        Ok(ran)
    } else {
        Err(format!(
            "{what} failed ({}): {}{}",
            ran.status, ran.stdout, ran.stderr
        ))
    }
}

fn ip(args: &[&str]) -> Result<Run, String> {
    run_ok(Command::new(IP).args(args), b"")
}

/// A plugin invocation as a runtime makes it: `CNI_*` variables and the
/// configuration on stdin.
#[derive(Debug, Clone)]
struct Invocation {
    binary: PathBuf,
    conf: Value,
    netns: String,
    container_id: String,
    ifname: String,
    cni_path: String,
}

impl Invocation {
    fn command(&self, command: &str) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.env_clear()
            .env("CNI_COMMAND", command)
            .env("CNI_CONTAINERID", &self.container_id)
            .env("CNI_NETNS", &self.netns)
            .env("CNI_IFNAME", &self.ifname)
            .env(
                "CNI_ARGS",
                "IgnoreUnknown=1;K8S_POD_NAMESPACE=bench;K8S_POD_NAME=bench",
            )
            .env("CNI_PATH", &self.cni_path);
        cmd
    }

    fn run(&self, command: &str) -> Result<Run, String> {
        let stdin = serde_json::to_vec(&self.conf).expect("JSON");
        run_ok(&mut self.command(command), &stdin)
    }
}

/// One subject: what one ADD and what one DEL run.
enum Subject {
    /// iproute2 moving `dev` into the pod as `POD_IFNAME` and back.
    Floor { dev: String },
    /// A CNI plugin.
    Plugin(Invocation),
}

impl Subject {
    /// One ADD+DEL cycle; the larger peak RSS of its two processes.
    fn cycle(&self) -> Result<u64, String> {
        let (add, del) = match self {
            Subject::Floor { dev } => (
                ip(&["link", "set", dev, "netns", POD, "name", POD_IFNAME])?,
                ip(&[
                    "-n", POD, "link", "set", POD_IFNAME, "netns", "1", "name", dev,
                ])?,
            ),
            Subject::Plugin(inv) => (inv.run("ADD")?, inv.run("DEL")?),
        };
        Ok(add.max_rss_kib.max(del.max_rss_kib))
    }
}

fn lab_var(name: &str) -> Result<String, String> {
    std::env::var(name)
        .map_err(|_| format!("{name} is not set: run this through `cargo xtask bench`"))
}

/// VF `index` of `pf`, with its netdev in the host.
fn host_vf(sysfs: &Sysfs, pf: &str, index: u32) -> Result<(Vf, String), String> {
    let name: IfName = pf.parse().map_err(|e| format!("{pf}: {e}"))?;
    let vf = sysfs
        .vf_by_index(&name, index)
        .map_err(|e| format!("VF {index} of {pf}: {e}"))?;
    let dev = match &vf.netdev {
        VfNetdev::Host(netdev) => netdev.name.to_string(),
        other => {
            return Err(format!(
                "VF {index} of {pf} has no netdev in the host: {other:?}"
            ))
        }
    };
    Ok((vf, dev))
}

/// Everything the subjects need, made once; [`Setup::teardown`] puts it back.
struct Setup {
    subjects: Vec<(&'static str, Subject)>,
    /// The bond's ports: (host name, name in the pod).
    bond_ports: Vec<(String, String)>,
    sriov: Invocation,
    bond: Invocation,
}

impl Setup {
    fn new() -> Result<Setup, String> {
        let pfs = lab_var("NETPLUMB_LAB_PFS")?;
        let (pf0, pf1) = pfs
            .split_once(',')
            .ok_or_else(|| format!("NETPLUMB_LAB_PFS={pfs}: two PFs expected"))?;
        let plugins = PathBuf::from(lab_var("NETPLUMB_LAB_PLUGINS")?);
        let go = PathBuf::from(lab_var("NETPLUMB_LAB_CNI_PATH")?);
        let cni_path = format!("{}:{}", plugins.display(), go.display());
        let work = Path::new(WORK);
        std::fs::create_dir_all(work).map_err(|e| format!("{WORK}: {e}"))?;
        let sysfs = Sysfs::default();
        let (vf, dev) = host_vf(&sysfs, pf0, 0)?;
        let pci = vf.addr.to_string();
        ip(&["netns", "add", POD])?;
        ip(&["netns", "add", BOND_POD])?;
        let mut bond_ports = Vec::new();
        for (pf, port) in [(pf0, "net1"), (pf1, "net2")] {
            let (_, host_name) = host_vf(&sysfs, pf, 1)?;
            ip(&["link", "set", &host_name, "netns", BOND_POD, "name", port])?;
            bond_ports.push((host_name, port.to_owned()));
        }
        let invocation = |binary: PathBuf, conf: Value, pod: &str, ifname: &str| Invocation {
            binary,
            conf,
            netns: format!("/run/netns/{pod}"),
            container_id: format!("bench-{pod}"),
            ifname: ifname.to_owned(),
            cni_path: cni_path.clone(),
        };
        let data_dir = work.join("data");
        // A deviceID with every PF-side setting the issue asks for set to
        // something other than the driver's default, and no IPAM.
        let sriov = invocation(
            plugins.join("sriov"),
            json!({
                "cniVersion": "1.0.0", "name": "bench-sriov", "type": "sriov",
                "deviceID": pci, "vlan": 100, "mac": "02:00:5e:10:00:31",
                "spoofchk": "off", "trust": "on", "dataDir": data_dir,
            }),
            POD,
            POD_IFNAME,
        );
        // Seed 004's bond options, without its IPAM.
        let bond = invocation(
            plugins.join("bond"),
            json!({
                "cniVersion": "0.3.1", "name": "bench-bond", "type": "bond",
                "mode": "active-backup", "failOverMac": 1, "linksInContainer": true,
                "miimon": "100", "mtu": 1500,
                "links": [{"name": "net1"}, {"name": "net2"}], "dataDir": data_dir,
            }),
            BOND_POD,
            "bond0",
        );
        let host_device = invocation(
            go.join("host-device"),
            json!({
                "cniVersion": "1.0.0", "name": "bench-host-device", "type": "host-device",
                "pciBusID": pci,
            }),
            POD,
            POD_IFNAME,
        );
        Ok(Setup {
            subjects: vec![
                ("floor", Subject::Floor { dev }),
                ("sriov", Subject::Plugin(sriov.clone())),
                ("host-device", Subject::Plugin(host_device)),
                ("bond", Subject::Plugin(bond.clone())),
            ],
            bond_ports,
            sriov,
            bond,
        })
    }

    /// The bond's ports back home under their names, the pods gone.
    fn teardown(&self) -> Result<(), String> {
        for (host_name, port) in &self.bond_ports {
            ip(&[
                "-n", BOND_POD, "link", "set", port, "netns", "1", "name", host_name,
            ])?;
        }
        ip(&["netns", "del", BOND_POD])?;
        ip(&["netns", "del", POD])?;
        Ok(())
    }
}

/// What `inv` costs per ADD and per DEL, from the debug lines of its log.
fn costs(inv: &Invocation, name: &str) -> Result<(), String> {
    let log = Path::new(WORK).join(format!("{name}.log"));
    let _ = std::fs::remove_file(&log);
    let mut inv = inv.clone();
    inv.conf["logLevel"] = json!("debug");
    inv.conf["logFile"] = json!(log);
    inv.run("ADD")?;
    inv.run("DEL")?;
    let text = std::fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    for command in ["ADD", "DEL"] {
        let cost = Cost::from_log(&text, command)
            .ok_or_else(|| format!("{name} logged no {command} cost in {}", log.display()))?;
        println!(
            "bench cost {name} {command} {} {}",
            cost.netlink_round_trips, cost.sysfs_reads
        );
    }
    Ok(())
}

/// Runs the plan and prints its figures.
pub fn run_plan(plan: Plan) -> Result<(), String> {
    let setup = Setup::new()?;
    let outcome = measure(&setup, plan);
    let teardown = setup.teardown();
    outcome.and(teardown)
}

fn measure(setup: &Setup, plan: Plan) -> Result<(), String> {
    costs(&setup.sriov, "sriov")?;
    costs(&setup.bond, "bond")?;
    let mut rss = vec![0u64; setup.subjects.len()];
    // One cycle of each first: nothing is timed before every binary and
    // library has been read once.
    for (name, subject) in &setup.subjects {
        subject.cycle().map_err(|e| format!("{name}: {e}"))?;
    }
    let n = setup.subjects.len();
    for round in 0..plan.rounds {
        // Each round starts with another subject, so none is always the
        // one that runs after a given other.
        for k in 0..n {
            let at = (k + round as usize) % n;
            let (name, subject) = &setup.subjects[at];
            let start = Instant::now();
            for _ in 0..plan.cycles {
                let peak = subject.cycle().map_err(|e| format!("{name}: {e}"))?;
                rss[at] = rss[at].max(peak);
            }
            let took: Duration = start.elapsed();
            println!(
                "bench round {round} {name} {} {}",
                took.as_nanos(),
                plan.cycles
            );
        }
    }
    for ((name, _), kib) in setup.subjects.iter().zip(rss) {
        println!("bench rss {name} {kib}");
    }
    Ok(())
}
