//! `netplumb`: what a person operating a node needs around the plugins.
//! A thin binary over the crates: `netplumb_vf` for the hardware, the
//! plugins' attachment journal (`netplumb_plugin::journal`) and the VF
//! claims for who holds what. The libraries never print; this does.

#![forbid(unsafe_code)]

mod args;
mod attachments;
mod enable;
mod list;
mod show;
mod table;

use std::io::Write;
use std::process::ExitCode;

use args::{Command, Global, Usage};

/// Exit statuses, as `--help` lists them.
pub(crate) mod status {
    /// Done.
    pub const OK: u8 = 0;
    /// It failed: what and why is on stderr.
    pub const FAILED: u8 = 1;
    /// The command line is wrong.
    pub const USAGE: u8 = 2;
    /// Refused to change something that is in use (VFs held by pods).
    pub const IN_USE: u8 = 3;
}

/// How a command ends when it does not succeed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// It failed (status 1), for this reason.
    Failed(String),
    /// It refused because of what is in use (status 3).
    InUse(String),
}

impl Failure {
    pub(crate) fn failed(message: impl Into<String>) -> Failure {
        Failure::Failed(message.into())
    }
}

/// Writes `text` to stdout; a closed stdout (`netplumb list | head`) is
/// not an error worth a message.
pub(crate) fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::failed(format!("writing to stdout: {e}"))),
    }
}

/// A warning: something was left out, and the command goes on.
pub(crate) fn warn(message: &str) {
    eprintln!("netplumb: warning: {message}");
}

fn run(global: &Global, command: Command) -> Result<(), Failure> {
    match command {
        Command::List(opts) => list::run(global, &opts),
        Command::Enable(opts) => enable::run(global, &opts),
        Command::Show(opts) => show::run(global, &opts),
        Command::GcDryRun => show::gc_dry_run(global),
    }
}

fn main() -> ExitCode {
    let (global, command) = match args::parse(std::env::args().skip(1)) {
        Ok(parsed) => parsed,
        Err(Usage::Help(text)) => {
            return match out(text) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(status::FAILED),
            }
        }
        Err(Usage::Wrong { message, help }) => {
            eprintln!("netplumb: {message}\n\n{help}");
            return ExitCode::from(status::USAGE);
        }
    };
    match run(&global, command) {
        Ok(()) => ExitCode::from(status::OK),
        Err(Failure::Failed(message)) => {
            eprintln!("netplumb: {message}");
            ExitCode::from(status::FAILED)
        }
        Err(Failure::InUse(message)) => {
            eprintln!("netplumb: {message}");
            ExitCode::from(status::IN_USE)
        }
    }
}
