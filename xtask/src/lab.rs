//! `cargo xtask lab`: provision, build, pack, boot, report.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{capture, io_err, Error, Result};
use crate::guest::{
    self, GuestTest, Marker, ModuleFile, Payload, GUEST_CNI, GUEST_EXAMPLES, GUEST_MODULES,
    GUEST_PLUGINS, GUEST_TESTS, MARK,
};
use crate::initramfs::{self, Archive};
use crate::modules;
use crate::provision::{self, Assets, Series, CNI_PLUGINS};
use crate::qemu::{Machine, LAB_NICS};
use crate::report::Report;
use crate::testbins::{self, Build, Packages};

/// How to run the lab.
#[derive(Debug, Clone)]
pub struct Options {
    /// Time limit for the guest, from boot to power-off.
    pub timeout: Duration,
    /// Guest memory in MiB.
    pub memory_mib: u32,
    /// Guest CPUs.
    pub cpus: u32,
    /// Which packages' tests to run.
    pub packages: Packages,
    /// Extra libtest arguments for every binary (filters, `--exact`, `--skip`).
    pub test_args: Vec<String>,
    /// The kernels to boot, each with the same build.
    pub kernels: Vec<Series>,
    /// How many guests run at once (each takes about one host core).
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20 * 60),
            memory_mib: 2048,
            cpus: 1,
            packages: Packages::Workspace,
            test_args: Vec::new(),
            kernels: vec![Series::V6_12],
            jobs: 1,
        }
    }
}

/// A per-run directory under the system temporary directory, removed on drop.
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
}

impl RunDir {
    /// Creates a fresh, private directory; two runs never share one. Run
    /// directories of processes that no longer exist (an interrupted run never
    /// gets to its cleanup) are removed first.
    pub fn create(prefix: &str) -> Result<Self> {
        remove_stale(&std::env::temp_dir(), prefix);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("{prefix}.{}.{nanos}", std::process::id()));
        fs::create_dir(&path).map_err(io_err("create", &path))?;
        Ok(Self { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Removes `<prefix>.<pid>.<n>` directories in `dir` whose process is gone.
fn remove_stale(dir: &Path, prefix: &str) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name();
        let Some(pid) = run_dir_pid(&name.to_string_lossy(), prefix) else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a run directory's name `<prefix>.<pid>.<n>`.
pub fn run_dir_pid(name: &str, prefix: &str) -> Option<u32> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('.')?;
    let (pid, n) = rest.split_once('.')?;
    if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

/// Wall time of each phase, for the closing lines.
#[derive(Debug, Default)]
pub struct Timings {
    phases: Vec<(&'static str, Duration)>,
}

impl Timings {
    /// Runs `f` and records how long it took under `name`.
    pub fn time<T>(&mut self, name: &'static str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let start = Instant::now();
        let out = f();
        self.phases.push((name, start.elapsed()));
        out
    }

    /// Records a phase measured elsewhere.
    pub fn record(&mut self, name: &'static str, took: Duration) {
        self.phases.push((name, took));
    }

    /// `total 93.1 s: provision 0.0 s, build 12.0 s, ...`.
    pub fn line(&self) -> String {
        let total: Duration = self.phases.iter().map(|p| p.1).sum();
        let parts: Vec<String> = self
            .phases
            .iter()
            .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
            .collect();
        format!("total {:.1} s: {}", total.as_secs_f64(), parts.join(", "))
    }
}

/// The workspace root (the parent of xtask's own directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Runs the whole lab on each kernel of `opts`, `opts.jobs` guests at a
/// time, and prints, per kernel, the failures and a summary line, and the
/// total last. With more than one kernel, each console line is prefixed with
/// its kernel's series. Returns an error (a non-zero exit) unless every test
/// passed on every kernel.
pub fn run(opts: &Options) -> Result<()> {
    let start = Instant::now();
    let mut times = Timings::default();
    let assets = times.time("provision", || provision_all(opts))?;
    let dir = RunDir::create("netplumb-lab")?;
    let build = times.time("build", || {
        testbins::build(&workspace_root(), &opts.packages, &plugin_dir(&dir))
    })?;
    eprintln!("lab: {} test binaries", build.tests.len());
    let payload = Payload::Tests {
        binaries: build
            .tests
            .iter()
            .map(|b| GuestTest {
                name: b.name.clone(),
                dir: b.package_dir.to_string_lossy().into_owned(),
            })
            .collect(),
        args: opts.test_args.clone(),
    };
    let several = assets.len() > 1;
    let mut reports = Vec::new();
    let mut not_run = Vec::new();
    for batch in assets.chunks(opts.jobs.max(1)) {
        let outcomes: Vec<(Timings, Result<Report>)> = std::thread::scope(|scope| {
            let guests: Vec<_> = batch
                .iter()
                .map(|assets| {
                    let (build, payload, dir) = (&build, &payload, &dir);
                    scope.spawn(move || {
                        let kernel = &assets.kernel;
                        let prefix = if several {
                            format!("[{}] ", kernel.series)
                        } else {
                            String::new()
                        };
                        eprintln!("lab: booting Linux {} ({})", kernel.series, kernel.release);
                        let mut times = Timings::default();
                        let report = boot(assets, build, payload, opts, &mut times, dir, |line| {
                            println!("{prefix}{line}");
                        });
                        (times, report)
                    })
                })
                .collect();
            guests
                .into_iter()
                .map(|guest| guest.join().expect("a guest's thread panicked"))
                .collect()
        });
        for (assets, (guest_times, report)) in batch.iter().zip(outcomes) {
            let kernel = &assets.kernel;
            eprintln!("lab: Linux {}: {}", kernel.series, guest_times.line());
            match report {
                Ok(report) => {
                    for failure in &report.failures {
                        println!("lab: FAILED on {}: {failure}", kernel.series);
                    }
                    reports.push((kernel, report));
                }
                // The other guests' results still count and are shown.
                Err(e) => {
                    println!(
                        "lab: FAILED on {}: the guest could not run: {e}",
                        kernel.series
                    );
                    not_run.push(kernel.series);
                }
            }
        }
    }
    eprintln!(
        "lab: wall time {:.1} s; {}",
        start.elapsed().as_secs_f64(),
        times.line()
    );
    let mut total = Report::new();
    for (kernel, report) in &reports {
        if several {
            println!(
                "{}",
                report.summary().replacen(
                    "lab:",
                    &format!("lab on {} ({}):", kernel.series, kernel.release),
                    1
                )
            );
        }
        total.add(report);
    }
    total.failed += not_run.len() as u64;
    println!("{}", total.summary());
    if not_run.is_empty() && reports.iter().all(|(_, r)| r.success()) {
        Ok(())
    } else {
        Err(Error::Failed(format!("lab: {} failed", total.failed)))
    }
}

/// Boots the lab on each kernel of `opts` in turn, runs `script` in the
/// guest once it is set up (with the `NETPLUMB_LAB*` variables and
/// `lab_abort MESSAGE` to fail), and shows what it prints. `label`
/// prefixes this process's own lines.
pub fn run_script(label: &str, script: String, opts: &Options) -> Result<()> {
    let start = Instant::now();
    let mut times = Timings::default();
    let assets = times.time("provision", || provision_all(opts))?;
    let dir = RunDir::create("netplumb-lab")?;
    // Scripts get the plugins the tests get; the test binaries they need not.
    let plugins = times.time("build", || {
        testbins::plugins(&workspace_root(), &plugin_dir(&dir))
    })?;
    let mut finished = true;
    for assets in &assets {
        let booted = boot_script(
            label,
            assets,
            &dir,
            &script,
            opts,
            &plugins,
            &mut times,
            |_| {},
        )?;
        finished &= booted;
    }
    finish_script(label, start, &times, finished)
}

/// A script run whose lab is provisioned and whose plugins are built.
#[derive(Debug)]
pub struct ScriptRun<'a> {
    /// Prefixes this process's own lines.
    pub label: &'a str,
    /// What the lab boots.
    pub assets: &'a Assets,
    /// The run's directory.
    pub dir: &'a RunDir,
    /// When the run began.
    pub start: Instant,
    /// The phases so far.
    pub times: Timings,
}

/// [`run_script`] on one kernel with `plugins` as the guest's
/// `NETPLUMB_LAB_PLUGINS`, built by the caller in `run.dir`; every console
/// line the script prints also goes to `seen`.
pub fn run_built_script(
    run: ScriptRun<'_>,
    script: String,
    opts: &Options,
    plugins: Vec<PathBuf>,
    seen: impl FnMut(&str),
) -> Result<()> {
    let ScriptRun {
        label,
        assets,
        dir,
        start,
        mut times,
    } = run;
    let finished = boot_script(
        label, assets, dir, &script, opts, &plugins, &mut times, seen,
    )?;
    finish_script(label, start, &times, finished)
}

/// Boots `assets`' kernel with `script` and `plugins`, shows what the
/// script prints (and hands it to `seen`), and says whether it finished.
#[allow(
    clippy::too_many_arguments,
    reason = "one boot's every input, passed through"
)]
fn boot_script(
    label: &str,
    assets: &Assets,
    dir: &RunDir,
    script: &str,
    opts: &Options,
    plugins: &[PathBuf],
    times: &mut Timings,
    mut seen: impl FnMut(&str),
) -> Result<bool> {
    let kernel = &assets.kernel;
    let build = Build {
        plugins: plugins.to_vec(),
        ..Build::default()
    };
    println!(
        "{label}: booting the lab on Linux {} ({}; about half a minute under emulation)",
        kernel.series, kernel.release
    );
    let report = boot(
        assets,
        &build,
        &Payload::Script(script.to_owned()),
        opts,
        times,
        dir,
        |line| {
            // Markers are for the machine; the rest is for people.
            let text = match line.find(MARK) {
                None => line,
                Some(0) => return,
                Some(at) => &line[..at],
            };
            println!("{text}");
            seen(text);
        },
    )?;
    if report.success() {
        println!("{label}: finished on {}", kernel.series);
    } else {
        for failure in &report.failures {
            println!("{label}: FAILED on {}: {failure}", kernel.series);
        }
    }
    Ok(report.success())
}

/// The closing lines of a script run; an error unless it `finished`.
fn finish_script(label: &str, start: Instant, times: &Timings, finished: bool) -> Result<()> {
    eprintln!("{label}: wall time {}", times.line());
    if !finished {
        return Err(Error::Failed(format!("{label}: did not finish")));
    }
    println!(
        "{label}: finished in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The host tools and every kernel `opts` names, provisioned before anything
/// is built: a kernel that cannot be fetched fails the run at once.
fn provision_all(opts: &Options) -> Result<Vec<Assets>> {
    opts.kernels
        .iter()
        .map(|&series| provision::ensure(series))
        .collect()
}

/// Where a run's plugin copies go.
fn plugin_dir(run: &RunDir) -> PathBuf {
    run.path().join("plugins")
}

/// Packs the initramfs for `payload` in `dir` and boots it, streaming each
/// console line to `show`. Records the initramfs, boot and payload times.
pub fn boot(
    assets: &Assets,
    build: &Build,
    payload: &Payload,
    opts: &Options,
    times: &mut Timings,
    dir: &RunDir,
    mut show: impl FnMut(&str),
) -> Result<Report> {
    // Each kernel packs its own modules: one directory per kernel.
    let pack_dir = dir.path().join(&assets.kernel.release);
    fs::create_dir_all(&pack_dir).map_err(io_err("create", &pack_dir))?;
    let initrd = times.time("initramfs", || pack(assets, build, payload, &pack_dir))?;
    let machine = Machine {
        qemu: assets.qemu.clone(),
        kernel: assets.kernel.vmlinuz.clone(),
        initrd,
        memory_mib: opts.memory_mib,
        cpus: opts.cpus,
        nics: LAB_NICS.to_vec(),
        // What a test needs of the host's userland (a container runtime)
        // it finds there, read-only.
        share: Some(PathBuf::from("/")),
    };
    let mut report = Report::new();
    let start = Instant::now();
    let mut ready: Option<Duration> = None;
    let end = machine.run(opts.timeout, |line| {
        let marker = line.find(MARK).and_then(|at| Marker::parse(&line[at..]));
        if ready.is_none() && matches!(marker, Some(Marker::Env(_))) {
            ready = Some(start.elapsed());
        }
        show(line);
        report.line(line);
    })?;
    report.finish(&end);
    let total = start.elapsed();
    match ready {
        Some(ready) => {
            times.record("boot+setup", ready);
            times.record("payload", total - ready);
        }
        None => times.record("guest", total),
    }
    Ok(report)
}

/// The workspace's source files (tracked, or new and not ignored) as absolute
/// paths: what a test can expect to find under its package directory.
fn workspace_files(root: &Path) -> Result<Vec<PathBuf>> {
    let out = capture(Command::new("git").arg("-C").arg(root).args([
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
    ]))?;
    Ok(out
        .split('\0')
        .filter(|f| !f.is_empty())
        .map(|f| root.join(f))
        // Deleted but still tracked files are not there to copy.
        .filter(|p| p.is_file())
        .collect())
}

/// Builds the initramfs in `dir` and returns its path.
fn pack(assets: &Assets, build: &Build, payload: &Payload, dir: &Path) -> Result<PathBuf> {
    let mut archive = Archive::new();
    // busybox --install puts its applets into the bin directories that exist.
    for d in [
        "proc", "sys", "dev", "tmp", "run", "var", "root", "etc", "bin", "sbin", "usr/bin",
        "usr/sbin",
    ] {
        archive.dir(d);
    }
    archive.file("bin/busybox", &assets.busybox, 0o755);
    // For `#!/bin/sh` scripts and anything that runs `sh -c`.
    archive.symlink("bin/sh", "busybox");
    initramfs::add_executable(&mut archive, "usr/sbin/ip", &assets.ip)?;
    for plugin in CNI_PLUGINS {
        initramfs::add_executable(
            &mut archive,
            &format!("{GUEST_CNI}/{plugin}"),
            &assets.cni_dir.join(plugin),
        )?;
    }

    archive.dir(GUEST_PLUGINS);
    for plugin in &build.plugins {
        let name = plugin.file_name().unwrap_or_default().to_string_lossy();
        initramfs::add_executable(&mut archive, &format!("{GUEST_PLUGINS}/{name}"), plugin)?;
    }

    let loads = modules::resolve(&assets.kernel.modules, &assets.modinfo, modules::WANTED)?;
    let module_dir = dir.join("modules");
    fs::create_dir(&module_dir).map_err(io_err("create", &module_dir))?;
    let mut module_files = Vec::new();
    for load in &loads {
        let ko = module_dir.join(format!("{}.ko", load.name));
        modules::decompress(&load.source, &ko)?;
        archive.file(&format!("{GUEST_MODULES}/{}.ko", load.name), &ko, 0o644);
        module_files.push(ModuleFile {
            name: load.name.clone(),
            params: load.params.clone(),
        });
    }

    let test_dir = dir.join("tests");
    fs::create_dir(&test_dir).map_err(io_err("create", &test_dir))?;
    for bin in &build.tests {
        let stripped = test_dir.join(&bin.name);
        initramfs::strip_debug(&bin.path, &stripped)?;
        initramfs::add_executable(
            &mut archive,
            &format!("{GUEST_TESTS}/{}", bin.name),
            &stripped,
        )?;
    }

    // Integration tests run the packages' binaries by their host path.
    for bin in &build.bins {
        let name = bin.file_name().unwrap_or_default().to_string_lossy();
        let stripped = test_dir.join(format!("bin-{name}"));
        initramfs::strip_debug(bin, &stripped)?;
        initramfs::add_executable(&mut archive, &bin.to_string_lossy(), &stripped)?;
    }
    archive.dir(GUEST_EXAMPLES);
    for example in &build.examples {
        let name = example.file_name().unwrap_or_default().to_string_lossy();
        let stripped = test_dir.join(format!("example-{name}"));
        initramfs::strip_debug(example, &stripped)?;
        initramfs::add_executable(&mut archive, &format!("{GUEST_EXAMPLES}/{name}"), &stripped)?;
    }
    // Tests read their data files through CARGO_MANIFEST_DIR, as under cargo test.
    if !build.tests.is_empty() {
        for file in workspace_files(&workspace_root())? {
            let exec = fs::metadata(&file).is_ok_and(|m| m.permissions().mode() & 0o111 != 0);
            archive.file(
                &file.to_string_lossy(),
                &file,
                if exec { 0o755 } else { 0o644 },
            );
        }
    }

    archive.bytes("init", guest::init_script(&module_files, payload), 0o755);
    let initrd = dir.join("initrd.gz");
    archive.write_gzip(&initrd)?;
    let size = fs::metadata(&initrd)
        .map_err(io_err("stat", &initrd))?
        .len();
    eprintln!(
        "lab: initramfs {:.1} MiB ({} modules, {} test binaries, {} plugins)",
        size as f64 / (1024.0 * 1024.0),
        loads.len(),
        build.tests.len(),
        build.plugins.len()
    );
    Ok(initrd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_dir_names_give_their_pid() {
        assert_eq!(
            run_dir_pid("netplumb-lab.4242.123456", "netplumb-lab"),
            Some(4242)
        );
        assert_eq!(run_dir_pid("netplumb-lab.4242.", "netplumb-lab"), None);
        assert_eq!(run_dir_pid("netplumb-lab.x.1", "netplumb-lab"), None);
        assert_eq!(run_dir_pid("netplumb-labx.1.1", "netplumb-lab"), None);
        assert_eq!(run_dir_pid("other.1.1", "netplumb-lab"), None);
    }

    #[test]
    fn a_run_dir_is_private_and_removed_on_drop() {
        let a = RunDir::create("xtask-test-run").unwrap();
        let b = RunDir::create("xtask-test-run").unwrap();
        assert_ne!(a.path(), b.path());
        let path = a.path().to_path_buf();
        assert!(path.is_dir());
        drop(a);
        assert!(!path.exists());
    }

    #[test]
    fn timings_add_up() {
        let mut t = Timings::default();
        t.record("build", Duration::from_millis(1500));
        t.record("boot", Duration::from_millis(500));
        assert_eq!(t.line(), "total 2.0 s: build 1.5 s, boot 0.5 s");
    }
}
