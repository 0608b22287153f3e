//! A real container runtime runs the `sriov` plugin: Debian's podman 4.3
//! with its CNI backend, the same libcni a Kubernetes runtime uses, started
//! from the host's userland (which the lab mounts read-only) in a root of
//! its own.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use common::{assert_as_before, lab_pfs, lab_var, unique, wait_for, Lab};
use netplumb_vf::{PciAddr, VfNetdev};
use serde_json::{json, Value};

/// Inside the runtime's root: its configuration, the networks, the
/// plugins' data and the containers' root filesystems.
const LAB_DIR: &str = "/run/podman-lab";

/// A root for podman: the host's `/usr` and `/etc` (read-only), with
/// `/proc`, `/sys` (and cgroup2), `/dev`, and writable `/run`, `/var`,
/// `/tmp` and `/opt`, all undone when dropped.
struct Runtime {
    root: PathBuf,
    mounts: Vec<PathBuf>,
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Runtime {
    fn new() -> Runtime {
        let host = PathBuf::from(lab_var("NETPLUMB_LAB_HOST_ROOT"));
        let root = PathBuf::from("/run").join(unique("podman-root"));
        let mut rt = Runtime {
            root: root.clone(),
            mounts: Vec::new(),
        };
        std::fs::create_dir_all(&root).unwrap();
        rt.mount(&["-t", "tmpfs", "tmpfs"], "");
        for dir in ["usr", "etc"] {
            rt.mount(&["-o", "bind", &host.join(dir).to_string_lossy()], dir);
        }
        for (link, to) in [
            ("bin", "usr/bin"),
            ("sbin", "usr/sbin"),
            ("lib", "usr/lib"),
            ("lib64", "usr/lib64"),
        ] {
            std::os::unix::fs::symlink(to, root.join(link)).unwrap();
        }
        rt.mount(&["-t", "proc", "proc"], "proc");
        rt.mount(&["-t", "sysfs", "sysfs"], "sys");
        rt.mount(&["-t", "cgroup2", "cgroup2"], "sys/fs/cgroup");
        rt.mount(&["-o", "bind", "/dev"], "dev");
        rt.mount(&["-t", "devpts", "devpts"], "dev/pts");
        rt.mount(&["-t", "tmpfs", "tmpfs"], "dev/shm");
        for dir in [
            "run/netns",
            "var/lib/containers",
            "var/lib/cni",
            "var/tmp",
            "tmp",
            "opt/cni/bin",
            &LAB_DIR[1..],
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        // The workspace's sriov, where podman looks first.
        let sriov = Path::new(&lab_var("NETPLUMB_LAB_PLUGINS")).join("sriov");
        std::fs::copy(sriov, root.join("opt/cni/bin/sriov")).unwrap();
        rt.write(
            "containers.conf",
            &format!(
                "[network]\nnetwork_backend = \"cni\"\n\
                 cni_plugin_dirs = [\"/opt/cni/bin\", \"/usr/lib/cni\"]\n\
                 network_config_dir = \"{LAB_DIR}/net.d\"\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 runtime = \"crun\"\n"
            ),
        );
        rt.write(
            "storage.conf",
            "[storage]\ndriver = \"vfs\"\n\
             graphroot = \"/var/lib/containers/storage\"\n\
             runroot = \"/run/containers/storage\"\n",
        );
        rt
    }

    /// `mount ARGS ROOT/INSIDE`, the mount point made first.
    fn mount(&mut self, args: &[&str], inside: &str) {
        let target = self.root.join(inside);
        std::fs::create_dir_all(&target).unwrap();
        run(Command::new("mount").args(args).arg(&target));
        self.mounts.push(target);
    }

    /// Writes `name` under [`LAB_DIR`] in the root.
    fn write(&self, name: &str, contents: &str) {
        let path = self.path(&format!("{LAB_DIR}/{name}"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }

    /// Where `inside` (an absolute path in the root) is from here.
    fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// A network podman finds by its name.
    fn network(&self, name: &str, sriov: Value) {
        let conflist = json!({
            "cniVersion": "1.0.0",
            "name": name,
            "plugins": [sriov],
        });
        self.write(
            &format!("net.d/{name}.conflist"),
            &serde_json::to_string_pretty(&conflist).unwrap(),
        );
    }

    /// A root filesystem for one container: a static busybox.
    fn rootfs(&self, name: &str) -> String {
        let inside = format!("{LAB_DIR}/rootfs/{name}");
        let dir = self.path(&inside);
        for sub in ["bin", "etc", "proc", "sys", "dev", "run", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::copy("/bin/busybox", dir.join("bin/busybox")).unwrap();
        std::os::unix::fs::symlink("busybox", dir.join("bin/sh")).unwrap();
        inside
    }

    /// `podman ARGS` in the root, as a person runs it.
    fn podman(&self, args: &[&str]) -> Output {
        Command::new("chroot")
            .arg(&self.root)
            .arg("/usr/bin/podman")
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", "/root")
            .env("CONTAINERS_CONF", format!("{LAB_DIR}/containers.conf"))
            .env("CONTAINERS_STORAGE_CONF", format!("{LAB_DIR}/storage.conf"))
            .output()
            .unwrap()
    }

    /// `podman ARGS`, which must succeed; its stdout.
    fn podman_ok(&self, args: &[&str]) -> String {
        let out = self.podman(args);
        assert!(
            out.status.success(),
            "podman {}: {}\n{}\nsriov's log:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.path(&format!("{LAB_DIR}/sriov.log"))).unwrap_or_default()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts `name` on `network`, sleeping, able to ping.
    fn start(&self, name: &str, network: &str) -> Output {
        let rootfs = self.rootfs(name);
        self.podman(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            network,
            "--cap-add",
            "NET_RAW",
            "--rootfs",
            &rootfs,
            "/bin/busybox",
            "sleep",
            "600",
        ])
    }

    /// The address podman's CNI result gave `container` on `network`.
    fn address(&self, container: &str, network: &str) -> String {
        let out = self.podman_ok(&[
            "inspect",
            "--format",
            "{{json .NetworkSettings.Networks}}",
            container,
        ]);
        let networks: Value = serde_json::from_str(&out).unwrap();
        networks[network]["IPAddress"]
            .as_str()
            .unwrap_or_else(|| panic!("no address for {container} on {network}: {networks}"))
            .to_owned()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        // Containers first, so their network namespaces and VFs go back.
        let _ = self.podman(&["rm", "-a", "-f", "-t", "0"]);
        for target in self.mounts.iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(target).status();
        }
        let _ = std::fs::remove_dir(&self.root);
    }
}

/// The VFs of `pf` whose netdev is in another namespace now.
fn moved_vfs(lab: &Lab, pf: usize) -> Vec<PciAddr> {
    let nic = lab.host.sysfs().pf(&lab_pfs()[pf]).unwrap();
    nic.vfs
        .iter()
        .filter(|vf| vf.netdev == VfNetdev::Moved)
        .map(|vf| vf.addr)
        .collect()
}

#[test]
#[ignore = "lab"]
fn lab_podman_runs_two_containers_on_vfs_and_gives_every_vf_back_on_rm() {
    let mut lab = Lab::new();
    let pf = lab_pfs()[0];
    let nic = lab.host.sysfs().pf(&pf).unwrap();
    let before: Vec<_> = nic.vfs.iter().map(|vf| lab.guard(vf)).collect();
    let rt = Runtime::new();
    let sriov = |fields: Value| {
        let mut conf = json!({
            "type": "sriov",
            "dataDir": format!("{LAB_DIR}/data"),
            "logFile": format!("{LAB_DIR}/sriov.log"),
            "logLevel": "debug",
        });
        for (k, v) in fields.as_object().unwrap() {
            conf[k] = v.clone();
        }
        conf
    };
    rt.network(
        "sriov-net",
        sriov(json!({
            "master": pf.to_string(),
            "ipam": {
                "type": "host-local",
                "ranges": [[{"subnet": "192.0.2.0/24"}]],
                "dataDir": format!("{LAB_DIR}/ipam"),
            },
        })),
    );

    for name in ["c1", "c2"] {
        let out = rt.start(name, "sriov-net");
        assert!(
            out.status.success(),
            "podman run {name}: {}\n{}\nsriov's log:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(rt.path(&format!("{LAB_DIR}/sriov.log"))).unwrap_or_default()
        );
    }
    let held = moved_vfs(&lab, 0);
    assert_eq!(held.len(), 2, "each container holds a VF of {pf}: {held:?}");
    let (a1, a2) = (rt.address("c1", "sriov-net"), rt.address("c2", "sriov-net"));
    assert_ne!(a1, a2);
    let pings = |from: &str, to: &str| {
        rt.podman(&[
            "exec",
            from,
            "/bin/busybox",
            "ping",
            "-c",
            "1",
            "-W",
            "1",
            to,
        ])
        .status
        .success()
    };
    wait_for(
        "c1 to reach c2 over their VFs",
        Duration::from_secs(15),
        || pings("c1", &a2),
    );
    assert!(pings("c2", &a1));

    // A network naming a VF another container holds: the runtime sees the
    // plugin refuse, and the holder keeps its VF.
    rt.network("held-net", sriov(json!({"deviceID": held[0].to_string()})));
    let refused = rt.start("c3", "held-net");
    assert!(!refused.status.success(), "c3 started on a held VF");
    let why = String::from_utf8_lossy(&refused.stderr);
    eprintln!("podman run on held-net: {}", why.trim());
    assert!(why.contains(&held[0].to_string()), "{why}");
    let _ = rt.podman(&["rm", "-f", "-t", "0", "c3"]);
    assert_eq!(moved_vfs(&lab, 0), held);
    assert!(pings("c1", &a2), "c1 lost its VF to the refused container");

    rt.podman_ok(&["rm", "-f", "-t", "0", "c1", "c2"]);
    for state in &before {
        common::wait_in_host(&lab.host, state.vf.addr);
        assert_as_before(&lab.host, state);
    }
    let journal = rt.path(&format!("{LAB_DIR}/data/attachments/sriov-net"));
    let left: Vec<_> = std::fs::read_dir(&journal)
        .map(|d| d.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "records left: {left:?}");
}
