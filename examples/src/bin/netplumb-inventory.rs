//! `netplumb-inventory`: prints this machine's SR-IOV inventory as JSON.
//!
//! The output is shaped like the `status` of the SR-IOV network operator's
//! `SriovNetworkNodeState`: `{"interfaces": [...]}`, each SR-IOV interface
//! with its `Vfs`. A device (or VF) that cannot be read is left out and its
//! error goes to stderr, one line each; the exit status is still 0. It is 1
//! when nothing could be read at all (the device list, or every network
//! device found) or the output cannot be written, and 2 for bad usage.

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use netplumb_vf::Sysfs;

const USAGE: &str = "\
usage: netplumb-inventory [--sysfs ROOT] [--pretty]

Prints every network PCI function that is not a VF, and the VFs of each
SR-IOV physical function, as JSON on stdout. Devices that cannot be read
are left out and named on stderr.

options:
  --sysfs ROOT  read the sysfs tree at ROOT instead of /sys
  --pretty      indent the JSON
  -h, --help    show this help
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Command {
    Inventory {
        sysfs: Option<PathBuf>,
        pretty: bool,
    },
    Help,
}

/// Parses the arguments after the program name.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut sysfs = None;
    let mut pretty = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--pretty" => pretty = true,
            "--sysfs" => {
                let root = args
                    .next()
                    .ok_or("--sysfs needs a directory, like --sysfs /sys")?;
                sysfs = Some(PathBuf::from(root));
            }
            other => match other.strip_prefix("--sysfs=") {
                Some(root) if !root.is_empty() => sysfs = Some(PathBuf::from(root)),
                _ => return Err(format!("unknown argument {other:?}")),
            },
        }
    }
    Ok(Command::Inventory { sysfs, pretty })
}

/// Prints the inventory; the errors of devices left out of it are handed
/// back for stderr, after the JSON is out.
fn run(sysfs: Option<PathBuf>, pretty: bool) -> Result<Vec<String>, String> {
    let sysfs = sysfs.map(Sysfs::new).unwrap_or_default();
    let inventory = sysfs.inventory().map_err(|e| e.to_string())?;
    let errors: Vec<String> = inventory.errors.iter().map(|e| e.to_string()).collect();
    if inventory.interfaces.is_empty() && !errors.is_empty() {
        return Err(format!(
            "no network device could be read:\n  {}",
            errors.join("\n  ")
        ));
    }
    let json = if pretty {
        serde_json::to_string_pretty(&inventory)
    } else {
        serde_json::to_string(&inventory)
    }
    .map_err(|e| format!("serializing the inventory: {e}"))?;
    write_stdout(&format!("{json}\n"))?;
    Ok(errors)
}

fn write_stdout(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| format!("writing to stdout: {e}"))
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(Command::Help) => match write_stdout(USAGE) {
            Ok(()) => ExitCode::SUCCESS,
            Err(message) => {
                eprintln!("netplumb-inventory: {message}");
                ExitCode::from(1)
            }
        },
        Ok(Command::Inventory { sysfs, pretty }) => match run(sysfs, pretty) {
            Ok(left_out) => {
                for message in left_out {
                    eprintln!("netplumb-inventory: left out: {message}");
                }
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("netplumb-inventory: {message}");
                ExitCode::from(1)
            }
        },
        Err(message) => {
            eprintln!("netplumb-inventory: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_options() {
        assert_eq!(
            parse(&[]),
            Ok(Command::Inventory {
                sysfs: None,
                pretty: false
            })
        );
        let expected = Command::Inventory {
            sysfs: Some(PathBuf::from("/tmp/s")),
            pretty: true,
        };
        assert_eq!(parse(&["--sysfs", "/tmp/s", "--pretty"]), Ok(expected));
        assert_eq!(
            parse(&["--sysfs=/tmp/s"]),
            Ok(Command::Inventory {
                sysfs: Some(PathBuf::from("/tmp/s")),
                pretty: false
            })
        );
        assert_eq!(parse(&["--pretty", "-h"]), Ok(Command::Help));
    }

    #[test]
    fn refuses_bad_arguments() {
        assert!(parse(&["--sysfs"])
            .unwrap_err()
            .contains("--sysfs needs a directory"));
        assert!(parse(&["--sysfs="])
            .unwrap_err()
            .contains("unknown argument"));
        assert!(parse(&["--verbose"]).unwrap_err().contains("\"--verbose\""));
    }
}
