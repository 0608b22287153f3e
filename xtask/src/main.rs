//! `cargo xtask`: the project's automation.
//!
//! - `lab`: runs every workspace test inside a real kernel with emulated
//!   SR-IOV NICs (see docs/testing.md).
//! - `demo`: boots the lab and narrates a pod getting two VFs and a bond.
//! - `ci`: format, lint, test, fuzz and lab, stage by stage.
//! - `script`: boots the lab and runs a shell script in it.
//! - `bench`: the cost of an attachment, plugins against Go host-device and
//!   iproute2 in one lab boot; or the libraries at scale on the host.
//! - `provision`: installs what the lab needs, and nothing else.
#![allow(
    clippy::print_stdout,
    reason = "a command-line tool: its output is the point"
)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod bench;
mod ci;
mod demo;
mod error;
mod guest;
mod initramfs;
mod lab;
mod modules;
mod provision;
mod qemu;
mod report;
mod testbins;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use error::{Error, Result};
use provision::Series;
use testbins::Packages;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  lab [OPTIONS] [FILTER]... [-- LIBTEST_ARGS...]
        Build the workspace's tests, boot the SR-IOV lab and run every test
        binary in it with --include-ignored --test-threads=1 (plus FILTERs and
        LIBTEST_ARGS). Ends with `lab: N passed, N failed, N skipped`.
  demo [OPTIONS]
        Boot the lab and show a pod getting a VF from each PF, a bond over
        them, traffic, failover and teardown.
  script [OPTIONS] FILE
        Boot the lab and run the busybox shell script FILE in it, after the
        setup the tests get (NETPLUMB_LAB* set; `lab_abort MSG` fails the run).
  bench [OPTIONS] [--rounds R] [--cycles N] [--out DIR]
        Build the plugins in release, boot the lab and time ADD+DEL cycles of
        sriov, bond, Go host-device and iproute2 (the floor): medians, ratios,
        peak RSS, stripped sizes, round trips; writes DIR/lab.txt and
        DIR/cycles.svg (default target/bench; 7 rounds of 10 cycles).
  bench --host [--out DIR]
        Discovery, configurations and the journal at scale, on this machine;
        writes DIR/host.txt.
  ci [--no-lab] [--fuzz-seconds N]
        fmt, clippy, tests, fuzz (with a nightly toolchain) and the lab.
  provision [--kernel SERIES]...
        Install what the lab needs (QEMU 10, busybox, ...) and fetch the
        kernels (default 6.12).
  help  This text.

lab and demo options:
  --kernel SERIES    boot Linux 5.10, 6.1 or 6.12 (default 6.12); repeat it,
                     or give a comma-separated list or `all`, to run on each
                     in turn with one build
  --jobs N           guests at once with several kernels (default 1; each
                     takes about one host core; lab only: demo and script
                     boot one kernel after another, bench boots the first)
  --timeout SECS     time limit for the guest (default 1200)
  --memory MIB       guest memory (default 2048)
  --cpus N           guest CPUs (default 1)
  -p, --package PKG  build and run only this package's tests (repeatable; lab only)
(script and bench take the same options as demo)
";

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cli {
    Lab(LabArgs),
    Demo(LabArgs),
    Script(LabArgs, PathBuf),
    Bench(LabArgs, bench::BenchOptions),
    Ci(ci::Options),
    Provision(Vec<Series>),
    Help,
}

/// The lab options as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct LabArgs {
    timeout_secs: Option<u64>,
    memory_mib: Option<u32>,
    cpus: Option<u32>,
    packages: Vec<String>,
    test_args: Vec<String>,
    kernels: Vec<Series>,
    jobs: Option<usize>,
}

impl LabArgs {
    fn options(&self) -> lab::Options {
        let defaults = lab::Options::default();
        lab::Options {
            timeout: self
                .timeout_secs
                .map_or(defaults.timeout, Duration::from_secs),
            memory_mib: self.memory_mib.unwrap_or(defaults.memory_mib),
            cpus: self.cpus.unwrap_or(defaults.cpus),
            packages: if self.packages.is_empty() {
                Packages::Workspace
            } else {
                Packages::Only(self.packages.clone())
            },
            test_args: self.test_args.clone(),
            kernels: if self.kernels.is_empty() {
                defaults.kernels
            } else {
                self.kernels.clone()
            },
            jobs: self.jobs.unwrap_or(defaults.jobs),
        }
    }
}

fn parse_number<T: std::str::FromStr>(flag: &str, value: Option<String>) -> Result<T> {
    let value = value.ok_or_else(|| Error::Usage(format!("{flag} needs a value")))?;
    value
        .parse()
        .ok()
        .filter(|_| !value.starts_with('-'))
        .ok_or_else(|| {
            Error::Usage(format!(
                "{flag} takes a positive whole number, not `{value}`"
            ))
        })
}

fn positive<T: PartialOrd + Default>(flag: &str, value: T) -> Result<T> {
    if value > T::default() {
        Ok(value)
    } else {
        Err(Error::Usage(format!("{flag} must be greater than 0")))
    }
}

/// Adds the kernels `value` names (`6.1`, `5.10,6.12`, `all`) to `kernels`,
/// each once.
fn parse_kernels(value: Option<String>, kernels: &mut Vec<Series>) -> Result<()> {
    let value = value.ok_or_else(|| Error::Usage("--kernel needs a series".into()))?;
    let named: Vec<Series> = if value == "all" {
        Series::ALL.to_vec()
    } else {
        value
            .split(',')
            .map(|name| {
                Series::parse(name.trim()).ok_or_else(|| {
                    Error::Usage(format!(
                        "--kernel takes 5.10, 6.1, 6.12 or all, not `{name}`"
                    ))
                })
            })
            .collect::<Result<_>>()?
    };
    for series in named {
        if !kernels.contains(&series) {
            kernels.push(series);
        }
    }
    Ok(())
}

fn parse_lab(args: impl IntoIterator<Item = String>, allow_tests: bool) -> Result<LabArgs> {
    let mut out = LabArgs::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--timeout" => {
                out.timeout_secs = Some(positive(&arg, parse_number(&arg, args.next())?)?)
            }
            "--memory" => out.memory_mib = Some(positive(&arg, parse_number(&arg, args.next())?)?),
            "--cpus" => out.cpus = Some(positive(&arg, parse_number(&arg, args.next())?)?),
            "--kernel" => parse_kernels(args.next(), &mut out.kernels)?,
            "--jobs" => out.jobs = Some(positive(&arg, parse_number(&arg, args.next())?)?),
            "-p" | "--package" if allow_tests => out.packages.push(
                args.next()
                    .ok_or_else(|| Error::Usage(format!("{arg} needs a package name")))?,
            ),
            "--" if allow_tests => out.test_args.extend(args.by_ref()),
            other if allow_tests && !other.starts_with('-') => out.test_args.push(arg),
            other => return Err(Error::Usage(format!("unknown option `{other}`"))),
        }
    }
    Ok(out)
}

fn parse_bench(args: impl IntoIterator<Item = String>) -> Result<Cli> {
    let mut bench = bench::BenchOptions::default();
    let mut rest = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => bench.rounds = positive(&arg, parse_number(&arg, args.next())?)?,
            "--cycles" => bench.cycles = positive(&arg, parse_number(&arg, args.next())?)?,
            "--out" => {
                bench.out = args
                    .next()
                    .map(PathBuf::from)
                    .ok_or_else(|| Error::Usage(format!("{arg} needs a directory")))?
            }
            "--host" => bench.host = true,
            _ => rest.push(arg),
        }
    }
    parse_lab(rest, false).map(|lab| Cli::Bench(lab, bench))
}

fn parse_ci(args: impl IntoIterator<Item = String>) -> Result<ci::Options> {
    let mut out = ci::Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-lab" => out.lab = false,
            "--fuzz-seconds" => {
                out.fuzz_seconds = positive(&arg, parse_number(&arg, args.next())?)?
            }
            other => return Err(Error::Usage(format!("unknown option `{other}` for ci"))),
        }
    }
    Ok(out)
}

fn parse(args: impl IntoIterator<Item = String>) -> Result<Cli> {
    let mut args = args.into_iter();
    let Some(command) = args.next() else {
        return Ok(Cli::Help);
    };
    match command.as_str() {
        "lab" => parse_lab(args, true).map(Cli::Lab),
        "demo" => parse_lab(args, false).map(Cli::Demo),
        "script" => {
            let mut args: Vec<String> = args.collect();
            let file = match args.pop() {
                Some(file) if !file.starts_with('-') => PathBuf::from(file),
                _ => {
                    return Err(Error::Usage(
                        "script needs the path of a shell script last".into(),
                    ))
                }
            };
            parse_lab(args, false).map(|lab| Cli::Script(lab, file))
        }
        "bench" => parse_bench(args),
        "ci" => parse_ci(args).map(Cli::Ci),
        "provision" => {
            let mut kernels = Vec::new();
            while let Some(arg) = args.next() {
                match arg.as_str() {
                    "--kernel" => parse_kernels(args.next(), &mut kernels)?,
                    other => {
                        return Err(Error::Usage(format!(
                            "provision takes only --kernel, got `{other}`"
                        )))
                    }
                }
            }
            if kernels.is_empty() {
                kernels.push(Series::V6_12);
            }
            Ok(Cli::Provision(kernels))
        }
        "help" | "-h" | "--help" => Ok(Cli::Help),
        other => Err(Error::Usage(format!(
            "unknown command `{other}`; the commands are lab, demo, script, bench, ci, provision and help"
        ))),
    }
}

fn main() -> ExitCode {
    let result = parse(std::env::args().skip(1)).and_then(|cli| match cli {
        Cli::Lab(args) => lab::run(&args.options()),
        Cli::Demo(args) => demo::run(&args.options()),
        Cli::Script(args, file) => std::fs::read_to_string(&file)
            .map_err(error::io_err("read", &file))
            .and_then(|script| lab::run_script("script", script, &args.options())),
        Cli::Bench(args, opts) => bench::run_bench(&opts, &args.options()),
        Cli::Ci(opts) => ci::run(&opts),
        Cli::Provision(kernels) => kernels.into_iter().try_for_each(|series| {
            provision::ensure(series).map(|assets| {
                eprintln!(
                    "lab: ready: {} and Linux {} ({})",
                    assets.qemu.display(),
                    series,
                    assets.kernel.release
                );
            })
        }),
        Cli::Help => {
            print!("{USAGE}");
            Ok(())
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: {err}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn no_command_is_help() {
        assert_eq!(parse(args("")).unwrap(), Cli::Help);
    }

    #[test]
    fn lab_takes_filters_options_and_libtest_args() {
        let Cli::Lab(lab) = parse(args(
            "lab --timeout 60 lab_bond -p xtask -- --exact --skip x",
        ))
        .unwrap() else {
            panic!("not lab");
        };
        assert_eq!(lab.timeout_secs, Some(60));
        assert_eq!(lab.packages, ["xtask"]);
        assert_eq!(lab.test_args, ["lab_bond", "--exact", "--skip", "x"]);
        let opts = lab.options();
        assert_eq!(opts.timeout, Duration::from_secs(60));
        assert_eq!(opts.packages, Packages::Only(vec!["xtask".into()]));
    }

    #[test]
    fn defaults_apply_when_options_are_absent() {
        let Cli::Lab(lab) = parse(args("lab")).unwrap() else {
            panic!("not lab");
        };
        let opts = lab.options();
        assert_eq!(opts.timeout, Duration::from_secs(1200));
        assert_eq!(opts.packages, Packages::Workspace);
        assert!(opts.test_args.is_empty());
    }

    #[test]
    fn bad_numbers_name_the_flag_and_the_value() {
        let err = parse(args("lab --timeout soon")).unwrap_err().to_string();
        assert!(
            err.contains("--timeout takes a positive whole number, not `soon`"),
            "{err}"
        );
        let err = parse(args("lab --cpus 0")).unwrap_err().to_string();
        assert!(err.contains("--cpus must be greater than 0"), "{err}");
        assert!(parse(args("lab --memory")).is_err());
    }

    #[test]
    fn kernels_are_named_repeated_listed_or_all() {
        let kernels = |line: &str| match parse(args(line)).unwrap() {
            Cli::Lab(lab) => lab.options().kernels,
            other => panic!("not lab: {other:?}"),
        };
        assert_eq!(kernels("lab"), [Series::V6_12]);
        assert_eq!(kernels("lab --kernel 5.10"), [Series::V5_10]);
        assert_eq!(
            kernels("lab --kernel 6.1,5.10 --kernel 6.1"),
            [Series::V6_1, Series::V5_10]
        );
        assert_eq!(kernels("lab --kernel all"), Series::ALL);
        let Cli::Lab(lab) = parse(args("lab --kernel all --jobs 2")).unwrap() else {
            panic!("not lab");
        };
        assert_eq!(lab.options().jobs, 2);
        assert!(parse(args("lab --jobs 0")).is_err());
        let err = parse(args("lab --kernel 4.19")).unwrap_err().to_string();
        assert!(err.contains("5.10, 6.1, 6.12 or all, not `4.19`"), "{err}");
        assert!(parse(args("lab --kernel")).is_err());
        assert_eq!(
            parse(args("provision --kernel 6.1")).unwrap(),
            Cli::Provision(vec![Series::V6_1])
        );
        assert_eq!(
            parse(args("provision")).unwrap(),
            Cli::Provision(vec![Series::V6_12])
        );
    }

    #[test]
    fn demo_takes_no_filters() {
        assert!(parse(args("demo lab_bond")).is_err());
        assert!(parse(args("demo -p xtask")).is_err());
        assert!(matches!(
            parse(args("demo --cpus 2")).unwrap(),
            Cli::Demo(_)
        ));
    }

    #[test]
    fn script_takes_options_then_the_file() {
        assert_eq!(
            parse(args("script --timeout 60 /tmp/x.sh")).unwrap(),
            Cli::Script(
                LabArgs {
                    timeout_secs: Some(60),
                    ..LabArgs::default()
                },
                PathBuf::from("/tmp/x.sh")
            )
        );
        assert!(parse(args("script")).is_err());
        assert!(parse(args("script --timeout 60")).is_err());
    }

    #[test]
    fn bench_takes_its_own_options_and_the_lab_ones() {
        let Cli::Bench(lab, bench) = parse(args(
            "bench --rounds 3 --cycles 5 --out /tmp/b --timeout 600",
        ))
        .unwrap() else {
            panic!("not bench");
        };
        assert_eq!((bench.rounds, bench.cycles), (3, 5));
        assert_eq!(bench.out, PathBuf::from("/tmp/b"));
        assert!(!bench.host);
        assert_eq!(lab.timeout_secs, Some(600));
        let Cli::Bench(_, bench) = parse(args("bench --host")).unwrap() else {
            panic!("not bench");
        };
        assert!(bench.host);
        assert!(parse(args("bench lab_sriov")).is_err());
        assert!(parse(args("bench --rounds 0")).is_err());
    }

    #[test]
    fn ci_options_parse() {
        let Cli::Ci(opts) = parse(args("ci --no-lab --fuzz-seconds 5")).unwrap() else {
            panic!("not ci");
        };
        assert!(!opts.lab);
        assert_eq!(opts.fuzz_seconds, 5);
        assert!(parse(args("ci --fast")).is_err());
    }

    #[test]
    fn unknown_commands_are_rejected_with_the_list() {
        let err = parse(args("deploy")).unwrap_err().to_string();
        assert!(err.contains("the commands are lab, demo, script, bench, ci, provision and help"));
    }
}
