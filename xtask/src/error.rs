//! The one error type of xtask, and small helpers that run host commands and
//! turn their failures into errors that say what was run and what it said.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Everything that can stop a lab run, the demo or CI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The command line was wrong.
    #[error("{0}\n\nrun `cargo xtask help` for usage")]
    Usage(String),
    /// A file or directory operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done, e.g. `create`.
        action: &'static str,
        /// To which file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A host command could not be started or exited unsuccessfully.
    #[error("`{command}` failed: {detail}")]
    Command {
        /// The command as a person would type it.
        command: String,
        /// How it failed, with its stderr when captured.
        detail: String,
    },
    /// Host packages are missing and this process cannot install them.
    #[error("the lab needs host packages that are not installed: {packages}\n{hint}")]
    MissingPackages {
        /// The missing Debian packages.
        packages: String,
        /// The exact commands that install them.
        hint: String,
    },
    /// Something the lab needs could not be found after provisioning.
    #[error("{what}: {detail}")]
    Provision {
        /// The thing that is missing or wrong.
        what: String,
        /// What was expected and where it was looked for.
        detail: String,
    },
    /// A kernel module or its dependencies could not be resolved.
    #[error("kernel module {module}: {detail}")]
    Module {
        /// The module's name.
        module: String,
        /// What went wrong.
        detail: String,
    },
    /// Cargo's build output could not be understood.
    #[error("cargo build output: {0}")]
    CargoOutput(String),
    /// The QEMU guest could not be started or supervised.
    #[error("qemu: {0}")]
    Qemu(String),
    /// A CI stage failed; the stage already printed its own output.
    #[error("stage `{stage}` failed")]
    Stage {
        /// The stage's name, e.g. `clippy`.
        stage: String,
    },
    /// The lab or the demo ran to the end but reported failures.
    #[error("{0}")]
    Failed(String),
}

/// Shorthand for results in xtask.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Wraps an I/O error with what was being done to which path.
pub fn io_err(
    action: &'static str,
    path: impl AsRef<Path>,
) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.as_ref().to_path_buf();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

/// Renders a command the way a person would type it, for messages.
pub fn display(cmd: &Command) -> String {
    let mut out = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&shell_quote(arg));
    }
    out
}

/// Quotes one word for a POSIX shell; plain words stay as they are.
pub fn shell_quote(word: impl AsRef<OsStr>) -> String {
    let word = word.as_ref().to_string_lossy();
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.into_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// Runs a command with inherited stdout and stderr; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().map_err(|e| Error::Command {
        command: display(cmd),
        detail: format!("could not start it: {e}"),
    })?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::Command {
            command: display(cmd),
            detail: format!("exited with {status}"),
        })
    }
}

/// Runs a command and returns its stdout; fails unless it exits 0, quoting stderr.
pub fn capture(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: display(cmd),
            detail: format!(
                "exited with {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

/// Runs a command with captured output, whatever its exit status.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Command {
            command: display(cmd),
            detail: format!("could not start it: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_are_not_quoted() {
        assert_eq!(shell_quote("lab_bond"), "lab_bond");
        assert_eq!(shell_quote("/usr/sbin/ip"), "/usr/sbin/ip");
    }

    #[test]
    fn words_with_shell_meaning_are_single_quoted() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("$(reboot)"), "'$(reboot)'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn display_shows_program_and_quoted_args() {
        let mut cmd = Command::new("ip");
        cmd.args(["link", "set", "a b"]);
        assert_eq!(display(&cmd), "ip link set 'a b'");
    }
}
