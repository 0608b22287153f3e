//! `cargo xtask bench`: the cost of an attachment, in one lab boot.
//!
//! Builds the plugins in release, stripped, boots the lab with them and
//! `netplumb-bench lab` (see bench/src/lab.rs), which times ADD+DEL cycles
//! of `sriov`, `bond`, Debian's Go `host-device` and the floor (iproute2
//! moving the VF into a namespace and back). Here its figures become the
//! report: each cycle's median and spread over rounds, ratios measured
//! round by round, peak RSS, binary sizes, round trips, the issue's
//! targets, and an SVG bar chart beside the text. `--host` runs
//! `netplumb-bench host` (discovery, configurations, the journal at
//! scale) on this machine instead.
//!
//! Nothing here fails on speed: a run fails only when something it runs
//! fails.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use crate::error::{capture, io_err, run, Error, Result};
use crate::lab::{self, workspace_root, Options, RunDir, ScriptRun, Timings};
use crate::provision::{self, Series};
use crate::testbins::{self, PLUGIN_PACKAGE};

/// The package of the benchmark runner.
pub const BENCH_PACKAGE: &str = "netplumb-bench";

/// The subjects, in the order the report shows them, with what each is.
pub const SUBJECTS: [(&str, &str); 7] = [
    (
        "floor",
        "ip link set DEV netns NS name NAME, and back (iproute2)",
    ),
    (
        "floor-up",
        "the same, and up in the same request, as every plugin must",
    ),
    (
        "sriov",
        "sriov by deviceID: VLAN, MAC, spoof check, trust; no IPAM",
    ),
    (
        "sriov-move",
        "sriov by deviceID, nothing set: only the move, as host-device",
    ),
    (
        "host-device",
        "Debian's Go host-device, the same kind of VF",
    ),
    (
        "bond",
        "bond, active-backup over two VFs in the pod (seed 004), no IPAM",
    ),
    (
        "bond-floor",
        "the same bond built and deleted by iproute2, one ip -batch each",
    ),
];

/// How to run the benchmark.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Rounds of every subject.
    pub rounds: u32,
    /// ADD+DEL cycles of a subject per round.
    pub cycles: u32,
    /// Where the text report and the chart go.
    pub out: PathBuf,
    /// The host benchmarks instead of the lab.
    pub host: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            rounds: 7,
            cycles: 10,
            out: workspace_root().join("target/bench"),
            host: false,
        }
    }
}

/// The figures the guest printed.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Figures {
    /// Per subject, each round's time per cycle in milliseconds, in round order.
    pub rounds: BTreeMap<String, Vec<f64>>,
    /// Per subject, each round's ADDs in milliseconds per cycle.
    pub adds: BTreeMap<String, Vec<f64>>,
    /// Per subject, the median time of a run that does nothing, ms.
    pub startup: BTreeMap<String, f64>,
    /// Per subject, the largest peak RSS of one process, KiB.
    pub rss_kib: BTreeMap<String, u64>,
    /// Per (plugin, command): netlink round trips and sysfs reads.
    pub costs: Vec<(String, String, u64, u64)>,
}

impl Figures {
    /// Reads the runner's `bench ...` lines; other lines are ignored.
    pub fn parse(lines: &[String]) -> std::result::Result<Figures, String> {
        let mut f = Figures::default();
        for line in lines {
            let Some(rest) = line.trim_end().strip_prefix("bench ") else {
                continue;
            };
            let words: Vec<&str> = rest.split_whitespace().collect();
            let bad = || format!("unreadable line from the benchmark: {line}");
            let num = |w: &str| w.parse::<u64>().map_err(|_| bad());
            match words.as_slice() {
                [kind @ ("round" | "add"), _round, subject, nanos, cycles] => {
                    let per_cycle = num(nanos)? as f64 / num(cycles)?.max(1) as f64 / 1e6;
                    let into = if *kind == "round" {
                        &mut f.rounds
                    } else {
                        &mut f.adds
                    };
                    into.entry((*subject).to_owned())
                        .or_default()
                        .push(per_cycle);
                }
                ["startup", subject, nanos] => {
                    f.startup
                        .insert((*subject).to_owned(), num(nanos)? as f64 / 1e6);
                }
                ["rss", subject, kib] => {
                    f.rss_kib.insert((*subject).to_owned(), num(kib)?);
                }
                ["cost", plugin, command, trips, reads] => f.costs.push((
                    (*plugin).to_owned(),
                    (*command).to_owned(),
                    num(trips)?,
                    num(reads)?,
                )),
                _ => return Err(bad()),
            }
        }
        Ok(f)
    }

    /// The subject's per-cycle statistics over rounds.
    pub fn stats(&self, subject: &str) -> Option<Stats> {
        Stats::of(self.rounds.get(subject)?)
    }

    /// The median over rounds of `subject`'s cycle time divided by
    /// `base`'s in the same round: rounds run every subject close together,
    /// so a ratio within a round is what the emulation's drift spares.
    pub fn ratio(&self, subject: &str, base: &str) -> Option<f64> {
        let a = self.rounds.get(subject)?;
        let b = self.rounds.get(base)?;
        let ratios: Vec<f64> = a.iter().zip(b).map(|(a, b)| a / b).collect();
        Stats::of(&ratios).map(|s| s.median)
    }
}

/// Median and range of a sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The median.
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stats {
    /// `None` for an empty sample.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Stats {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }
}

/// Stripped sizes of the binaries a cycle runs, bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sizes(pub Vec<(String, u64)>);

fn mib(bytes: f64) -> String {
    format!("{:.2} MiB", bytes / (1024.0 * 1024.0))
}

/// The issue's targets, each a sentence and whether it is met.
pub fn targets(f: &Figures, sizes: &Sizes) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut ratio = |subject: &str, base: &str, limit: f64| {
        if let Some(r) = f.ratio(subject, base) {
            out.push((
                format!("{subject} cycle at most {limit}x {base}: {r:.2}x"),
                r <= limit,
            ));
        }
    };
    ratio("sriov", "floor", 1.5);
    ratio("sriov", "host-device", 0.35);
    ratio("bond", "floor", 1.5);
    for plugin in ["sriov", "bond"] {
        if let Some(kib) = f.rss_kib.get(plugin) {
            out.push((
                format!(
                    "peak RSS of one {plugin} process at most 4 MiB: {}",
                    mib(*kib as f64 * 1024.0)
                ),
                *kib <= 4 * 1024,
            ));
        }
        if let Some((_, bytes)) = sizes.0.iter().find(|(n, _)| n == plugin) {
            out.push((
                format!(
                    "stripped {plugin} binary at most 2 MiB: {}",
                    mib(*bytes as f64)
                ),
                *bytes <= 2 << 20,
            ));
        }
    }
    out
}

/// The text report.
pub fn report(f: &Figures, sizes: &Sizes, opts: &BenchOptions) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "ADD+DEL cycles in one lab boot (QEMU TCG): {} rounds of {} cycles per subject; \
         ratios are medians of per-round ratios",
        opts.rounds, opts.cycles
    );
    let _ = writeln!(
        s,
        "{:<11} {:>10} {:>19} {:>9} {:>9} {:>8} {:>9} {:>8}  what",
        "subject",
        "cycle",
        "spread (min-max)",
        "its ADD",
        "start-up",
        "x floor",
        "x fl-up",
        "x h-d"
    );
    for (subject, what) in SUBJECTS {
        let Some(st) = f.stats(subject) else { continue };
        let ratio = |base| {
            f.ratio(subject, base)
                .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"))
        };
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"));
        let add = f
            .adds
            .get(subject)
            .and_then(|a| Stats::of(a))
            .map(|a| a.median);
        let _ = writeln!(
            s,
            "{subject:<11} {:>7.1} ms {:>8.1}-{:<7.1} ms {:>9} {:>9} {:>8} {:>9} {:>8}  {what}",
            st.median,
            st.min,
            st.max,
            ms(add),
            ms(f.startup.get(subject).copied()),
            ratio("floor"),
            ratio("floor-up"),
            ratio("host-device"),
        );
    }
    let _ = writeln!(
        s,
        "(its ADD: the ADD's part of the cycle; start-up: a run that does nothing, VERSION or \
         ip -V, median of 5; x fl-up: x floor-up; x h-d: x host-device)"
    );
    let _ = writeln!(
        s,
        "\npeak RSS of one process (largest of every ADD and DEL):"
    );
    let ip_kib = IP_SUBJECTS
        .iter()
        .filter_map(|subject| f.rss_kib.get(*subject))
        .max();
    if let Some(kib) = ip_kib {
        let _ = writeln!(s, "  {:<12} {}", "ip", mib(*kib as f64 * 1024.0));
    }
    for (subject, _) in SUBJECTS {
        if let (Some(kib), false) = (f.rss_kib.get(subject), IP_SUBJECTS.contains(&subject)) {
            let _ = writeln!(s, "  {subject:<12} {}", mib(*kib as f64 * 1024.0));
        }
    }
    let _ = writeln!(s, "\nstripped binary sizes:");
    for (name, bytes) in &sizes.0 {
        let _ = writeln!(s, "  {name:<12} {}", mib(*bytes as f64));
    }
    let _ = writeln!(
        s,
        "\nround trips per invocation (netlink requests sent, sysfs calls other than writes; \
         counted by the plugin process itself, logged at debug level):"
    );
    for (plugin, command, trips, reads) in &f.costs {
        let _ = writeln!(
            s,
            "  {plugin:<10} {command:<4} {trips:>3} netlink round trips {reads:>4} sysfs reads"
        );
    }
    let _ = writeln!(s, "\ntargets:");
    for (what, met) in targets(f, sizes) {
        let _ = writeln!(s, "  {} {what}", if met { "met   " } else { "MISSED" });
    }
    let _ = writeln!(
        s,
        "\nagainst floors that do the same kernel work (context, not targets):"
    );
    for (subject, base) in [
        ("sriov", "floor-up"),
        ("sriov-move", "floor-up"),
        ("host-device", "floor-up"),
        ("bond", "bond-floor"),
    ] {
        if let Some(r) = f.ratio(subject, base) {
            let _ = writeln!(s, "  {subject} cycle: {r:.2}x {base}");
        }
    }
    let own = |subject: &str| Some(f.stats(subject)?.median - f.stats("floor-up")?.median);
    if let (Some(ours), Some(go)) = (own("sriov"), own("host-device")) {
        let _ = writeln!(
            s,
            "  a cycle beyond floor-up (the plugin's own part): sriov {ours:.1} ms, \
             host-device {go:.1} ms ({:.2}x)",
            ours / go
        );
    }
    s
}

/// The subjects that run only iproute2.
const IP_SUBJECTS: [&str; 3] = ["floor", "floor-up", "bond-floor"];

/// The SVG bar chart of the median cycle times, with each round's range.
pub fn chart(f: &Figures) -> String {
    const ROW: f64 = 44.0;
    const LEFT: f64 = 120.0;
    const BAR_W: f64 = 420.0;
    const TOP: f64 = 40.0;
    let rows: Vec<(&str, Stats)> = SUBJECTS
        .iter()
        .filter_map(|(subject, _)| Some((*subject, f.stats(subject)?)))
        .collect();
    let most = rows.iter().map(|(_, st)| st.max).fold(0.0_f64, f64::max);
    let scale = if most > 0.0 { BAR_W / most } else { 0.0 };
    let height = TOP + ROW * rows.len() as f64 + 30.0;
    let width = LEFT + BAR_W + 170.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="13">"#
    );
    let _ = writeln!(
        s,
        r##"<rect width="100%" height="100%" fill="#ffffff"/><text x="10" y="22" font-size="14" font-weight="bold">ADD+DEL cycle, median over rounds (bar) and range (line), one lab boot</text>"##
    );
    for (i, (subject, st)) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let colour = match *subject {
            "sriov" | "sriov-move" | "bond" => "#2f6fb0",
            "host-device" => "#b0702f",
            _ => "#808080",
        };
        let ratio = f
            .ratio(subject, "floor")
            .map_or_else(String::new, |r| format!(" ({r:.2}x floor)"));
        let _ = writeln!(
            s,
            r#"<text x="{:.0}" y="{:.1}" text-anchor="end">{subject}</text>"#,
            LEFT - 8.0,
            y + 18.0
        );
        let _ = writeln!(
            s,
            r#"<rect x="{LEFT:.0}" y="{y:.1}" width="{:.1}" height="26" fill="{colour}"/>"#,
            st.median * scale
        );
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#000000" stroke-width="2"/>"##,
            LEFT + st.min * scale,
            LEFT + st.max * scale,
            y + 13.0,
            y + 13.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{:.1} ms{ratio}</text>"#,
            LEFT + st.max * scale + 8.0,
            y + 18.0,
            st.median
        );
    }
    let _ = writeln!(
        s,
        r##"<text x="10" y="{:.0}" fill="#555555" font-size="11">blue: netplumb; orange: Go host-device; grey: iproute2. Under emulation only ratios within one boot compare.</text>"##,
        height - 10.0
    );
    s.push_str("</svg>\n");
    s
}

/// Builds the plugins and the runner in release and copies each into
/// `dest` stripped of every symbol; returns the copies.
fn release_binaries(dest: &Path) -> Result<Vec<PathBuf>> {
    fs::create_dir_all(dest).map_err(io_err("create", dest))?;
    let mut copies = Vec::new();
    // One package at a time: built together, cargo would unify their
    // dependencies' features, and the plugins measured would carry the
    // bench's test-support code, unlike the ones users build.
    for package in [PLUGIN_PACKAGE, BENCH_PACKAGE] {
        let mut cmd = Command::new(testbins::cargo());
        cmd.current_dir(workspace_root()).args([
            "build",
            "--release",
            "-p",
            package,
            "--bins",
            "--message-format=json-render-diagnostics",
        ]);
        for bin in testbins::parse_messages(&testbins::cargo_json(&mut cmd)?)?.bins {
            let copy = dest.join(bin.file_name().unwrap_or_default());
            run(Command::new("strip")
                .arg("--strip-all")
                .arg("-o")
                .arg(&copy)
                .arg(&bin))?;
            copies.push(copy);
        }
    }
    Ok(copies)
}

fn size(path: &Path) -> Result<u64> {
    Ok(fs::metadata(path).map_err(io_err("stat", path))?.len())
}

/// `cargo xtask bench`.
pub fn run_bench(bench: &BenchOptions, opts: &Options) -> Result<()> {
    if bench.host {
        let mut cmd = Command::new(testbins::cargo());
        cmd.current_dir(workspace_root()).args([
            "run",
            "--quiet",
            "--release",
            "-p",
            BENCH_PACKAGE,
            "--",
            "host",
        ]);
        let text = capture(&mut cmd)?;
        print!("{text}");
        return write_out(&bench.out, &[("host.txt", text)]);
    }
    let start = Instant::now();
    let mut times = Timings::default();
    // One boot: the first kernel asked for (6.12 unless --kernel says).
    let series = opts.kernels.first().copied().unwrap_or(Series::V6_12);
    let assets = times.time("provision", || provision::ensure(series))?;
    let dir = RunDir::create("netplumb-bench")?;
    let binaries = times.time("build", || release_binaries(&dir.path().join("plugins")))?;
    let mut sizes = Sizes::default();
    for name in ["sriov", "bond"] {
        let path = binaries
            .iter()
            .find(|b| b.file_name().is_some_and(|n| n == name))
            .ok_or_else(|| Error::Failed(format!("bench: the build made no {name}")))?;
        sizes.0.push((name.to_owned(), size(path)?));
    }
    sizes.0.push((
        "host-device".to_owned(),
        size(&assets.cni_dir.join("host-device"))?,
    ));
    sizes.0.push(("ip".to_owned(), size(&assets.ip)?));
    let script = format!(
        "\"$NETPLUMB_LAB_PLUGINS/{BENCH_PACKAGE}\" lab --rounds {} --cycles {} || \
         lab_abort \"the benchmark failed\"\n",
        bench.rounds, bench.cycles
    );
    let mut lines = Vec::new();
    let run_in = ScriptRun {
        label: "bench",
        assets: &assets,
        dir: &dir,
        start,
        times,
    };
    lab::run_built_script(run_in, script, opts, binaries, |line| {
        if line.starts_with("bench ") {
            lines.push(line.to_owned());
        }
    })?;
    let figures = Figures::parse(&lines).map_err(Error::Failed)?;
    let text = report(&figures, &sizes, bench);
    println!("\n{text}");
    write_out(
        &bench.out,
        &[("lab.txt", text), ("cycles.svg", chart(&figures))],
    )
}

/// Writes each (file name, contents) into `dir` and says where.
fn write_out(dir: &Path, files: &[(&str, String)]) -> Result<()> {
    fs::create_dir_all(dir).map_err(io_err("create", dir))?;
    for (name, contents) in files {
        let path = dir.join(name);
        fs::write(&path, contents).map_err(io_err("write", &path))?;
        println!("bench: wrote {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Figures {
        let lines: Vec<String> = [
            "bench cost sriov ADD 9 40",
            "bench cost sriov DEL 7 30",
            "bench round 0 floor 200000000 10",
            "bench round 0 sriov 300000000 10",
            "bench round 0 host-device 1000000000 10",
            "bench round 0 bond 250000000 10",
            "bench round 1 floor 220000000 10",
            "bench round 1 sriov 330000000 10",
            "bench round 1 host-device 1100000000 10",
            "bench round 1 bond 240000000 10",
            "bench round 2 floor 180000000 10",
            "bench round 2 sriov 360000000 10",
            "bench round 2 host-device 900000000 10",
            "bench round 2 bond 270000000 10",
            "bench add 0 sriov 120000000 10",
            "bench startup sriov 9000000",
            "bench rss sriov 2048",
            "bench rss bond 5000",
            "some other console line",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        Figures::parse(&lines).unwrap()
    }

    #[test]
    fn figures_are_read_per_cycle_in_milliseconds() {
        let f = sample();
        let st = f.stats("floor").unwrap();
        assert_eq!((st.min, st.median, st.max), (18.0, 20.0, 22.0));
        assert_eq!(f.rss_kib["bond"], 5000);
        assert_eq!(f.adds["sriov"], [12.0]);
        assert_eq!(f.startup["sriov"], 9.0);
        assert_eq!(f.costs[1], ("sriov".into(), "DEL".into(), 7, 30));
        assert!(Figures::parse(&["bench round x".to_string()]).is_err());
    }

    #[test]
    fn ratios_are_taken_round_by_round() {
        let f = sample();
        // Per round: 1.5, 1.5, 2.0.
        assert_eq!(f.ratio("sriov", "floor"), Some(1.5));
        assert_eq!(Stats::of(&[1.0, 3.0]).unwrap().median, 2.0);
        assert_eq!(Stats::of(&[]), None);
    }

    #[test]
    fn targets_say_which_are_missed() {
        let sizes = Sizes(vec![("sriov".into(), 3 << 20), ("bond".into(), 1 << 20)]);
        let t = targets(&sample(), &sizes);
        let met = |prefix: &str| t.iter().find(|(w, _)| w.starts_with(prefix)).unwrap().1;
        assert!(met("sriov cycle at most 1.5x floor"));
        assert!(met("sriov cycle at most 0.35x host-device"));
        assert!(met("bond cycle at most 1.5x floor"));
        assert!(met("peak RSS of one sriov"));
        assert!(!met("peak RSS of one bond"));
        assert!(!met("stripped sriov"));
        assert!(met("stripped bond"));
    }

    #[test]
    fn the_report_and_chart_show_every_subject() {
        let f = sample();
        let text = report(&f, &Sizes::default(), &BenchOptions::default());
        for subject in f.rounds.keys() {
            assert!(text.contains(subject), "{subject}");
        }
        let svg = chart(&f);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<rect x=").count(), 4);
        assert!(svg.contains("1.50x floor"));
    }
}
