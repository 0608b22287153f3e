//! `netplumb-bench lab`: runs inside the lab guest (`cargo xtask bench`
//! boots it) and times ADD+DEL cycles of the plugins, Go `host-device` and
//! the floors, iproute2 doing only the kernel's part (`ip link set DEV
//! netns NS name NAME` and back, the same with the link brought up, the
//! same bond by `ip -batch`): each cycle two process starts, as a runtime
//! makes them.
//!
//! It prints only figures, one line each, for `cargo xtask bench` to read:
//!
//! ```text
//! bench round ROUND SUBJECT NANOSECONDS CYCLES   # one round of CYCLES cycles
//! bench add ROUND SUBJECT NANOSECONDS CYCLES     # the ADDs' part of that round
//! bench startup SUBJECT NANOSECONDS              # median run that does nothing (VERSION, ip -V)
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
/// Runs of each binary doing nothing, for its start-up cost.
const IDLE_RUNS: usize = 5;
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
    /// iproute2 moving `dev` into the pod as `POD_IFNAME` and back; with
    /// `up`, bringing it up in the same request, as a plugin must.
    Floor { dev: String, up: bool },
    /// iproute2 running `add`, then `del`, each one `ip -n NS -batch -`.
    Batch {
        ns: &'static str,
        add: &'static str,
        del: &'static str,
    },
    /// A CNI plugin.
    Plugin(Invocation),
}

/// Seed 004's bond as iproute2 builds it, the ports set down first as the
/// plugin does; and taken apart with the ports down again, as they were.
const BOND_BY_HAND: &str =
    "link add bond0 type bond mode active-backup miimon 100 fail_over_mac active
link set net1 down
link set net1 master bond0
link set net2 down
link set net2 master bond0
link set bond0 mtu 1500 up
";
const UNBOND_BY_HAND: &str = "link del bond0
link set net1 down
link set net2 down
";

fn batch(ns: &str, commands: &str) -> Result<Run, String> {
    run_ok(
        Command::new(IP).args(["-n", ns, "-batch", "-"]),
        commands.as_bytes(),
    )
}

/// One ADD+DEL cycle as measured.
struct Cycle {
    /// How long its ADD took.
    add: Duration,
    /// The larger peak RSS of its two processes, KiB.
    max_rss_kib: u64,
}

impl Subject {
    fn add(&self) -> Result<Run, String> {
        match self {
            Subject::Floor { dev, up } => {
                let mut args = vec!["link", "set", dev, "netns", POD, "name", POD_IFNAME];
                if *up {
                    args.push("up");
                }
                ip(&args)
            }
            Subject::Batch { ns, add, .. } => batch(ns, add),
            Subject::Plugin(inv) => inv.run("ADD"),
        }
    }

    fn del(&self) -> Result<Run, String> {
        match self {
            // Moving a link out of a namespace takes it down first.
            Subject::Floor { dev, .. } => ip(&[
                "-n", POD, "link", "set", POD_IFNAME, "netns", "1", "name", dev,
            ]),
            Subject::Batch { ns, del, .. } => batch(ns, del),
            Subject::Plugin(inv) => inv.run("DEL"),
        }
    }

    fn cycle(&self) -> Result<Cycle, String> {
        let start = Instant::now();
        let add = self.add()?;
        let add_took = start.elapsed();
        let del = self.del()?;
        Ok(Cycle {
            add: add_took,
            max_rss_kib: add.max_rss_kib.max(del.max_rss_kib),
        })
    }

    /// A run of the same binary that does nothing: what starting it costs.
    fn idle(&self) -> Result<Run, String> {
        match self {
            Subject::Floor { .. } | Subject::Batch { .. } => ip(&["-V"]),
            Subject::Plugin(inv) => inv.run("VERSION"),
        }
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
    /// Where the workspace's plugins are: theirs are the costs counted.
    plugins: PathBuf,
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
        // The same VF moved with nothing set: the plugin's part of the
        // cycle without the PF-side settings' kernel work.
        let sriov_move = invocation(
            plugins.join("sriov"),
            json!({
                "cniVersion": "1.0.0", "name": "bench-sriov-move", "type": "sriov",
                "deviceID": pci, "dataDir": data_dir,
            }),
            POD,
            POD_IFNAME,
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
                (
                    "floor",
                    Subject::Floor {
                        dev: dev.clone(),
                        up: false,
                    },
                ),
                ("floor-up", Subject::Floor { dev, up: true }),
                ("sriov", Subject::Plugin(sriov)),
                ("sriov-move", Subject::Plugin(sriov_move)),
                ("host-device", Subject::Plugin(host_device)),
                ("bond", Subject::Plugin(bond)),
                (
                    "bond-floor",
                    Subject::Batch {
                        ns: BOND_POD,
                        add: BOND_BY_HAND,
                        del: UNBOND_BY_HAND,
                    },
                ),
            ],
            bond_ports,
            plugins,
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
    for (name, subject) in &setup.subjects {
        if let Subject::Plugin(inv) = subject {
            if inv.binary.starts_with(&setup.plugins) {
                costs(inv, name)?;
            }
        }
    }
    let mut rss = vec![0u64; setup.subjects.len()];
    // One cycle of each first: nothing is timed before every binary and
    // library has been read once.
    for (name, subject) in &setup.subjects {
        subject.cycle().map_err(|e| format!("{name}: {e}"))?;
    }
    for (name, subject) in &setup.subjects {
        let mut runs = Vec::new();
        for _ in 0..IDLE_RUNS {
            let start = Instant::now();
            subject.idle().map_err(|e| format!("{name}: {e}"))?;
            runs.push(start.elapsed());
        }
        runs.sort();
        println!("bench startup {name} {}", runs[runs.len() / 2].as_nanos());
    }
    let n = setup.subjects.len();
    for round in 0..plan.rounds {
        // Each round starts with another subject, so none is always the
        // one that runs after a given other.
        for k in 0..n {
            let at = (k + round as usize) % n;
            let (name, subject) = &setup.subjects[at];
            let start = Instant::now();
            let mut adds = Duration::ZERO;
            for _ in 0..plan.cycles {
                let cycle = subject.cycle().map_err(|e| format!("{name}: {e}"))?;
                rss[at] = rss[at].max(cycle.max_rss_kib);
                adds += cycle.add;
            }
            let took: Duration = start.elapsed();
            println!(
                "bench round {round} {name} {} {}",
                took.as_nanos(),
                plan.cycles
            );
            println!(
                "bench add {round} {name} {} {}",
                adds.as_nanos(),
                plan.cycles
            );
        }
    }
    for ((name, _), kib) in setup.subjects.iter().zip(rss) {
        println!("bench rss {name} {kib}");
    }
    Ok(())
}
