//! `netplumb-bench`: the figures behind `cargo xtask bench`.
//!
//! - `netplumb-bench lab [--rounds R] [--cycles N]` runs in the lab guest:
//!   ADD+DEL cycles of the `sriov` and `bond` plugins, Debian's Go
//!   `host-device` and iproute2 (the floor), their peak RSS and the
//!   plugins' round trips, as lines for `cargo xtask bench` to read.
//! - `netplumb-bench host` runs anywhere: discovery over fake sysfs trees,
//!   configurations and results, the journal, and how each grows.
//!
//! Benchmarks print; they never judge. A run fails only when something it
//! runs fails.
#![allow(clippy::print_stdout, reason = "a benchmark: its output is the point")]
#![deny(clippy::undocumented_unsafe_blocks)]

mod host;
mod lab;

use std::process::ExitCode;

const USAGE: &str = "usage: netplumb-bench lab [--rounds R] [--cycles N] | host";

fn number(flag: &str, value: Option<String>) -> Result<u32, String> {
    value
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag} takes a whole number above 0"))
}

fn parse_plan(args: impl Iterator<Item = String>) -> Result<lab::Plan, String> {
    let mut plan = lab::Plan {
        rounds: 7,
        cycles: 10,
    };
    let mut args = args;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => plan.rounds = number(&arg, args.next())?,
            "--cycles" => plan.cycles = number(&arg, args.next())?,
            other => return Err(format!("unknown option `{other}`; {USAGE}")),
        }
    }
    Ok(plan)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let outcome = match args.next().as_deref() {
        Some("lab") => parse_plan(args).and_then(lab::run_plan),
        Some("host") => match args.next() {
            None => host::run(
                &std::env::temp_dir().join(format!("netplumb-bench.{}", std::process::id())),
            ),
            Some(extra) => Err(format!("host takes no arguments, got `{extra}`")),
        },
        _ => Err(USAGE.to_owned()),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("netplumb-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
