//! Building the test binaries the guest runs, and finding them in cargo's
//! JSON messages.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{display, Error, Result};

/// A test executable cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// The executable on the host, e.g. `target/debug/deps/lab_rig-0123abcd`.
    pub path: PathBuf,
    /// Its file name, which is unique and names it in the guest.
    pub name: String,
}

/// Which packages to build tests for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packages {
    /// `--workspace`.
    Workspace,
    /// `-p NAME` for each.
    Only(Vec<String>),
}

/// Runs `cargo test --no-run --message-format=json` in `root` and returns the
/// test executables, in the order cargo reported them. Cargo's own progress
/// and compiler diagnostics go to stderr as usual.
pub fn build(root: &Path, packages: &Packages) -> Result<Vec<TestBinary>> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root).args([
        "test",
        "--no-run",
        "--message-format=json-render-diagnostics",
    ]);
    match packages {
        Packages::Workspace => {
            cmd.arg("--workspace");
        }
        Packages::Only(names) => {
            for name in names {
                cmd.args(["-p", name]);
            }
        }
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let out = cmd.output().map_err(|e| Error::Command {
        command: display(&cmd),
        detail: format!("could not start it: {e}"),
    })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: display(&cmd),
            detail: format!("exited with {} (the build errors are above)", out.status),
        });
    }
    parse_messages(&String::from_utf8_lossy(&out.stdout))
}

/// The cargo to run: the one that runs xtask, so toolchains match.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Picks test executables out of cargo's JSON messages (one per line).
pub fn parse_messages(stdout: &str) -> Result<Vec<TestBinary>> {
    let mut found = Vec::new();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let msg: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::CargoOutput(format!("not JSON ({e}): {line}")))?;
        if msg["reason"] != "compiler-artifact" || msg["profile"]["test"] != true {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let path = PathBuf::from(exe);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::CargoOutput(format!("executable without a file name: {exe}")))?
            .to_string();
        if !found.iter().any(|b: &TestBinary| b.path == path) {
            found.push(TestBinary { path, name });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_test_executables_are_taken() {
        let out = r#"{"reason":"compiler-artifact","profile":{"test":false},"executable":null,"filenames":["/t/libx.rlib"]}
{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/debug/deps/netplumb_vf-0a1b","target":{"kind":["lib"]}}
{"reason":"compiler-artifact","profile":{"test":false},"executable":"/t/debug/xtask","target":{"kind":["bin"]}}
{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/debug/deps/lab_rig-99","target":{"kind":["test"]}}
{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/debug/deps/lab_rig-99","target":{"kind":["test"]}}
{"reason":"build-finished","success":true}
"#;
        let bins = parse_messages(out).unwrap();
        let names: Vec<_> = bins.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["netplumb_vf-0a1b", "lab_rig-99"]);
        assert_eq!(bins[1].path, PathBuf::from("/t/debug/deps/lab_rig-99"));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_messages("{not json").is_err());
        assert!(parse_messages("plain text is ignored\n")
            .unwrap()
            .is_empty());
    }
}
