//! `cargo xtask ci`: every check, stage by stage, stopping at the first failure.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::error::{output, run as run_cmd, Error, Result};
use crate::lab;
use crate::provision::Series;
use crate::testbins::cargo;

/// Which stages to run and how long to fuzz.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Run the lab stage.
    pub lab: bool,
    /// Seconds each fuzz target runs.
    pub fuzz_seconds: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            lab: true,
            fuzz_seconds: 20,
        }
    }
}

/// A stage's work; its output goes straight to the terminal.
type Stage<'a> = Box<dyn Fn() -> Result<()> + 'a>;

/// Runs the stages in order and prints each one's wall time at the end.
pub fn run(opts: &Options) -> Result<()> {
    let root = lab::workspace_root();
    let mut stages: Vec<(&str, Stage<'_>)> = vec![
        (
            "fmt: cargo fmt --all --check",
            Box::new(|| run_cmd(stable(&root).args(["fmt", "--all", "--check"]))),
        ),
        (
            "clippy: cargo clippy --workspace --all-targets -- -D warnings",
            Box::new(|| {
                run_cmd(stable(&root).args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]))
            }),
        ),
        (
            "test: cargo test --workspace",
            Box::new(|| run_cmd(stable(&root).args(["test", "--workspace"]))),
        ),
        (
            "fuzz: cargo +nightly fuzz",
            Box::new(|| fuzz(&root, opts.fuzz_seconds)),
        ),
    ];
    if opts.lab {
        stages.push((
            "lab: cargo xtask lab --kernel all --jobs 2",
            Box::new(|| {
                lab::run(&lab::Options {
                    kernels: Series::ALL.to_vec(),
                    // Two guests at once: one per core of a two-core machine.
                    jobs: 2,
                    ..lab::Options::default()
                })
            }),
        ));
    }

    let count = stages.len();
    let mut times: Vec<(&str, Duration)> = Vec::new();
    let started = Instant::now();
    for (i, (title, stage)) in stages.iter().enumerate() {
        let name = title.split(':').next().unwrap_or(title);
        println!("\n==> ci [{}/{count}] {title}", i + 1);
        let start = Instant::now();
        let result = stage();
        let took = start.elapsed();
        times.push((name, took));
        match result {
            Ok(()) => println!(
                "<== ci [{}/{count}] {name} passed in {:.1} s",
                i + 1,
                took.as_secs_f64()
            ),
            Err(err) => {
                println!(
                    "<== ci [{}/{count}] {name} FAILED after {:.1} s: {err}",
                    i + 1,
                    took.as_secs_f64()
                );
                print_times(&times, started.elapsed());
                return Err(Error::Stage { stage: name.into() });
            }
        }
    }
    print_times(&times, started.elapsed());
    Ok(())
}

fn print_times(times: &[(&str, Duration)], total: Duration) {
    let parts: Vec<String> = times
        .iter()
        .map(|(name, d)| format!("{name} {:.1} s", d.as_secs_f64()))
        .collect();
    println!(
        "ci: stage times: {} (total {:.1} s)",
        parts.join(", "),
        total.as_secs_f64()
    );
}

/// The cargo that runs xtask, in the workspace root.
fn stable(root: &Path) -> Command {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root);
    cmd
}

/// `cargo +nightly ...` through rustup, whatever toolchain runs xtask.
fn nightly(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root)
        .arg("+nightly")
        .env_remove("RUSTUP_TOOLCHAIN");
    cmd
}

fn fuzz(root: &Path, seconds: u64) -> Result<()> {
    if !root.join("fuzz").join("Cargo.toml").exists() {
        println!("ci: fuzz: skipped: there is no fuzz/Cargo.toml yet");
        return Ok(());
    }
    let has_nightly = output(nightly(root).arg("--version")).is_ok_and(|o| o.status.success());
    if !has_nightly {
        println!("ci: fuzz: skipped: `cargo +nightly` does not work here (cargo-fuzz needs a nightly toolchain)");
        return Ok(());
    }
    let has_cargo_fuzz =
        output(nightly(root).args(["fuzz", "--version"])).is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        println!("ci: fuzz: installing cargo-fuzz");
        run_cmd(stable(root).args(["install", "cargo-fuzz", "--locked"]))?;
    }
    run_cmd(nightly(root).args(["fuzz", "build"]))?;
    let list = output(nightly(root).args(["fuzz", "list"]))?;
    if !list.status.success() {
        return Err(Error::Command {
            command: "cargo +nightly fuzz list".into(),
            detail: String::from_utf8_lossy(&list.stderr).trim().to_string(),
        });
    }
    let targets = parse_fuzz_list(&String::from_utf8_lossy(&list.stdout));
    if targets.is_empty() {
        println!("ci: fuzz: no targets listed");
    }
    for target in targets {
        println!("ci: fuzz: {target} for {seconds} s");
        run_cmd(nightly(root).args([
            "fuzz",
            "run",
            &target,
            "--",
            &format!("-max_total_time={seconds}"),
        ]))?;
    }
    Ok(())
}

/// Target names from `cargo fuzz list`, one a line.
pub fn parse_fuzz_list(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.contains(char::is_whitespace))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fuzz_list_is_one_target_per_line() {
        assert_eq!(
            parse_fuzz_list("cni_config\nresult_json\n\n"),
            ["cni_config", "result_json"]
        );
        assert!(parse_fuzz_list("").is_empty());
    }
}
