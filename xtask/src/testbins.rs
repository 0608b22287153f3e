//! Building the test binaries the guest runs, and finding them in cargo's
//! JSON messages.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{display, io_err, Error, Result};
use crate::initramfs::strip_debug;

/// A test executable cargo built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestBinary {
    /// The executable on the host, e.g. `target/debug/deps/lab_rig-0123abcd`.
    pub path: PathBuf,
    /// Its file name, which is unique and names it in the guest.
    pub name: String,
    /// Its package's directory: `cargo test` runs it there.
    pub package_dir: PathBuf,
}

/// What a test build produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Build {
    /// Test executables, in the order cargo reported them.
    pub tests: Vec<TestBinary>,
    /// The packages' own binaries, which integration tests run through
    /// `CARGO_BIN_EXE_<name>` (an absolute path on the host).
    pub bins: Vec<PathBuf>,
    /// The packages' examples, which lab tests run as a person would.
    pub examples: Vec<PathBuf>,
    /// Every binary of [`PLUGIN_PACKAGE`] as `cargo build` makes them, in
    /// copies without debug information.
    pub plugins: Vec<PathBuf>,
}

/// The package whose binaries are the CNI plugins (and tools) the guest gets
/// in one directory, whichever packages' tests run.
pub const PLUGIN_PACKAGE: &str = "netplumb-examples";

/// Which packages to build tests for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packages {
    /// `--workspace`.
    Workspace,
    /// `-p NAME` for each.
    Only(Vec<String>),
}

/// Builds [`plugins`] into `plugin_dir`, then runs `cargo test --no-run
/// --message-format=json` in `root` and returns the test executables and the
/// binaries they may run. Cargo's own progress and compiler diagnostics go to
/// stderr as usual.
pub fn build(root: &Path, packages: &Packages, plugin_dir: &Path) -> Result<Build> {
    // Plugins first: the test build then puts its own builds of the same
    // binaries back where integration tests run them.
    let plugins = plugins(root, plugin_dir)?;
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
    let mut build = parse_messages(&cargo_json(&mut cmd)?)?;
    build.plugins = plugins;
    Ok(build)
}

/// Builds every binary of [`PLUGIN_PACKAGE`] with `cargo build` and copies
/// each into `dest` without debug information, returning the copies. A test
/// build makes the same binaries with its dev-dependencies' features, and
/// only for a package with integration tests, at the same paths
/// (`target/debug/<name>`): the copies keep the two apart.
pub fn plugins(root: &Path, dest: &Path) -> Result<Vec<PathBuf>> {
    let mut cmd = Command::new(cargo());
    cmd.current_dir(root).args([
        "build",
        "-p",
        PLUGIN_PACKAGE,
        "--bins",
        "--message-format=json-render-diagnostics",
    ]);
    let built = parse_messages(&cargo_json(&mut cmd)?)?.bins;
    fs::create_dir_all(dest).map_err(io_err("create", dest))?;
    built
        .iter()
        .map(|bin| {
            let copy = dest.join(bin.file_name().unwrap_or_default());
            strip_debug(bin, &copy)?;
            Ok(copy)
        })
        .collect()
}

/// Runs a cargo command whose stdout is JSON messages and returns them.
pub fn cargo_json(cmd: &mut Command) -> Result<String> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let out = cmd.output().map_err(|e| Error::Command {
        command: display(cmd),
        detail: format!("could not start it: {e}"),
    })?;
    if !out.status.success() {
        return Err(Error::Command {
            command: display(cmd),
            detail: format!("exited with {} (the build errors are above)", out.status),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The cargo to run: the one that runs xtask, so toolchains match.
pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// Picks test executables and binaries out of cargo's JSON messages (one per line).
pub fn parse_messages(stdout: &str) -> Result<Build> {
    let mut found = Build::default();
    for line in stdout.lines().filter(|l| l.starts_with('{')) {
        let msg: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| Error::CargoOutput(format!("not JSON ({e}): {line}")))?;
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let Some(exe) = msg["executable"].as_str() else {
            continue;
        };
        let path = PathBuf::from(exe);
        if msg["profile"]["test"] != true {
            let kind_is = |kind: &str| {
                msg["target"]["kind"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k == kind))
            };
            if kind_is("bin") && !found.bins.contains(&path) {
                found.bins.push(path);
            } else if kind_is("example") && !found.examples.contains(&path) {
                found.examples.push(path);
            }
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::CargoOutput(format!("executable without a file name: {exe}")))?
            .to_string();
        let package_dir = msg["manifest_path"]
            .as_str()
            .and_then(|m| Path::new(m).parent())
            .ok_or_else(|| Error::CargoOutput(format!("no manifest_path for {exe}")))?
            .to_path_buf();
        if !found.tests.iter().any(|b| b.path == path) {
            found.tests.push(TestBinary {
                path,
                name,
                package_dir,
            });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_executables_and_bins_are_taken_apart() {
        let out = r#"{"reason":"compiler-artifact","profile":{"test":false},"executable":null,"filenames":["/t/libx.rlib"],"manifest_path":"/w/vf/Cargo.toml","target":{"kind":["lib"]}}
{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/debug/deps/netplumb_vf-0a1b","manifest_path":"/w/vf/Cargo.toml","target":{"kind":["lib"]}}
{"reason":"compiler-artifact","profile":{"test":false},"executable":"/t/debug/xtask","manifest_path":"/w/xtask/Cargo.toml","target":{"kind":["bin"]}}
{"reason":"compiler-artifact","profile":{"test":false},"executable":"/t/debug/examples/walk","manifest_path":"/w/vf/Cargo.toml","target":{"kind":["example"]}}
{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/debug/deps/lab_rig-99","manifest_path":"/w/xtask/Cargo.toml","target":{"kind":["test"]}}
{"reason":"compiler-artifact","profile":{"test":true},"executable":"/t/debug/deps/lab_rig-99","manifest_path":"/w/xtask/Cargo.toml","target":{"kind":["test"]}}
{"reason":"build-finished","success":true}
"#;
        let build = parse_messages(out).unwrap();
        let names: Vec<_> = build.tests.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["netplumb_vf-0a1b", "lab_rig-99"]);
        assert_eq!(
            build.tests[1].path,
            PathBuf::from("/t/debug/deps/lab_rig-99")
        );
        assert_eq!(build.tests[1].package_dir, PathBuf::from("/w/xtask"));
        assert_eq!(build.bins, [PathBuf::from("/t/debug/xtask")]);
        assert_eq!(build.examples, [PathBuf::from("/t/debug/examples/walk")]);
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse_messages("{not json").is_err());
        assert_eq!(
            parse_messages("plain text is ignored\n").unwrap(),
            Build::default()
        );
    }
}
