//! Provisioning: the host packages the lab needs and Debian kernels in a cache.
//!
//! Kernels come from an apt index private to the cache (its own source list and
//! package lists), so fetching a 5.10 kernel from bullseye never adds a suite to
//! the host's apt sources. Every check is cheap (`dpkg-query`, a directory that
//! exists), so a second run asks apt nothing. Changes to shared state (apt, the cache) happen under one
//! `flock` on the cache, and the kernel is unpacked into a private directory and
//! renamed into place, so two runs at once neither clash nor see half a kernel.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{capture, io_err, output, run, Error, Result};

/// The apt source the lab adds when no bookworm-backports source exists yet.
const BACKPORTS_SOURCE_PATH: &str = "/etc/apt/sources.list.d/netplumb-lab-backports.sources";
const BACKPORTS_SOURCE: &str = "Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
";

/// A Debian package the lab needs on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPackage {
    /// Debian package name.
    pub name: &'static str,
    /// Lowest acceptable upstream major version, when the bookworm one is too old.
    pub min_major: Option<u32>,
    /// Whether it comes from bookworm-backports.
    pub backports: bool,
    /// What the lab uses it for, for messages.
    pub purpose: &'static str,
}

/// Everything the lab needs on the host, besides the kernel.
pub const HOST_PACKAGES: &[HostPackage] = &[
    HostPackage {
        name: "qemu-system-x86",
        // QEMU 10 is the first with an igb (82576, SR-IOV) device model.
        min_major: Some(10),
        backports: true,
        purpose: "boots the guest with emulated igb NICs",
    },
    HostPackage {
        name: "busybox-static",
        min_major: None,
        backports: false,
        purpose: "the guest's shell and tools",
    },
    HostPackage {
        name: "iproute2",
        min_major: None,
        backports: false,
        purpose: "/usr/sbin/ip inside the guest",
    },
    HostPackage {
        name: "containernetworking-plugins",
        min_major: None,
        backports: false,
        purpose: "host-local, static, host-device and tuning CNI plugins for the guest",
    },
    HostPackage {
        name: "podman",
        min_major: None,
        backports: false,
        purpose: "a container runtime with a CNI backend, run in the guest from the host's root",
    },
    HostPackage {
        name: "crun",
        min_major: None,
        backports: false,
        purpose: "the OCI runtime podman starts containers with",
    },
    HostPackage {
        name: "conmon",
        min_major: None,
        backports: false,
        purpose: "podman's container monitor",
    },
    HostPackage {
        name: "kmod",
        min_major: None,
        backports: false,
        purpose: "modinfo, to order kernel modules by their dependencies",
    },
];

/// The host tools and the kernel the lab boots, all present.
#[derive(Debug, Clone)]
pub struct Assets {
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// The static busybox that becomes the guest's shell.
    pub busybox: PathBuf,
    /// iproute2's `ip`, which tests call by full path in the guest.
    pub ip: PathBuf,
    /// Directory with Debian's CNI plugins.
    pub cni_dir: PathBuf,
    /// `modinfo` from kmod.
    pub modinfo: PathBuf,
    /// The unpacked kernel.
    pub kernel: Kernel,
}

/// A Debian kernel package unpacked in the cache.
#[derive(Debug, Clone)]
pub struct Kernel {
    /// The series it belongs to.
    pub series: Series,
    /// Kernel release, e.g. `6.12.95+deb12-amd64`.
    pub release: String,
    /// The bootable image.
    pub vmlinuz: PathBuf,
    /// `lib/modules/<release>/kernel` in the unpacked package.
    pub modules: PathBuf,
}

/// Where the lab keeps what it downloads: `${XDG_CACHE_HOME:-$HOME/.cache}/netplumb-lab`.
pub fn cache_dir() -> Result<PathBuf> {
    let base = match std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
            Some(home) => PathBuf::from(home).join(".cache"),
            None => {
                return Err(Error::Provision {
                    what: "cache directory".into(),
                    detail: "neither XDG_CACHE_HOME nor HOME is set".into(),
                })
            }
        },
    };
    Ok(base.join("netplumb-lab"))
}

/// An exclusive `flock` on a file; released when dropped.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Blocks until the lock on `path` (created if missing) is held.
    pub fn acquire(path: &Path) -> Result<Self> {
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_err("open lock file", path))?;
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory involved.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(Self { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(io_err("lock", path)(err));
            }
        }
    }
}

/// A kernel series the lab boots: the kernels nodes in the field run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Series {
    /// Debian 11 (bullseye); long-lived clusters.
    V5_10,
    /// Debian 12 (bookworm).
    V6_1,
    /// bookworm-backports: the newest, and the lab's default.
    V6_12,
}

impl Series {
    /// Every series, oldest first.
    pub const ALL: [Series; 3] = [Series::V5_10, Series::V6_1, Series::V6_12];

    /// How people write it: `5.10`, `6.1`, `6.12`.
    pub fn name(self) -> &'static str {
        match self {
            Series::V5_10 => "5.10",
            Series::V6_1 => "6.1",
            Series::V6_12 => "6.12",
        }
    }

    /// The series named `name` (`5.10`, `6.1` or `6.12`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The `apt-cache search` pattern for this series' plain image packages.
    fn search_pattern(self) -> &'static str {
        match self {
            Series::V5_10 => r"^linux-image-5\.10\.0-[0-9]+-amd64-unsigned$",
            Series::V6_1 => r"^linux-image-6\.1\.0-[0-9]+-amd64-unsigned$",
            Series::V6_12 => r"^linux-image-6\.12\.[0-9]+\+deb12-amd64$",
        }
    }

    /// How new a package of this series is (its ABI number, or for 6.12 its
    /// patch level), or `None` for any other name: other series, and the
    /// signed-template, dbg, cloud, rt and meta packages.
    pub fn package_rank(self, package: &str) -> Option<u32> {
        let (prefix, suffix) = match self {
            Series::V5_10 => ("linux-image-5.10.0-", "-amd64-unsigned"),
            Series::V6_1 => ("linux-image-6.1.0-", "-amd64-unsigned"),
            Series::V6_12 => ("linux-image-6.12.", "+deb12-amd64"),
        };
        let number = package.strip_prefix(prefix)?.strip_suffix(suffix)?;
        if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        number.parse().ok()
    }
}

impl std::fmt::Display for Series {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Makes sure every host package and the kernel of `series` are present,
/// installing what is missing, and returns where they are. Progress goes to stderr.
pub fn ensure(series: Series) -> Result<Assets> {
    let cache = cache_dir()?;
    fs::create_dir_all(&cache).map_err(io_err("create", &cache))?;

    let mut apt = Apt::default();
    let missing = missing_packages()?;
    if !missing.is_empty() {
        require_root_and_apt(&missing)?;
        let _lock = FileLock::acquire(&cache.join("lock"))?;
        // Another run may have installed them while this one waited.
        let missing = missing_packages()?;
        if !missing.is_empty() {
            apt.install(&missing)?;
        }
    }

    let kernel = match cached_kernel(&cache, series)? {
        Some(kernel) => kernel,
        None => {
            let _lock = FileLock::acquire(&cache.join("lock"))?;
            match cached_kernel(&cache, series)? {
                Some(kernel) => kernel,
                None => download_kernel(&cache, series)?,
            }
        }
    };

    Ok(Assets {
        qemu: existing("qemu-system-x86_64", &["/usr/bin/qemu-system-x86_64"])?,
        busybox: existing(
            "busybox (busybox-static)",
            &["/bin/busybox", "/usr/bin/busybox"],
        )?,
        ip: existing("ip (iproute2)", &["/usr/sbin/ip", "/sbin/ip", "/bin/ip"])?,
        cni_dir: cni_dir()?,
        modinfo: existing(
            "modinfo (kmod)",
            &[
                "/usr/sbin/modinfo",
                "/sbin/modinfo",
                "/usr/bin/modinfo",
                "/bin/modinfo",
            ],
        )?,
        kernel,
    })
}

fn existing(what: &str, candidates: &[&str]) -> Result<PathBuf> {
    candidates
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .ok_or_else(|| Error::Provision {
            what: what.into(),
            detail: format!("not found at any of {}", candidates.join(", ")),
        })
}

fn cni_dir() -> Result<PathBuf> {
    const DIRS: &[&str] = &["/usr/lib/cni", "/opt/cni/bin"];
    DIRS.iter()
        .map(PathBuf::from)
        .find(|d| CNI_PLUGINS.iter().all(|p| d.join(p).exists()))
        .ok_or_else(|| Error::Provision {
            what: "CNI plugins (containernetworking-plugins)".into(),
            detail: format!(
                "{} not all found in {}",
                CNI_PLUGINS.join(", "),
                DIRS.join(" or ")
            ),
        })
}

/// The Debian CNI plugins the guest gets: IPAM to delegate to, and plugins
/// to chain with or measure against.
pub const CNI_PLUGINS: &[&str] = &["host-local", "static", "host-device", "tuning"];

/// The packages from [`HOST_PACKAGES`] that are missing or too old.
fn missing_packages() -> Result<Vec<HostPackage>> {
    let mut cmd = Command::new("dpkg-query");
    cmd.arg("-W")
        .arg("-f=${Package}\t${db:Status-Abbrev}\t${Version}\n")
        .args(HOST_PACKAGES.iter().map(|p| p.name));
    // dpkg-query exits 1 when some package is unknown; what it printed is still right.
    let out = match output(&mut cmd) {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        // Without dpkg there is nothing to ask: everything counts as missing.
        Err(_) => String::new(),
    };
    Ok(missing_from_dpkg_query(&out, HOST_PACKAGES))
}

/// Parses `dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Version}\n'`
/// output and returns the wanted packages that are not installed or too old.
pub fn missing_from_dpkg_query(out: &str, wanted: &[HostPackage]) -> Vec<HostPackage> {
    wanted
        .iter()
        .filter(|pkg| {
            let installed = out.lines().find_map(|line| {
                let mut fields = line.split('\t');
                let name = fields.next()?;
                let status = fields.next()?;
                let version = fields.next()?;
                (name == pkg.name && status.trim() == "ii").then_some(version)
            });
            match (installed, pkg.min_major) {
                (None, _) => true,
                (Some(_), None) => false,
                (Some(version), Some(min)) => upstream_major(version).is_none_or(|m| m < min),
            }
        })
        .copied()
        .collect()
}

/// The upstream major version of a Debian version string: `1:10.0.2+ds-2` is 10.
pub fn upstream_major(version: &str) -> Option<u32> {
    let without_epoch = version.split_once(':').map_or(version, |(_, rest)| rest);
    let digits: String = without_epoch
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn require_root_and_apt(missing: &[HostPackage]) -> Result<()> {
    let has_apt = Path::new("/usr/bin/apt-get").exists();
    if is_root() && has_apt {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
    let reason = if has_apt {
        "this is not root, so the lab cannot install them"
    } else {
        "apt-get is not available here, so the lab cannot install them"
    };
    Err(Error::MissingPackages {
        packages: names.join(", "),
        hint: install_hint(missing, reason),
    })
}

/// The exact commands a person runs to install `missing`, as root on Debian 12.
pub fn install_hint(missing: &[HostPackage], reason: &str) -> String {
    // Unindented, so the lines can be pasted into a shell as they are.
    let mut hint = format!("{reason}. As root on Debian 12 (bookworm), run:\n\n");
    if missing.iter().any(|p| p.backports) {
        hint.push_str(&format!(
            "cat > {BACKPORTS_SOURCE_PATH} <<'END'\n{BACKPORTS_SOURCE}END\n"
        ));
    }
    hint.push_str("apt-get update\n");
    let backports: Vec<&str> = missing
        .iter()
        .filter(|p| p.backports)
        .map(|p| p.name)
        .collect();
    let main: Vec<&str> = missing
        .iter()
        .filter(|p| !p.backports)
        .map(|p| p.name)
        .collect();
    if !backports.is_empty() {
        hint.push_str(&format!(
            "apt-get install -y --no-install-recommends -t bookworm-backports {}\n",
            backports.join(" ")
        ));
    }
    if !main.is_empty() {
        hint.push_str(&format!(
            "apt-get install -y --no-install-recommends {}\n",
            main.join(" ")
        ));
    }
    hint.push('\n');
    for pkg in missing {
        hint.push_str(&format!("{}: {}\n", pkg.name, pkg.purpose));
    }
    hint
}

/// apt, driven at most as much as needed: the source added and lists updated once.
#[derive(Debug, Default)]
struct Apt {
    updated: bool,
}

impl Apt {
    fn ensure_backports_source(&mut self) -> Result<()> {
        if backports_source_present()? {
            return Ok(());
        }
        eprintln!("lab: adding the bookworm-backports apt source ({BACKPORTS_SOURCE_PATH})");
        write_atomically(
            Path::new(BACKPORTS_SOURCE_PATH),
            BACKPORTS_SOURCE.as_bytes(),
        )?;
        self.updated = false;
        self.update()
    }

    fn update(&mut self) -> Result<()> {
        eprintln!("lab: apt-get update");
        run(Command::new("apt-get").args(["-q", "update"]))?;
        self.updated = true;
        Ok(())
    }

    fn install(&mut self, packages: &[HostPackage]) -> Result<()> {
        if packages.iter().any(|p| p.backports) {
            self.ensure_backports_source()?;
        }
        let groups = [
            (
                true,
                packages.iter().filter(|p| p.backports).collect::<Vec<_>>(),
            ),
            (false, packages.iter().filter(|p| !p.backports).collect()),
        ];
        for (backports, group) in groups {
            if group.is_empty() {
                continue;
            }
            let names: Vec<&str> = group.iter().map(|p| p.name).collect();
            eprintln!("lab: installing {}", names.join(" "));
            let attempt = |apt: &mut Command| {
                apt.env("DEBIAN_FRONTEND", "noninteractive").args([
                    "-q",
                    "install",
                    "-y",
                    "--no-install-recommends",
                ]);
                if backports {
                    apt.args(["-t", "bookworm-backports"]);
                }
                apt.args(&names);
                run(apt)
            };
            // Stale package lists make apt ask for files the mirror no longer has:
            // update once and try again.
            if let Err(first) = attempt(&mut Command::new("apt-get")) {
                if self.updated {
                    return Err(first);
                }
                self.update()?;
                attempt(&mut Command::new("apt-get"))?;
            }
        }
        Ok(())
    }
}

/// The Debian suites the kernels come from, as the private index's source list.
const KERNEL_SOURCES: &str = "\
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bullseye-security main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
";

/// apt over an index of its own in `<cache>/apt`: kernel packages of every
/// series, without touching the host's sources or package lists.
#[derive(Debug)]
struct KernelIndex {
    dir: PathBuf,
    updated: bool,
}

impl KernelIndex {
    fn new(cache: &Path) -> Result<Self> {
        let dir = cache.join("apt");
        for sub in ["lists/partial", "cache/archives/partial"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(io_err("create", &d))?;
        }
        let sources = dir.join("sources.list");
        if fs::read_to_string(&sources).ok().as_deref() != Some(KERNEL_SOURCES) {
            write_atomically(&sources, KERNEL_SOURCES.as_bytes())?;
        }
        Ok(Self {
            dir,
            updated: false,
        })
    }

    /// `tool` (apt-get or apt-cache) reading only this index.
    fn command(&self, tool: &str) -> Command {
        let mut cmd = Command::new(tool);
        let path = |p: &str| self.dir.join(p).to_string_lossy().into_owned();
        cmd.arg(format!("-oDir::Etc::SourceList={}", path("sources.list")))
            .arg("-oDir::Etc::SourceParts=/dev/null")
            .arg(format!("-oDir::State::Lists={}", path("lists")))
            .arg(format!("-oDir::Cache={}", path("cache")))
            // Nothing is installed from this index: an empty status keeps the
            // host's installed packages out of its answers.
            .arg("-oDir::State::status=/dev/null");
        cmd
    }

    fn update(&mut self) -> Result<()> {
        eprintln!(
            "lab: updating the kernel package index in {}",
            self.dir.display()
        );
        run(self.command("apt-get").args(["-q", "update"]))?;
        self.updated = true;
        Ok(())
    }

    /// The newest image package of `series` the index knows, updating it once
    /// when it knows none.
    fn newest(&mut self, series: Series) -> Result<String> {
        loop {
            let out = capture(self.command("apt-cache").args([
                "search",
                "--names-only",
                series.search_pattern(),
            ]))?;
            if let Some(name) = newest_kernel_name(series, &out) {
                return Ok(name);
            }
            if self.updated {
                return Err(Error::Provision {
                    what: format!("kernel {series}"),
                    detail: format!(
                        "no package matches {} in bullseye, bookworm or bookworm-backports",
                        series.search_pattern()
                    ),
                });
            }
            self.update()?;
        }
    }
}

fn backports_source_present() -> Result<bool> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| {
                    p.extension()
                        .is_some_and(|ext| ext == "list" || ext == "sources")
                }),
        );
    }
    Ok(files.iter().any(|f| {
        fs::read_to_string(f).is_ok_and(|text| {
            text.lines()
                .any(|l| !l.trim_start().starts_with('#') && l.contains("bookworm-backports"))
        })
    }))
}

/// Picks the newest package of `series` from `apt-cache search` output.
pub fn newest_kernel_name(series: Series, apt_cache_search: &str) -> Option<String> {
    apt_cache_search
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|name| series.package_rank(name).map(|rank| (rank, name)))
        .max()
        .map(|(_, name)| name.to_string())
}

/// The newest complete kernel of `series` already unpacked in the cache.
fn cached_kernel(cache: &Path, series: Series) -> Result<Option<Kernel>> {
    let Ok(entries) = fs::read_dir(cache) else {
        return Ok(None);
    };
    let newest = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let rank = series.package_rank(&name)?;
            Some((rank, e.path()))
        })
        .max();
    match newest {
        Some((_, dir)) => kernel_in(&dir, series).map(Some),
        None => Ok(None),
    }
}

fn kernel_in(root: &Path, series: Series) -> Result<Kernel> {
    let boot = root.join("boot");
    let vmlinuz = fs::read_dir(&boot)
        .map_err(io_err("read", &boot))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .ok_or_else(|| Error::Provision {
            what: "kernel image".into(),
            detail: format!("no vmlinuz-* in {}", boot.display()),
        })?;
    let release = vmlinuz
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("vmlinuz-"))
        .unwrap_or_default()
        .to_string();
    // bookworm packages use /lib/modules; merged-/usr packages use /usr/lib/modules.
    let modules = ["lib/modules", "usr/lib/modules"]
        .iter()
        .map(|dir| root.join(dir).join(&release).join("kernel"))
        .find(|p| p.is_dir())
        .ok_or_else(|| Error::Provision {
            what: "kernel modules".into(),
            detail: format!("no lib/modules/{release}/kernel under {}", root.display()),
        })?;
    Ok(Kernel {
        series,
        release,
        vmlinuz,
        modules,
    })
}

/// Downloads and unpacks the newest kernel of `series` into `cache/<package>`.
/// The caller holds the cache lock.
fn download_kernel(cache: &Path, series: Series) -> Result<Kernel> {
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(Error::MissingPackages {
            packages: format!("a Linux {series} kernel image package"),
            hint: format!(
                "apt-get is not available here. Unpack a package matching {} with `dpkg -x` into {}/<package name>",
                series.search_pattern(),
                cache.display()
            ),
        });
    }
    let mut index = KernelIndex::new(cache)?;
    let mut package = index.newest(series)?;
    eprintln!(
        "lab: downloading and unpacking {package} into {}",
        cache.display()
    );
    let staging = cache.join(format!(".{package}.{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_err("remove", &staging))?;
    }
    fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
    let result = (|| {
        // apt's download sandbox user may not write to the cache: do it as we are.
        let download = |index: &KernelIndex, package: &str| {
            run(index.command("apt-get").current_dir(&staging).args([
                "-q",
                "-oAPT::Sandbox::User=root",
                "download",
                package,
            ]))
        };
        if let Err(first) = download(&index, &package) {
            // Lists from an earlier run may name a file the mirror has
            // dropped: update them once and take the newest again.
            if index.updated {
                return Err(first);
            }
            index.update()?;
            package = index.newest(series)?;
            download(&index, &package)?;
        }
        let deb = fs::read_dir(&staging)
            .map_err(io_err("read", &staging))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|x| x == "deb"))
            .ok_or_else(|| Error::Provision {
                what: package.clone(),
                detail: "apt-get download left no .deb".into(),
            })?;
        let root = staging.join("root");
        run(Command::new("dpkg").arg("-x").arg(&deb).arg(&root))?;
        kernel_in(&root, series)?;
        let dest = cache.join(&package);
        fs::rename(&root, &dest).map_err(io_err("rename into place", &dest))?;
        kernel_in(&dest, series)
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}

/// Writes a file by writing a sibling temporary file and renaming it over.
pub fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    fs::write(&tmp, contents).map_err(io_err("write", &tmp))?;
    fs::rename(&tmp, path).map_err(io_err("rename into place", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &'static str, min_major: Option<u32>) -> HostPackage {
        HostPackage {
            name,
            min_major,
            backports: min_major.is_some(),
            purpose: "test",
        }
    }

    #[test]
    fn upstream_major_skips_epoch() {
        assert_eq!(upstream_major("1:10.0.2+ds-2+deb13u1~bpo12+1"), Some(10));
        assert_eq!(upstream_major("1:7.2+dfsg-7+deb12u7"), Some(7));
        assert_eq!(upstream_major("6.1.0-3"), Some(6));
        assert_eq!(upstream_major(""), None);
    }

    #[test]
    fn missing_lists_absent_uninstalled_and_too_old_packages() {
        let wanted = [
            pkg("qemu-system-x86", Some(10)),
            pkg("iproute2", None),
            pkg("kmod", None),
            pkg("busybox-static", None),
        ];
        let out = "qemu-system-x86\tii \t1:7.2+dfsg-7\n\
                   iproute2\tii \t6.1.0-3\n\
                   kmod\trc \t30+20221128-1\n";
        let names: Vec<_> = missing_from_dpkg_query(out, &wanted)
            .iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["qemu-system-x86", "kmod", "busybox-static"]);
    }

    #[test]
    fn nothing_is_missing_when_all_are_installed_and_new_enough() {
        let wanted = [pkg("qemu-system-x86", Some(10)), pkg("kmod", None)];
        let out = "qemu-system-x86\tii \t1:10.0.2+ds-2+deb13u1~bpo12+1\nkmod\tii \t30-1\n";
        assert!(missing_from_dpkg_query(out, &wanted).is_empty());
    }

    #[test]
    fn kernel_names_other_than_the_plain_image_are_rejected() {
        use Series::*;
        assert_eq!(
            V6_12.package_rank("linux-image-6.12.95+deb12-amd64"),
            Some(95)
        );
        assert_eq!(
            V5_10.package_rank("linux-image-5.10.0-46-amd64-unsigned"),
            Some(46)
        );
        assert_eq!(
            V6_1.package_rank("linux-image-6.1.0-57-amd64-unsigned"),
            Some(57)
        );
        for (series, name) in [
            (V6_12, "linux-image-6.12.95+deb12-amd64-unsigned"),
            (V6_12, "linux-image-6.12.95+deb12-amd64-dbg"),
            (V6_12, "linux-image-6.12.95+deb12-cloud-amd64"),
            (V6_12, "linux-image-6.1.0-30-amd64"),
            (V6_12, "linux-image-6.12.+deb12-amd64"),
            (V6_1, "linux-image-6.1.0-57-amd64"),
            (V6_1, "linux-image-6.1.0-57-cloud-amd64-unsigned"),
            (V6_1, "linux-image-6.12.95+deb12-amd64"),
            (V5_10, "linux-image-5.10.0-46-rt-amd64-unsigned"),
            (V5_10, "linux-image-5.10.0--amd64-unsigned"),
            (V5_10, "linux-image-6.1.0-57-amd64-unsigned"),
        ] {
            assert_eq!(series.package_rank(name), None, "{series}: {name}");
        }
    }

    #[test]
    fn series_names_round_trip() {
        for series in Series::ALL {
            assert_eq!(Series::parse(series.name()), Some(series));
        }
        assert_eq!(Series::parse("6.2"), None);
        assert_eq!(Series::parse("5.1"), None);
    }

    #[test]
    fn newest_kernel_is_chosen_numerically() {
        let out = "linux-image-6.12.9+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)\n\
                   linux-image-6.12.95+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)\n\
                   linux-image-6.12.95+deb12-amd64-dbg - Debug symbols\n\
                   linux-image-6.12.10+deb12-amd64 - Linux 6.12 for 64-bit PCs (signed)\n\
                   linux-image-5.10.0-9-amd64-unsigned - Linux 5.10 for 64-bit PCs\n\
                   linux-image-5.10.0-46-amd64-unsigned - Linux 5.10 for 64-bit PCs\n\
                   linux-image-5.10.0-46-rt-amd64-unsigned - Linux 5.10, PREEMPT_RT\n";
        assert_eq!(
            newest_kernel_name(Series::V6_12, out).as_deref(),
            Some("linux-image-6.12.95+deb12-amd64")
        );
        assert_eq!(
            newest_kernel_name(Series::V5_10, out).as_deref(),
            Some("linux-image-5.10.0-46-amd64-unsigned")
        );
        assert_eq!(newest_kernel_name(Series::V6_1, out), None);
        assert_eq!(newest_kernel_name(Series::V6_12, ""), None);
    }

    #[test]
    fn install_hint_names_every_command_and_package() {
        let hint = install_hint(
            &[pkg("qemu-system-x86", Some(10)), pkg("kmod", None)],
            "this is not root",
        );
        assert!(
            hint.contains("<<'END'\nTypes: deb\n"),
            "deb822 fields start in column 0"
        );
        assert!(hint.contains("\nSuites: bookworm-backports\n"));
        assert!(hint.contains("\nEND\n"));
        assert!(hint.contains("apt-get update"));
        assert!(hint.contains("-t bookworm-backports qemu-system-x86\n"));
        assert!(hint.contains("--no-install-recommends kmod\n"));
    }
}
