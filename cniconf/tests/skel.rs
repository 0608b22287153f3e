//! The plugin skeleton, and IPAM delegation to a small test-only plugin
//! script.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use std::time::{Duration, Instant};

use netplumb_cniconf::skel::{self, Limits, Plugin, Request};
use netplumb_cniconf::{
    codes, CniResult, CniVersion, Command, Env, ErrorReply, Interface, IpConfig,
};
use serde_json::{json, Value};

/// A plugin that records what it was asked and answers from its fields.
#[derive(Default)]
struct Recorder {
    calls: Vec<Command>,
    fail_with: Option<ErrorReply>,
}

impl Recorder {
    fn answer(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        self.calls.push(req.env.command);
        self.fail_with.clone().map_or(Ok(()), Err)
    }
}

impl Plugin for Recorder {
    fn add(&mut self, req: &Request<'_>) -> Result<CniResult, ErrorReply> {
        self.answer(req)?;
        let mut r = CniResult::new(CniVersion::V1_1_0);
        r.interfaces.push(Interface {
            name: "net1".into(),
            mtu: Some(1500),
            ..Interface::default()
        });
        r.ips.push(IpConfig {
            address: "192.0.2.5/24".parse().unwrap(),
            gateway: None,
            interface: Some(0),
        });
        Ok(r)
    }
    fn del(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        self.answer(req)
    }
    fn check(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        self.answer(req)
    }
    fn status(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        self.answer(req)
    }
    fn gc(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        self.answer(req)
    }
}

fn vars(command: &str) -> Vec<(&'static str, String)> {
    vec![
        ("CNI_COMMAND", command.to_string()),
        ("CNI_CONTAINERID", "c1".into()),
        ("CNI_NETNS", "/run/netns/p".into()),
        ("CNI_IFNAME", "net1".into()),
        ("CNI_PATH", "/nonexistent".into()),
    ]
}

fn conf(version: &str) -> Vec<u8> {
    json!({"cniVersion": version, "name": "n", "type": "sriov"})
        .to_string()
        .into_bytes()
}

fn stdout_json(out: &skel::Outcome) -> Value {
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn version_needs_no_config() {
    let out = skel::run([("CNI_COMMAND", "VERSION")], b"", &mut Recorder::default());
    assert_eq!(out.exit_code, 0);
    assert_eq!(
        stdout_json(&out)["supportedVersions"],
        json!(["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"])
    );
}

#[test]
fn version_echoes_the_stated_version_when_known() {
    let version = |stdin: &[u8]| {
        let out = skel::run(
            [("CNI_COMMAND", "VERSION")],
            stdin,
            &mut Recorder::default(),
        );
        assert_eq!(out.exit_code, 0);
        stdout_json(&out)["cniVersion"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(version(br#"{"cniVersion": "0.4.0"}"#), "0.4.0");
    assert_eq!(version(&conf("1.0.0")), "1.0.0");
    assert_eq!(version(br#"{"cniVersion": "0.2.0"}"#), "1.1.0");
    assert_eq!(version(b""), "1.1.0");
}

#[test]
fn add_prints_the_result_in_the_configs_version() {
    let mut plugin = Recorder::default();
    let out = skel::run(vars("ADD"), &conf("0.4.0"), &mut plugin);
    assert_eq!(out.exit_code, 0);
    let v = stdout_json(&out);
    assert_eq!(v["cniVersion"], "0.4.0");
    assert_eq!(v["ips"][0]["version"], "4");
    assert!(v["interfaces"][0].get("mtu").is_none());
    assert_eq!(plugin.calls, [Command::Add]);
}

#[test]
fn del_and_check_print_nothing() {
    for command in ["DEL", "CHECK"] {
        let out = skel::run(vars(command), &conf("1.0.0"), &mut Recorder::default());
        assert_eq!(
            out,
            skel::Outcome {
                stdout: Vec::new(),
                exit_code: 0
            }
        );
    }
}

#[test]
fn handler_errors_are_written_in_the_configs_version() {
    let mut plugin = Recorder {
        fail_with: Some(ErrorReply::new(104, "VF 0000:03:02.0 is busy")),
        ..Recorder::default()
    };
    let out = skel::run(vars("ADD"), &conf("0.3.1"), &mut plugin);
    assert_eq!(out.exit_code, 1);
    assert_eq!(
        stdout_json(&out),
        json!({"cniVersion": "0.3.1", "code": 104, "msg": "VF 0000:03:02.0 is busy"})
    );
}

#[test]
fn check_needs_0_4_0_and_gc_needs_1_1_0() {
    let mut plugin = Recorder::default();
    let out = skel::run(vars("CHECK"), &conf("0.3.1"), &mut plugin);
    assert_eq!(out.exit_code, 1);
    let v = stdout_json(&out);
    assert_eq!(v["code"], codes::INCOMPATIBLE_VERSION);
    assert_eq!(
        v["msg"],
        "cniVersion: \"0.3.1\" is not supported, expected 0.4.0 or later for CHECK"
    );
    let gc = [("CNI_COMMAND", "GC"), ("CNI_PATH", "/opt/cni/bin")];
    let out = skel::run(gc, &conf("1.0.0"), &mut plugin);
    assert_eq!(out.exit_code, 1);
    assert_eq!(
        stdout_json(&out),
        json!({"cniVersion": "1.0.0", "code": codes::INCOMPATIBLE_VERSION,
               "msg": "cniVersion: \"1.0.0\" is not supported, expected 1.1.0 or later for GC"})
    );
    assert_eq!(skel::run(gc, &conf("1.1.0"), &mut plugin).exit_code, 0);
    assert_eq!(
        skel::run([("CNI_COMMAND", "STATUS")], &conf("1.1.0"), &mut plugin).exit_code,
        0
    );
    assert_eq!(plugin.calls, [Command::Gc, Command::Status]);
}

#[test]
fn env_and_config_errors_use_the_stated_version() {
    let mut plugin = Recorder::default();
    let out = skel::run([("CNI_COMMAND", "ADD")], &conf("1.0.0"), &mut plugin);
    let v = stdout_json(&out);
    assert_eq!(
        (v["cniVersion"].as_str(), v["code"].as_u64()),
        (Some("1.0.0"), Some(4))
    );
    assert_eq!(v["msg"], "CNI_CONTAINERID is not set; ADD needs it");

    let out = skel::run(
        vars("ADD"),
        br#"{"cniVersion": "0.4.0", "type": "sriov"}"#,
        &mut plugin,
    );
    let v = stdout_json(&out);
    assert_eq!(
        (v["cniVersion"].as_str(), v["code"].as_u64()),
        (Some("0.4.0"), Some(7))
    );

    let out = skel::run(vars("ADD"), b"not json", &mut plugin);
    let v = stdout_json(&out);
    assert_eq!(
        (v["cniVersion"].as_str(), v["code"].as_u64()),
        (Some("1.1.0"), Some(6))
    );

    // A version this crate does not know: the reply is in the newest.
    let out = skel::run(vars("ADD"), &conf("0.2.0"), &mut plugin);
    let v = stdout_json(&out);
    assert_eq!(
        (v["cniVersion"].as_str(), v["code"].as_u64()),
        (Some("1.1.0"), Some(1))
    );
    assert!(plugin.calls.is_empty());
}

#[test]
fn errors_for_a_config_without_a_version_are_in_0_3_0_like_its_results() {
    let unversioned = br#"{"name": "n", "type": "sriov"}"#;
    let mut plugin = Recorder {
        fail_with: Some(ErrorReply::new(104, "busy")),
        ..Recorder::default()
    };
    // The environment fails before the configuration is read ...
    let out = skel::run([("CNI_COMMAND", "ADD")], unversioned, &mut plugin);
    assert_eq!(stdout_json(&out)["cniVersion"], "0.3.0");
    // ... and the handler after: the same version either way.
    let out = skel::run(vars("ADD"), unversioned, &mut plugin);
    assert_eq!(stdout_json(&out)["cniVersion"], "0.3.0");
    assert_eq!(stdout_json(&out)["code"], 104);
}

/// A plugin with only the required handlers.
struct AddAndDelOnly;

impl Plugin for AddAndDelOnly {
    fn add(&mut self, _req: &Request<'_>) -> Result<CniResult, ErrorReply> {
        Ok(CniResult::new(CniVersion::V1_1_0))
    }
    fn del(&mut self, _req: &Request<'_>) -> Result<(), ErrorReply> {
        Ok(())
    }
}

#[test]
fn default_check_refuses_and_default_status_and_gc_succeed() {
    let out = skel::run(vars("CHECK"), &conf("1.1.0"), &mut AddAndDelOnly);
    assert_eq!(out.exit_code, 1);
    assert_eq!(
        stdout_json(&out),
        json!({"cniVersion": "1.1.0", "code": codes::INCOMPATIBLE_VERSION,
               "msg": "CHECK is not supported by the sriov plugin"})
    );
    for command in ["STATUS", "GC"] {
        let out = skel::run(vars(command), &conf("1.1.0"), &mut AddAndDelOnly);
        assert_eq!((out.exit_code, out.stdout), (0, Vec::new()), "{command}");
    }
}

#[test]
fn delegate_names_the_field_that_named_the_plugin() {
    let env = Env::from_vars(vars("ADD")).unwrap();
    let err = skel::delegate(
        "../flannel",
        "delegate.type",
        &env,
        &conf("1.0.0"),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
    assert!(
        err.to_string()
            .starts_with("delegate.type: \"../flannel\" is not a file name"),
        "{err}"
    );
}

#[test]
fn third_party_types_of_the_api_are_reexported() {
    let address: netplumb_cniconf::ipnetwork::IpNetwork = "192.0.2.5/24".parse().unwrap();
    let ip = IpConfig {
        address,
        gateway: None,
        interface: None,
    };
    let extra: netplumb_cniconf::serde_json::Map<String, Value> =
        netplumb_cniconf::NetConf::from_slice(br#"{"name": "n", "type": "t", "x": 1}"#)
            .unwrap()
            .extra;
    assert_eq!((ip.address.prefix(), extra["x"].clone()), (24, json!(1)));
}

/// A directory that removes itself.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("netplumb-cniconf-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A stand-in IPAM plugin: records its stdin and CNI_* environment, answers
/// ADD with a 0.4.0 result (or, as its config's `result` asks, one without
/// a version or one in an unknown version), DEL with nothing, and CHECK
/// with error 11.
const FAKE_IPAM: &str = r#"#!/bin/sh
dir=$(dirname "$0")
cat > "$dir/stdin.$CNI_COMMAND"
env | grep '^CNI_' | sort > "$dir/env.$CNI_COMMAND"
case "$CNI_COMMAND" in
ADD) if grep -q '"result":"unversioned"' "$dir/stdin.ADD"; then
       printf '{"ips":[{"address":"192.0.2.8/24"}]}'
     elif grep -q '"result":"future"' "$dir/stdin.ADD"; then
       printf '{"cniVersion":"9.9.9"}'
     elif grep -q '"result":"slow"' "$dir/stdin.ADD"; then
       sleep 30
     elif grep -q '"result":"endless"' "$dir/stdin.ADD"; then
       yes
     elif grep -q '"result":"orphan"' "$dir/stdin.ADD"; then
       sleep 30 &
       echo $! > "$dir/orphan"
       printf '{"cniVersion":"0.4.0","ips":[{"address":"192.0.2.9/24"}]}'
     else
       printf '{"cniVersion":"0.4.0","ips":[{"version":"4","address":"192.0.2.7/24","gateway":"192.0.2.1"}],"routes":[{"dst":"0.0.0.0/0"}]}'
     fi ;;
CHECK) printf '{"cniVersion":"0.4.0","code":11,"msg":"pool locked","details":"retry"}'; exit 1 ;;
GC) echo 'not json'; exit 3 ;;
esac
"#;

fn install(dir: &Path, name: &str, script: &str) {
    let path = dir.join(name);
    std::fs::write(&path, script).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

// One test runs every delegation scenario: writing an executable while
// another test thread forks can make exec fail with ETXTBSY.
#[test]
fn ipam_is_delegated_through_cni_path() {
    let bin = TempDir::new("ipam");
    install(&bin.0, "fake-ipam", FAKE_IPAM);
    let stdin = json!({"cniVersion": "1.0.0", "name": "n", "type": "sriov", "ipam": {"type": "fake-ipam", "subnet": "192.0.2.0/24"}})
        .to_string();
    let env_for = |command: &str| {
        let mut vars = vars(command);
        vars[4].1 = format!("/nonexistent:{}", bin.0.display());
        vars.push(("CNI_ARGS", "K8S_POD_NAME=p".into()));
        Env::from_vars(vars).unwrap()
    };
    let request = |command: &str| Request {
        env: env_for(command),
        stdin: stdin.as_bytes(),
        conf: netplumb_cniconf::NetConf::from_slice(stdin.as_bytes()).unwrap(),
        version: CniVersion::V1_0_0,
    };

    // ADD: the result comes back parsed; the plugin saw our stdin and env.
    let result = request("ADD").delegate_ipam().unwrap().unwrap();
    assert_eq!(result.cni_version, CniVersion::V0_4_0);
    assert_eq!(result.ips[0].address.to_string(), "192.0.2.7/24");
    assert_eq!(
        result.to_version(CniVersion::V1_0_0).to_json()["ips"][0].get("version"),
        None
    );
    assert_eq!(
        std::fs::read_to_string(bin.0.join("stdin.ADD")).unwrap(),
        stdin
    );
    let seen = std::fs::read_to_string(bin.0.join("env.ADD")).unwrap();
    for line in [
        "CNI_COMMAND=ADD",
        "CNI_CONTAINERID=c1",
        "CNI_NETNS=/run/netns/p",
        "CNI_IFNAME=net1",
        "CNI_ARGS=K8S_POD_NAME=p",
    ] {
        assert!(seen.lines().any(|l| l == line), "{line} not in {seen}");
    }

    // A result without a version is read in the config's version.
    let bare = json!({"cniVersion": "0.3.1", "name": "n", "type": "sriov",
        "ipam": {"type": "fake-ipam", "result": "unversioned"}})
    .to_string();
    let result = skel::delegate(
        "fake-ipam",
        "ipam.type",
        &env_for("ADD"),
        bare.as_bytes(),
        &Limits::default(),
    )
    .unwrap()
    .unwrap();
    assert_eq!(result.cni_version, CniVersion::V0_3_1);
    assert_eq!(result.ips[0].address.to_string(), "192.0.2.8/24");

    // A result in a version this crate does not know keeps code 1.
    let future = json!({"cniVersion": "1.0.0", "name": "n", "type": "sriov",
        "ipam": {"type": "fake-ipam", "result": "future"}})
    .to_string();
    let err = skel::delegate(
        "fake-ipam",
        "ipam.type",
        &env_for("ADD"),
        future.as_bytes(),
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
    assert!(
        err.to_string()
            .starts_with("fake-ipam printed a result that cannot be read: cniVersion: \"9.9.9\""),
        "{err}"
    );

    // One that runs too long is killed, with what it started, and may be
    // retried; one that prints without end is killed as soon as it passes
    // the limit; one that leaves a process holding its stdout is answered
    // when it exits, and what it left is killed.
    let with = |result: &str| {
        json!({"cniVersion": "1.0.0", "name": "n", "type": "sriov",
            "ipam": {"type": "fake-ipam", "result": result}})
        .to_string()
    };
    let short = Limits {
        timeout: Duration::from_millis(300),
        max_output: 4096,
    };
    let started = Instant::now();
    let err = skel::delegate(
        "fake-ipam",
        "ipam.type",
        &env_for("ADD"),
        with("slow").as_bytes(),
        &short,
    )
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(err.code(), codes::TRY_AGAIN_LATER);
    assert_eq!(
        err.to_string(),
        "fake-ipam did not finish within 300ms and was killed"
    );
    let err = skel::delegate(
        "fake-ipam",
        "ipam.type",
        &env_for("ADD"),
        with("endless").as_bytes(),
        &short,
    )
    .unwrap_err();
    assert_eq!(err.code(), codes::IO_FAILURE);
    assert_eq!(
        err.to_string(),
        "fake-ipam printed more than 4096 bytes and was killed"
    );
    let started = Instant::now();
    let result = skel::delegate(
        "fake-ipam",
        "ipam.type",
        &env_for("ADD"),
        with("orphan").as_bytes(),
        &Limits::default(),
    )
    .unwrap()
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(result.ips[0].address.to_string(), "192.0.2.9/24");
    let orphan = std::fs::read_to_string(bin.0.join("orphan")).unwrap();
    let stat = PathBuf::from(format!("/proc/{}/stat", orphan.trim()));
    // Killed: gone, or a zombie until whoever adopted it reaps it (a
    // SIGKILL takes effect when the process next runs, so not at once).
    let dead = || {
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        state.is_empty() || state.contains(") Z ")
    };
    let waited = Instant::now();
    while !dead() && waited.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        dead(),
        "{}",
        std::fs::read_to_string(&stat).unwrap_or_default()
    );

    // DEL: no result.
    assert_eq!(request("DEL").delegate_ipam().unwrap(), None);
    assert!(bin.0.join("stdin.DEL").exists());

    // CHECK: the plugin's own error code and details come through.
    let err = request("CHECK").delegate_ipam().unwrap_err();
    assert_eq!(err.code(), codes::TRY_AGAIN_LATER);
    assert_eq!(err.to_string(), "fake-ipam failed: pool locked (retry)");
    assert_eq!(
        err.to_reply(CniVersion::V1_0_0).details.as_deref(),
        Some("retry")
    );

    // A plugin that fails without an error reply is an I/O failure.
    let err = skel::delegate(
        "fake-ipam",
        "ipam.type",
        &Env {
            command: Command::Gc,
            ..env_for("DEL")
        },
        b"{}",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), codes::IO_FAILURE);
    assert!(err.to_string().contains("printed no error reply"), "{err}");

    // Not in CNI_PATH: the error names the variable and the directories.
    let err = skel::delegate(
        "host-local",
        "ipam.type",
        &env_for("ADD"),
        b"{}",
        &Limits::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), codes::INVALID_ENV);
    assert!(
        err.to_string()
            .starts_with("CNI_PATH: has no executable \"host-local\" in /nonexistent, "),
        "{err}"
    );

    // A config without IPAM delegates nothing.
    let plain = conf("1.0.0");
    let req = Request {
        env: env_for("ADD"),
        stdin: &plain,
        conf: netplumb_cniconf::NetConf::from_slice(&plain).unwrap(),
        version: CniVersion::V1_0_0,
    };
    assert_eq!(req.delegate_ipam().unwrap(), None);
}
