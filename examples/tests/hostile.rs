//! Hostile input, fed to the `sriov` and `bond` plugin binaries as a
//! container runtime runs them: the `CNI_*` variables set, the
//! configuration on stdin, the answer read from stdout and the exit code.
//!
//! Every case must be refused with exactly one JSON error reply on stdout,
//! with the code the spec calls for and a message naming what was wrong,
//! or succeed where the spec wants success (DEL with nothing to clean,
//! VERSION); never panic, hang or outgrow a memory limit; and create
//! nothing. Each case runs in a scratch directory of its own, which holds
//! the `dataDir`, the plugin's working directory and every path a case
//! names, and which is compared before and after: a refusal leaves it as
//! it was, a success adds directories at most (the journal's).
//!
//! Cases are tables, one line each; every assertion names its case as
//! `plugin COMMAND: case`.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How long a plugin may run before it counts as hung and is killed.
const HANG: Duration = Duration::from_secs(30);

/// The address space every plugin runs in (`ulimit -v`, KiB): what it reads
/// must be bounded, not what the machine happens to have.
const MEMORY_KIB: u64 = 256 * 1024;

/// What the shell exits with when it cannot set the limit.
const NO_LIMIT: i32 = 125;

const COMMANDS: [&str; 6] = ["ADD", "DEL", "CHECK", "STATUS", "GC", "VERSION"];

const VERSIONS: [&str; 5] = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

// The spec's codes, and netplumb's own.
const INCOMPATIBLE: u32 = 1;
const UNKNOWN_CONTAINER: u32 = 3;
const INVALID_ENV: u32 = 4;
const DECODING: u32 = 6;
const INVALID_CONFIG: u32 = 7;
const CHECK_FAILED: u32 = 101;

const MIB: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plugin {
    Sriov,
    Bond,
}

impl Plugin {
    const ALL: [Plugin; 2] = [Plugin::Sriov, Plugin::Bond];

    fn name(self) -> &'static str {
        match self {
            Plugin::Sriov => "sriov",
            Plugin::Bond => "bond",
        }
    }

    fn exe(self) -> PathBuf {
        // The lab runs this binary in a guest, which has the plugins there.
        if let Some(dir) = std::env::var_os("NETPLUMB_LAB_PLUGINS") {
            return PathBuf::from(dir).join(self.name());
        }
        PathBuf::from(match self {
            Plugin::Sriov => env!("CARGO_BIN_EXE_sriov"),
            Plugin::Bond => env!("CARGO_BIN_EXE_bond"),
        })
    }

    /// A configuration that passes every check, for a case to spoil.
    fn conf(self, scratch: &Scratch) -> Value {
        let data_dir = scratch.data_dir();
        match self {
            Plugin::Sriov => json!({
                "cniVersion": "1.1.0", "name": "hostile-net", "type": "sriov",
                "deviceID": "ffff:ff:1f.7", "dataDir": data_dir,
            }),
            Plugin::Bond => json!({
                "cniVersion": "1.1.0", "name": "hostile-net", "type": "bond",
                "mode": "active-backup", "miimon": "100",
                "links": [{"name": "net1"}, {"name": "net2"}], "dataDir": data_dir,
            }),
        }
    }
}

/// What a case expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An error reply with this code, whose message contains the text;
    /// nothing created.
    Refused(u32, &'static str),
    /// As `Refused`, but only once the journal is open: its directories
    /// may stay, no file.
    Late(u32, &'static str),
    /// Success: exit 0, and stdout empty (a VERSION reply for VERSION);
    /// directories may be created, no file.
    Done,
}

use Expect::{Done, Late, Refused};

/// A directory holding everything one case may touch.
struct Scratch {
    root: PathBuf,
}

impl Scratch {
    fn new() -> Scratch {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("netplumb-hostile-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let mut dirs = std::fs::DirBuilder::new();
        dirs.mode(0o700);
        dirs.create(&root).unwrap();
        // The plugin's working directory, where a relative path would land,
        // and a directory for `..` to climb out of.
        dirs.create(root.join("cwd")).unwrap();
        dirs.create(root.join("a")).unwrap();
        Scratch { root }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    fn data_dir(&self) -> PathBuf {
        self.path("data")
    }

    /// Every path under the root, and whether it is a directory (links not
    /// followed).
    fn snapshot(&self) -> BTreeMap<PathBuf, bool> {
        fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, bool>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let is_dir = std::fs::symlink_metadata(&path).unwrap().is_dir();
                out.insert(path.clone(), is_dir);
                if is_dir {
                    walk(&path, out);
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root, &mut out);
        out
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A variable a case sets (to any bytes) or leaves unset.
type Var = (&'static str, Option<Vec<u8>>);

fn set(name: &'static str, value: impl AsRef<[u8]>) -> Var {
    (name, Some(value.as_ref().to_vec()))
}

fn unset(name: &'static str) -> Var {
    (name, None)
}

fn path_var(name: &'static str, path: PathBuf) -> Var {
    (name, Some(path.into_os_string().into_vec()))
}

/// `n` bytes of `b`.
fn long(b: u8, n: usize) -> String {
    String::from_utf8(vec![b; n]).unwrap()
}

/// The variables of a valid invocation of `command`: everything any
/// command reads, each valid; the namespace one that does not exist, so
/// that nothing a case lets through can reach a real one.
fn base_env(command: &str, scratch: &Scratch) -> Vec<Var> {
    vec![
        set("CNI_COMMAND", command),
        set("CNI_CONTAINERID", "hostile-c1"),
        path_var("CNI_NETNS", scratch.path("no-such-netns")),
        set("CNI_IFNAME", "net9"),
        path_var("CNI_PATH", scratch.path("cni")),
    ]
}

/// What a plugin printed and how it ended.
struct Outcome {
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: String,
}

/// Runs `plugin` as a runtime does, in `cwd`, under the memory limit; a
/// plugin that does not end within [`HANG`] is killed and fails the case.
fn invoke(case: &str, plugin: Plugin, vars: &[Var], stdin: Vec<u8>, cwd: &Path) -> Outcome {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(format!(
            "ulimit -v {MEMORY_KIB} || exit {NO_LIMIT}; exec \"$0\""
        ))
        .arg(plugin.exe())
        .env_clear()
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in vars {
        if let Some(value) = value {
            cmd.env(name, OsString::from_vec(value.clone()));
        }
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("{case}: cannot run: {e}"));
    let mut input = child.stdin.take().unwrap();
    // A plugin may stop reading early (a stdin too large): the broken pipe
    // is for its answer to tell.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let drain = |mut from: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = from.read_to_end(&mut buf);
            buf
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + HANG;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{case}: the plugin did not end within {HANG:?} and was killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    let stdout = stdout.join().unwrap();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap()).into_owned();
    assert_ne!(
        status.code(),
        Some(NO_LIMIT),
        "{case}: the shell could not set the memory limit: {stderr}"
    );
    Outcome {
        status,
        stdout,
        stderr,
    }
}

/// The error reply on stdout: exactly one JSON object with the spec's
/// fields and nothing else; its `cniVersion`, `code` and `msg`.
fn error_reply(case: &str, stdout: &[u8]) -> (String, u32, String) {
    let text = String::from_utf8_lossy(stdout);
    let value: Value = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{case}: stdout is not one JSON value ({e}): {text:?}"));
    let obj = value
        .as_object()
        .unwrap_or_else(|| panic!("{case}: stdout is not a JSON object: {text}"));
    for key in obj.keys() {
        assert!(
            ["cniVersion", "code", "msg", "details"].contains(&key.as_str()),
            "{case}: the error reply has the field {key:?}: {text}"
        );
    }
    let version = obj
        .get("cniVersion")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{case}: no cniVersion: {text}"));
    assert!(
        VERSIONS.contains(&version),
        "{case}: cniVersion {version:?} is not a version: {text}"
    );
    let code = obj
        .get("code")
        .and_then(Value::as_u64)
        .unwrap_or_else(|| panic!("{case}: no numeric code: {text}"));
    let msg = obj
        .get("msg")
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{case}: no msg: {text}"));
    assert!(!msg.is_empty(), "{case}: an empty msg");
    if let Some(details) = obj.get("details") {
        assert!(details.is_string(), "{case}: details not a string: {text}");
    }
    (version.to_owned(), code as u32, msg.to_owned())
}

/// Runs one case in a fresh scratch directory and judges it. `vars` and
/// `stdin` are made in the scratch directory (they may name paths in it,
/// or make them) before it is looked at.
fn case(
    name: &str,
    plugin: Plugin,
    command: &str,
    vars: impl FnOnce(&Scratch) -> Vec<Var>,
    stdin: impl FnOnce(&Scratch) -> Vec<u8>,
    expect: Expect,
) {
    let label = format!("{} {command}: {name}", plugin.name());
    let scratch = Scratch::new();
    let mut env = base_env(command, &scratch);
    for (var, value) in vars(&scratch) {
        match env.iter_mut().find(|(v, _)| *v == var) {
            Some(slot) => slot.1 = value,
            None => env.push((var, value)),
        }
    }
    let input = stdin(&scratch);
    let stated = serde_json::from_slice::<Value>(&input)
        .ok()
        .and_then(|v| v.get("cniVersion")?.as_str().map(str::to_owned))
        .filter(|v| VERSIONS.contains(&v.as_str()));
    let before = scratch.snapshot();
    let out = invoke(&label, plugin, &env, input, &scratch.path("cwd"));
    let after = scratch.snapshot();
    judge(&label, &out, expect, command, stated.as_deref());
    match expect {
        Refused(..) => assert_eq!(
            after.keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "{label}: a refusal created or removed something"
        ),
        Late(..) | Done => {
            for (path, is_dir) in &after {
                assert!(
                    before.contains_key(path) || *is_dir,
                    "{label}: it left the file {}",
                    path.display()
                );
            }
        }
    }
}

fn judge(case: &str, out: &Outcome, expect: Expect, command: &str, stated: Option<&str>) {
    assert!(
        !out.stderr.contains("panicked"),
        "{case}: it panicked: {}",
        out.stderr
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    match expect {
        Refused(code, needle) | Late(code, needle) => {
            assert!(
                out.status.code().is_some_and(|c| c != 0),
                "{case}: expected a refusal with code {code}, got {} and stdout {stdout}; \
                 stderr: {}",
                out.status,
                out.stderr
            );
            let (version, got, msg) = error_reply(case, &out.stdout);
            assert_eq!(got, code, "{case}: the code, for the message {msg:?}");
            assert!(
                msg.contains(needle),
                "{case}: the message does not name {needle:?}: {msg:?}"
            );
            if let Some(stated) = stated {
                assert_eq!(version, stated, "{case}: the reply's cniVersion");
            }
        }
        Done => {
            assert!(
                out.status.success(),
                "{case}: expected success, got {} and stdout {stdout}; stderr: {}",
                out.status,
                out.stderr
            );
            if command == "VERSION" {
                let reply: Value = serde_json::from_slice(&out.stdout)
                    .unwrap_or_else(|e| panic!("{case}: the VERSION reply ({e}): {stdout}"));
                assert!(
                    reply["supportedVersions"].is_array(),
                    "{case}: the VERSION reply: {stdout}"
                );
            } else {
                assert!(
                    out.stdout.is_empty(),
                    "{case}: expected nothing on stdout: {stdout}"
                );
            }
        }
    }
}

/// The plugin's valid configuration.
fn valid(plugin: Plugin) -> impl Fn(&Scratch) -> Vec<u8> {
    move |s| serde_json::to_vec(&plugin.conf(s)).unwrap()
}

// ---------------------------------------------------------------------------
// The environment.

/// One environment case: its name, the command, the variables changed,
/// what both plugins answer.
type EnvCase = (&'static str, &'static str, Vec<Var>, Expect);

#[rustfmt::skip]
fn env_cases() -> Vec<EnvCase> {
    let (c, i, n, p, a) = ("CNI_CONTAINERID", "CNI_IFNAME", "CNI_NETNS", "CNI_PATH", "CNI_ARGS");
    let mut cases: Vec<EnvCase> = Vec::new();
    for command in ["ADD", "DEL", "CHECK"] {
        cases.extend([
            ("container ID ..", command, vec![set(c, "..")], Refused(INVALID_ENV, c)),
            ("container ID ../etc", command, vec![set(c, "../etc")], Refused(INVALID_ENV, c)),
            ("container ID a/b", command, vec![set(c, "a/b")], Refused(INVALID_ENV, c)),
            ("container ID /abs", command, vec![set(c, "/abs")], Refused(INVALID_ENV, c)),
            ("container ID with a newline", command, vec![set(c, "a\nb")], Refused(INVALID_ENV, c)),
            ("container ID with ':'", command, vec![set(c, "a:b")], Refused(INVALID_ENV, c)),
            ("container ID of 4 KiB", command, vec![set(c, long(b'a', 4096))], Refused(INVALID_ENV, "4096 bytes")),
            ("container ID not UTF-8", command, vec![set(c, b"a\xffb")], Refused(INVALID_ENV, c)),
            ("no container ID", command, vec![unset(c)], Refused(INVALID_ENV, c)),
            ("ifname ..", command, vec![set(i, "..")], Refused(INVALID_ENV, i)),
            ("ifname .", command, vec![set(i, ".")], Refused(INVALID_ENV, i)),
            ("ifname ../x", command, vec![set(i, "../x")], Refused(INVALID_ENV, i)),
            ("ifname a/b", command, vec![set(i, "a/b")], Refused(INVALID_ENV, i)),
            ("ifname with a newline", command, vec![set(i, "net\n1")], Refused(INVALID_ENV, i)),
            ("ifname with ':'", command, vec![set(i, "net:1")], Refused(INVALID_ENV, i)),
            ("ifname with '%'", command, vec![set(i, "net%d")], Refused(INVALID_ENV, i)),
            ("ifname of 4 KiB", command, vec![set(i, long(b'a', 4096))], Refused(INVALID_ENV, i)),
            ("ifname not UTF-8", command, vec![set(i, b"net\xff")], Refused(INVALID_ENV, i)),
            ("no ifname", command, vec![unset(i)], Refused(INVALID_ENV, i)),
        ]);
    }
    let cmd = "CNI_COMMAND";
    cases.extend([
        ("no command", "ADD", vec![unset(cmd)], Refused(INVALID_ENV, cmd)),
        ("an empty command", "ADD", vec![set(cmd, "")], Refused(INVALID_ENV, cmd)),
        ("a lower-case command", "ADD", vec![set(cmd, "add")], Refused(INVALID_ENV, cmd)),
        ("an unknown command", "ADD", vec![set(cmd, "ATTACH")], Refused(INVALID_ENV, cmd)),
        ("a command with a newline", "ADD", vec![set(cmd, "ADD\n")], Refused(INVALID_ENV, cmd)),
        ("two commands", "ADD", vec![set(cmd, "ADD;DEL")], Refused(INVALID_ENV, cmd)),
        ("a command of 4 KiB", "ADD", vec![set(cmd, long(b'A', 4096))], Refused(INVALID_ENV, cmd)),
        ("a command not UTF-8", "ADD", vec![set(cmd, b"AD\xff")], Refused(INVALID_ENV, cmd)),
        ("no namespace", "ADD", vec![unset(n)], Refused(INVALID_ENV, n)),
        ("no namespace", "CHECK", vec![unset(n)], Refused(INVALID_ENV, n)),
        ("no namespace", "DEL", vec![unset(n)], Done),
        ("a relative namespace", "ADD", vec![set(n, "netns")], Refused(INVALID_ENV, n)),
        ("a relative namespace", "CHECK", vec![set(n, "proc/1/ns/net")], Refused(INVALID_ENV, n)),
        ("a relative namespace", "DEL", vec![set(n, "netns")], Done),
        ("a relative CNI_PATH", "ADD", vec![set(p, "bin")], Refused(INVALID_ENV, p)),
        ("a relative CNI_PATH", "DEL", vec![set(p, "bin:../x")], Done),
        ("no CNI_PATH", "GC", vec![unset(p)], Refused(INVALID_ENV, p)),
        ("a relative CNI_PATH", "GC", vec![set(p, "bin")], Refused(INVALID_ENV, p)),
        ("a malformed CNI_ARGS", "ADD", vec![set(a, "A=1;B")], Refused(INVALID_ENV, a)),
        ("a malformed CNI_ARGS", "CHECK", vec![set(a, "=1")], Refused(INVALID_ENV, a)),
        ("a malformed CNI_ARGS", "DEL", vec![set(a, "A=1;B;=2")], Done),
        ("CNI_ARGS not UTF-8", "DEL", vec![set(a, b"A=\xff")], Done),
        ("nothing but the command", "STATUS", vec![unset(c), unset(i), unset(n), unset(p)], Done),
        ("bad variables it does not read", "STATUS", vec![set(c, "../x"), set(i, "a/b"), set(n, "x")], Done),
        ("bad variables it does not read", "GC", vec![set(c, "../x"), set(i, "a/b"), set(a, "B")], Done),
        ("nothing but the command", "VERSION", vec![unset(c), unset(i), unset(n), unset(p)], Done),
        ("bad variables it does not read", "VERSION", vec![set(c, "../x"), set(i, b"\xff"), set(p, "rel")], Done),
    ]);
    cases
}

#[test]
fn bad_variables_are_refused_naming_them_and_change_nothing() {
    let mut count = 0;
    for plugin in Plugin::ALL {
        for (name, command, vars, expect) in env_cases() {
            case(name, plugin, command, |_| vars, valid(plugin), expect);
            count += 1;
        }
    }
    eprintln!("{count} cases");
}

/// What only ADD of the `sriov` plugin reads: which VF, and a MAC in
/// `CNI_ARGS`.
#[rustfmt::skip]
#[test]
fn what_only_add_reads_is_refused_before_anything() {
    let no_vf = |s: &Scratch| {
        let mut conf = Plugin::Sriov.conf(s);
        conf.as_object_mut().unwrap().remove("deviceID");
        serde_json::to_vec(&conf).unwrap()
    };
    case("neither deviceID nor master", Plugin::Sriov, "ADD", |_| Vec::new(), no_vf, Refused(INVALID_CONFIG, "deviceID: missing"));
    for (name, mac) in [
        ("not a MAC", "zz".to_owned()),
        ("a path", "../../etc/passwd".to_owned()),
        ("of 4 KiB", long(b'0', 4096)),
    ] {
        let args = format!("IgnoreUnknown=1;MAC={mac}");
        case(&format!("CNI_ARGS MAC {name}"), Plugin::Sriov, "ADD", |_| vec![set("CNI_ARGS", args)], valid(Plugin::Sriov), Refused(INVALID_ENV, "CNI_ARGS: MAC"));
    }
}

// ---------------------------------------------------------------------------
// The namespace.

/// One namespace case: what `CNI_NETNS` is made to be, and what ADD and
/// CHECK answer; DEL succeeds, having nothing to clean.
type NetnsCase = (&'static str, fn(&Scratch) -> PathBuf, Expect);

fn file(s: &Scratch, name: &str, content: &str) -> PathBuf {
    let path = s.path(name);
    std::fs::write(&path, content).unwrap();
    path
}

fn link(s: &Scratch, name: &str, target: impl AsRef<Path>) -> PathBuf {
    let path = s.path(name);
    std::os::unix::fs::symlink(target, &path).unwrap();
    path
}

fn fifo(s: &Scratch) -> PathBuf {
    let path = s.path("fifo");
    let made = Command::new("mkfifo").arg(&path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
    path
}

fn socket(s: &Scratch) -> PathBuf {
    let path = s.path("socket");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    path
}

#[rustfmt::skip]
fn netns_cases() -> Vec<NetnsCase> {
    const NOT_NS: Expect = Refused(INVALID_ENV, "CNI_NETNS: ");
    const GONE: Expect = Refused(UNKNOWN_CONTAINER, "is gone");
    vec![
        ("a path that does not exist", |s| s.path("nothing"), GONE),
        ("a dangling link", |s| link(s, "dangling", s.path("nothing")), GONE),
        ("a regular file", |s| file(s, "ns", "not a namespace"), NOT_NS),
        ("an empty regular file", |s| file(s, "ns", ""), NOT_NS),
        ("a directory", |s| s.path("a"), NOT_NS),
        ("a FIFO", fifo, NOT_NS),
        ("a unix socket", socket, NOT_NS),
        ("/dev/null", |_| PathBuf::from("/dev/null"), NOT_NS),
        ("a link to /dev/null", |s| link(s, "null", "/dev/null"), NOT_NS),
        ("a link to a directory", |s| link(s, "dir", s.path("a")), NOT_NS),
        ("a link to a FIFO", |s| { let f = fifo(s); link(s, "to-fifo", f) }, NOT_NS),
        ("a link to itself", |s| link(s, "loop", s.path("loop")), NOT_NS),
        ("a link to a uts namespace", |s| link(s, "uts", "/proc/self/ns/uts"), Refused(INVALID_ENV, "uts namespace")),
        ("a path through a file", |s| file(s, "ns", "").join("x"), NOT_NS),
        ("a name of 4 KiB", |s| s.path(&long(b'n', 4096)), NOT_NS),
        ("/proc/self/ns/uts", |_| PathBuf::from("/proc/self/ns/uts"), Refused(INVALID_ENV, "uts namespace")),
        ("/proc/self/ns/mnt", |_| PathBuf::from("/proc/self/ns/mnt"), Refused(INVALID_ENV, "mount namespace")),
        ("/proc/self/ns/pid", |_| PathBuf::from("/proc/self/ns/pid"), Refused(INVALID_ENV, "pid namespace")),
        ("/proc/self/ns/ipc", |_| PathBuf::from("/proc/self/ns/ipc"), Refused(INVALID_ENV, "ipc namespace")),
    ]
}

#[test]
fn a_namespace_that_is_no_network_namespace_is_refused_and_changes_nothing() {
    let mut count = 0;
    for plugin in Plugin::ALL {
        for (name, make, expect) in netns_cases() {
            for command in ["ADD", "CHECK", "DEL"] {
                let expect = if command == "DEL" { Done } else { expect };
                let netns = |s: &Scratch| vec![path_var("CNI_NETNS", make(s))];
                let name = format!("CNI_NETNS {name}");
                case(&name, plugin, command, netns, valid(plugin), expect);
                count += 1;
            }
        }
    }
    eprintln!("{count} cases");
}

// ---------------------------------------------------------------------------
// The configuration on stdin.

/// What DEL answers where ADD, CHECK, STATUS and GC refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Del {
    /// The same: without the fields every plugin shares, DEL has nothing
    /// to clean with.
    Same,
    /// Success: with them, it releases IPAM; and where the plugin's own
    /// fields cannot be read, nothing can have been recorded by them.
    Succeeds,
}

/// Makes a case's stdin in its scratch directory.
type Stdin = Box<dyn Fn(&Scratch) -> Vec<u8>>;

/// One stdin case: its name, its stdin, what ADD, CHECK, STATUS and GC
/// answer, and what DEL answers.
type StdinCase = (String, Stdin, Expect, Del);

fn bytes(b: impl Into<Vec<u8>>) -> Stdin {
    let b = b.into();
    Box::new(move |_| b.clone())
}

/// The plugin's valid configuration, changed by `change`.
fn spoiled(plugin: Plugin, change: impl Fn(&mut Value, &Scratch) + 'static) -> Stdin {
    Box::new(move |s| {
        let mut conf = plugin.conf(s);
        change(&mut conf, s);
        serde_json::to_vec(&conf).unwrap()
    })
}

/// The plugin's valid configuration with `field` set to `value`.
fn with(plugin: Plugin, field: &'static str, value: Value) -> Stdin {
    spoiled(plugin, move |c, _| c[field] = value.clone())
}

/// The plugin's valid configuration without `field`.
fn without(plugin: Plugin, field: &'static str) -> Stdin {
    spoiled(plugin, move |c, _| {
        drop(c.as_object_mut().unwrap().remove(field))
    })
}

/// The plugin's valid configuration as text, changed by `change`, for
/// what a JSON value cannot hold.
fn text(plugin: Plugin, change: impl Fn(&str) -> String + 'static) -> Stdin {
    Box::new(move |s| change(&serde_json::to_string(&plugin.conf(s)).unwrap()).into_bytes())
}

/// The plugin's valid configuration as text, with `field` before its
/// first field: a key given twice.
fn prefixed(plugin: Plugin, field: &'static str) -> Stdin {
    text(plugin, move |conf| format!("{{{field},{}", &conf[1..]))
}

/// The plugin's valid configuration with its network's name, as JSON
/// text, replaced by `name`: bytes no JSON string can hold.
fn replaced(plugin: Plugin, name: &'static [u8]) -> Stdin {
    Box::new(move |s| {
        let conf = serde_json::to_vec(&plugin.conf(s)).unwrap();
        let at = conf.windows(11).position(|w| w == b"hostile-net").unwrap();
        [&conf[..at], name, &conf[at + 11..]].concat()
    })
}

/// The plugin's valid configuration with `field` set to the scratch
/// directory followed by `suffix`.
fn under_scratch(plugin: Plugin, field: &'static str, suffix: String) -> Stdin {
    spoiled(plugin, move |c, s| {
        c[field] = json!(format!("{}{suffix}", s.root.display()))
    })
}

#[rustfmt::skip]
fn stdin_cases(plugin: Plugin) -> Vec<StdinCase> {
    let json_err = Refused(DECODING, "not valid JSON");
    let top = Refused(DECODING, "(top level): expected an object");
    let too_large = Refused(DECODING, "larger than 4 MiB");
    let deep = Refused(DECODING, "recursion limit");
    let name = Refused(INVALID_CONFIG, "name: ");
    let version = Refused(INCOMPATIBLE, "cniVersion");
    let n = |s: &str| s.to_owned();
    let mut cases: Vec<StdinCase> = vec![
        (n("empty stdin"), bytes(""), json_err, Del::Same),
        (n("only whitespace"), bytes(" \n\t "), json_err, Del::Same),
        (n("10 MiB of spaces"), bytes(vec![b' '; 10 * MIB]), too_large, Del::Same),
        (n("a 10 MiB configuration"), with(plugin, "pad", json!(long(b'x', 10 * MIB))), too_large, Del::Same),
        (n("100000 '['"), bytes(vec![b'['; 100_000]), deep, Del::Same),
        (n("100000 nested objects"), bytes("{\"a\":".repeat(100_000)), deep, Del::Same),
        (n("100000 '[' in a field"), text(plugin, |c| format!("{{\"args\":{},{}", "[".repeat(100_000), &c[1..])), deep, Del::Same),
        (n("a list of 2 million numbers"), bytes(format!("[{}0]", "0,".repeat(2 * MIB - 8))), top, Del::Same),
        (n("a name of nearly 4 MiB"), with(plugin, "name", json!(long(b'n', 4 * MIB - 4096))), Refused(INVALID_CONFIG, "bytes long"), Del::Same),
        (n("invalid UTF-8 in a string"), replaced(plugin, b"hostile\xffnet"), json_err, Del::Same),
        (n("invalid UTF-8 outside strings"), bytes(&b"\xff\xfe{}"[..]), json_err, Del::Same),
        (n("a byte order mark"), text(plugin, |c| format!("\u{feff}{c}")), json_err, Del::Same),
        (n("a raw NUL in a string"), replaced(plugin, b"hostile\0net"), json_err, Del::Same),
        (n("a list"), bytes("[]"), top, Del::Same),
        (n("a string"), bytes("\"sriov\""), top, Del::Same),
        (n("a number"), bytes("42"), top, Del::Same),
        (n("null"), bytes("null"), top, Del::Same),
        (n("true"), bytes("true"), top, Del::Same),
        (n("truncated"), text(plugin, |c| c[..c.len() / 2].to_owned()), json_err, Del::Same),
        (n("trailing garbage"), text(plugin, |c| format!("{c} x")), json_err, Del::Same),
        (n("two objects"), text(plugin, |c| format!("{c}{c}")), json_err, Del::Same),
        (n("cniVersion twice, the last unknown"), text(plugin, |c| format!("{},\"cniVersion\":\"9.9.9\"}}", &c[..c.len() - 1])), Refused(INCOMPATIBLE, "9.9.9"), Del::Same),
        (n("name in two spellings"), prefixed(plugin, "\"NAME\":\"other\""), Refused(INVALID_CONFIG, "given twice"), Del::Same),
        (n("an unknown cniVersion"), with(plugin, "cniVersion", json!("9.9.9")), version, Del::Same),
        (n("cniVersion 0.2.0"), with(plugin, "cniVersion", json!("0.2.0")), version, Del::Same),
        (n("an empty cniVersion"), with(plugin, "cniVersion", json!("")), version, Del::Same),
        (n("cniVersion with a newline"), with(plugin, "cniVersion", json!("1.1.0\n")), version, Del::Same),
        (n("cniVersion of 4 KiB"), with(plugin, "cniVersion", json!(long(b'1', 4096))), version, Del::Same),
        (n("cniVersion a number"), with(plugin, "cniVersion", json!(1.1)), Refused(DECODING, "cniVersion: expected a string"), Del::Same),
        (n("name .."), with(plugin, "name", json!("..")), name, Del::Same),
        (n("name ../x"), with(plugin, "name", json!("../x")), name, Del::Same),
        (n("name a/b"), with(plugin, "name", json!("a/b")), name, Del::Same),
        (n("name /abs"), with(plugin, "name", json!("/abs")), name, Del::Same),
        (n("name with NUL"), with(plugin, "name", json!("a\u{0}b")), name, Del::Same),
        (n("name with a newline"), with(plugin, "name", json!("a\nb")), name, Del::Same),
        (n("name of 4 KiB"), with(plugin, "name", json!(long(b'n', 4096))), Refused(INVALID_CONFIG, "4096 bytes"), Del::Same),
        (n("an empty name"), with(plugin, "name", json!("")), name, Del::Same),
        (n("no name"), without(plugin, "name"), name, Del::Same),
        (n("name a number"), with(plugin, "name", json!(7)), Refused(DECODING, "name: expected a string"), Del::Same),
        (n("type ../sriov"), with(plugin, "type", json!("../sriov")), Refused(INVALID_CONFIG, "type: "), Del::Same),
        (n("type with NUL"), with(plugin, "type", json!("sriov\u{0}")), Refused(INVALID_CONFIG, "type: "), Del::Same),
        (n("ipam.type a path"), with(plugin, "ipam", json!({"type": "/usr/bin/x"})), Refused(INVALID_CONFIG, "ipam.type"), Del::Same),
    ];
    // Refused before any file is made; a DEL that cannot read its dataDir
    // cannot have recorded anything there.
    for (field, file) in [("dataDir", "data"), ("logFile", "plugin.log")] {
        let bad = Refused(INVALID_CONFIG, field);
        let at = |suffix: String| under_scratch(plugin, field, suffix);
        let f = |what: &str| format!("{field} {what}");
        cases.extend::<[StdinCase; 10]>([
            (f("relative"), with(plugin, field, json!(file)), bad, Del::Succeeds),
            (f("empty"), with(plugin, field, json!("")), bad, Del::Succeeds),
            (f("with .."), at(format!("/a/../{file}")), bad, Del::Succeeds),
            (f("ending in .."), at(n("/a/..")), bad, Del::Succeeds),
            (f("with ."), at(format!("/./{file}")), bad, Del::Succeeds),
            (f("with NUL"), at(format!("/{file}\u{0}x")), bad, Del::Succeeds),
            (f("with a newline"), at(format!("/{file}\nx")), bad, Del::Succeeds),
            (f("with an escape"), at(format!("/{file}\u{1b}[2J")), bad, Del::Succeeds),
            (f("of 4 KiB"), at(format!("/{}", long(b'd', 4096))), bad, Del::Succeeds),
            (f("a number"), with(plugin, field, json!(0)), Refused(DECODING, field), Del::Succeeds),
        ]);
    }
    match plugin {
        Plugin::Sriov => {
            for field in ["deviceID", "pciBusID", "runtimeConfig.deviceID"] {
                for value in [
                    n("../../etc/passwd"),
                    n("0000:af:06.0/../../x"),
                    n("/sys/bus/pci/devices/0000:af:06.0"),
                    n("0000:af:06.0\u{0}"),
                    n("0000:af:06.0\n"),
                    n(""),
                    long(b'0', 4096),
                ] {
                    let stdin = match field {
                        "runtimeConfig.deviceID" => with(plugin, "runtimeConfig", json!({"deviceID": value})),
                        _ => with(plugin, field, json!(value)),
                    };
                    let shown: String = format!("{value:?}").chars().take(40).collect();
                    cases.push((format!("{field} {shown}"), stdin, Refused(INVALID_CONFIG, field), Del::Succeeds));
                }
            }
            cases.extend::<[StdinCase; 5]>([
                (n("deviceID in two spellings"), prefixed(plugin, "\"DeviceID\":\"0000:af:06.1\""), Refused(INVALID_CONFIG, "given twice"), Del::Succeeds),
                (n("master ../x"), with(plugin, "master", json!("../x")), Refused(INVALID_CONFIG, "master"), Del::Succeeds),
                (n("master with a newline"), with(plugin, "master", json!("eth\n0")), Refused(INVALID_CONFIG, "master"), Del::Succeeds),
                (n("master of 4 KiB"), with(plugin, "master", json!(long(b'm', 4096))), Refused(INVALID_CONFIG, "master"), Del::Succeeds),
                (n("vlan of 4 KiB of digits"), with(plugin, "vlan", json!(long(b'9', 4096))), Refused(INVALID_CONFIG, "vlan"), Del::Succeeds),
            ]);
        }
        Plugin::Bond => {
            for value in [n("../x"), n("a/b"), n(".."), n("net\n1"), n("a\u{0}"), long(b'l', 4096)] {
                let shown: String = format!("{value:?}").chars().take(40).collect();
                let port = value.clone();
                cases.push((format!("links[0].name {shown}"), spoiled(plugin, move |c, _| c["links"][0]["name"] = json!(port)), Refused(INVALID_CONFIG, "links[0]"), Del::Succeeds));
                cases.push((format!("ifname {shown}"), with(plugin, "ifname", json!(value)), Refused(INVALID_CONFIG, "ifname"), Del::Succeeds));
            }
            cases.extend::<[StdinCase; 5]>([
                (n("links not a list"), with(plugin, "links", json!("net1,net2")), Refused(DECODING, "links"), Del::Succeeds),
                (n("100000 links"), with(plugin, "links", json!(vec![json!({"name": "net1"}); 100_000])), Refused(INVALID_CONFIG, "links"), Del::Succeeds),
                (n("miimon of 4 KiB of digits"), with(plugin, "miimon", json!(long(b'9', 4096))), Refused(INVALID_CONFIG, "miimon"), Del::Succeeds),
                (n("mode of 4 KiB"), with(plugin, "mode", json!(long(b'm', 4096))), Refused(INVALID_CONFIG, "mode"), Del::Succeeds),
                (n("miimon in two spellings"), prefixed(plugin, "\"MiiMon\":\"200\""), Refused(INVALID_CONFIG, "given twice"), Del::Succeeds),
            ]);
        }
    }
    cases
}

#[test]
fn bad_configurations_are_refused_for_every_command_and_change_nothing() {
    // No kernel is involved: the host's run says it all, and the lab's
    // one CPU would take minutes over it.
    if std::env::var_os("NETPLUMB_LAB").is_some() {
        eprintln!("skipped: bad_configurations_are_refused_for_every_command_and_change_nothing runs on the host");
        return;
    }
    let count = std::sync::atomic::AtomicUsize::new(0);
    // The plugins at once: each case is a process or more of its own.
    std::thread::scope(|scope| {
        for plugin in Plugin::ALL {
            let count = &count;
            scope.spawn(move || {
                for (name, make, expect, del) in stdin_cases(plugin) {
                    for command in COMMANDS {
                        let expect = match command {
                            "DEL" if del == Del::Succeeds => Done,
                            // VERSION answers whatever stdin holds, in the
                            // version it names if it can tell; only its
                            // size is bounded.
                            "VERSION" if !matches!(expect, Refused(_, "larger than 4 MiB")) => Done,
                            _ => expect,
                        };
                        case(&name, plugin, command, |_| Vec::new(), &make, expect);
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    eprintln!("{} cases", count.into_inner());
}

/// A `logFile` that is there as something else than a regular file: one
/// case's name, the path made in the scratch directory, and the words the
/// refusal uses.
type LogCase = (&'static str, fn(&Scratch) -> PathBuf, Option<&'static str>);

#[rustfmt::skip]
#[test]
fn a_log_file_that_is_no_regular_file_is_refused_without_hanging() {
    let cases: [LogCase; 7] = [
        ("a FIFO", fifo, Some("a FIFO")),
        ("a link to a FIFO", |s| { let f = fifo(s); link(s, "to-fifo", f) }, Some("logFile")),
        ("a directory", |s| s.path("a"), Some("a directory")),
        ("a unix socket", socket, Some("a socket")),
        ("/dev/zero", |_| PathBuf::from("/dev/zero"), Some("a character device")),
        ("a link to a file", |s| { let f = file(s, "log", ""); link(s, "to-log", f) }, Some("logFile")),
        ("/dev/null", |_| PathBuf::from("/dev/null"), None),
    ];
    for plugin in Plugin::ALL {
        for (name, make, refusal) in cases {
            for command in ["ADD", "CHECK", "GC", "DEL", "STATUS"] {
                let expect = match (command, refusal) {
                    // DEL logs to stderr instead; STATUS logs nothing.
                    ("DEL" | "STATUS", _) => Done,
                    (_, Some(words)) => Refused(INVALID_CONFIG, words),
                    // Taken: what refuses ADD and CHECK is the namespace.
                    ("GC", None) => Done,
                    (_, None) => Refused(UNKNOWN_CONTAINER, "is gone"),
                };
                let stdin = |s: &Scratch| {
                    let mut conf = plugin.conf(s);
                    conf["logFile"] = json!(make(s));
                    serde_json::to_vec(&conf).unwrap()
                };
                case(&format!("logFile {name}"), plugin, command, |_| Vec::new(), stdin, expect);
            }
        }
    }
}

#[rustfmt::skip]
#[test]
fn commands_the_configurations_version_lacks_are_refused() {
    for plugin in Plugin::ALL {
        for (command, version, needle) in [
            ("CHECK", Some("0.3.1"), "0.4.0 or later for CHECK"),
            ("CHECK", None, "0.4.0 or later for CHECK"),
            ("STATUS", Some("1.0.0"), "1.1.0 or later for STATUS"),
            ("STATUS", None, "1.1.0 or later for STATUS"),
            ("GC", Some("1.0.0"), "1.1.0 or later for GC"),
            ("GC", Some("0.4.0"), "1.1.0 or later for GC"),
        ] {
            let stdin = match version {
                Some(v) => with(plugin, "cniVersion", json!(v)),
                None => without(plugin, "cniVersion"),
            };
            let name = format!("cniVersion {version:?}");
            case(&name, plugin, command, |_| Vec::new(), stdin, Refused(INCOMPATIBLE, needle));
        }
    }
}

#[rustfmt::skip]
#[test]
fn gc_refuses_bad_valid_attachments() {
    for plugin in Plugin::ALL {
        for (name, attachment, needle) in [
            ("container ID ../x", json!({"containerID": "../x", "ifname": "net1"}), "containerID"),
            ("container ID of 4 KiB", json!({"containerID": long(b'c', 4096), "ifname": "net1"}), "containerID"),
            ("ifname a/b", json!({"containerID": "c1", "ifname": "a/b"}), "ifname"),
            ("ifname with NUL", json!({"containerID": "c1", "ifname": "a\u{0}"}), "ifname"),
            ("no ifname", json!({"containerID": "c1"}), "ifname: missing"),
        ] {
            let stdin = with(plugin, "cni.dev/valid-attachments", json!([attachment]));
            let name = format!("valid attachment {name}");
            case(&name, plugin, "GC", |_| Vec::new(), stdin, Refused(INVALID_CONFIG, needle));
        }
    }
}

// ---------------------------------------------------------------------------
// Cases that need a real network namespace, so root.

/// True when this process may create network namespaces; otherwise says
/// the test is skipped.
fn root_or_skip(test: &str) -> bool {
    let held = netplumb_netns::require_capabilities(netplumb_netns::Capability::PLUGIN).is_ok();
    if !held {
        eprintln!("skipped: {test} needs root");
    }
    held
}

/// A PCI device of this machine that is no network device (a host
/// bridge, say): a `deviceID` that must be refused, and that could never
/// take a NIC this machine uses.
fn a_pci_device_that_is_no_nic() -> Option<String> {
    let mut found: Vec<String> = std::fs::read_dir("/sys/bus/pci/devices")
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let dir = e.path();
            let class = std::fs::read_to_string(dir.join("class")).unwrap_or_default();
            class.trim().starts_with("0x")
                && !class.trim().starts_with("0x02")
                && !dir.join("net").exists()
                && !dir.join("physfn").exists()
                && !dir.join("sriov_totalvfs").exists()
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    found.into_iter().next()
}

#[rustfmt::skip]
#[test]
fn what_is_not_there_is_refused_and_a_pod_keeps_what_it_had() {
    if !root_or_skip("what_is_not_there_is_refused_and_a_pod_keeps_what_it_had") {
        return;
    }
    let pod = netplumb_netns::NetNs::new_unnamed().unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&std::os::fd::AsFd::as_fd(&pod));
    let netns = PathBuf::from(format!("/proc/{}/fd/{fd}", std::process::id()));
    let not_a_nic: Option<&'static str> =
        a_pci_device_that_is_no_nic().map(|d| &*Box::leak(d.into_boxed_str()));
    for plugin in Plugin::ALL {
        let mut cases: Vec<(&str, &str, Stdin, Expect)> = vec![
            ("CHECK of what was never added", "CHECK", Box::new(valid(plugin)), Late(CHECK_FAILED, "no ADD of this attachment is recorded")),
            ("DEL of what was never added", "DEL", Box::new(valid(plugin)), Done),
        ];
        match plugin {
            Plugin::Sriov => {
                // A device that is not there is not told apart from one
                // lost midway: 100.
                cases.push(("deviceID of no device", "ADD", Box::new(valid(plugin)), Late(INVALID_CONFIG, "ffff:ff:1f.7")));
                cases.push(("master that is no PF", "ADD", spoiled(plugin, |c, _| {
                    c.as_object_mut().unwrap().remove("deviceID");
                    c["master"] = json!("lo");
                }), Late(INVALID_CONFIG, "netdev lo is not a PCI device")));
                if let Some(dev) = not_a_nic {
                    cases.push(("deviceID of a device that is no NIC", "ADD", with(plugin, "deviceID", json!(dev)), Late(INVALID_CONFIG, "is not a VF")));
                }
            }
            Plugin::Bond => {
                let ports = |c: &mut Value, _: &Scratch| {
                    c["linksInContainer"] = json!(true);
                    c["links"] = json!([{"name": "hostile1"}, {"name": "hostile2"}]);
                };
                // As above: a port that is not there is 100.
                cases.push(("ports not in the pod", "ADD", spoiled(plugin, ports), Late(INVALID_CONFIG, "\"hostile1\" does not exist")));
            }
        }
        for (name, command, stdin, expect) in cases {
            let netns = netns.clone();
            case(name, plugin, command, move |_| vec![path_var("CNI_NETNS", netns)], stdin, expect);
        }
    }
    let links = pod.netlink().unwrap().links().unwrap();
    let names: Vec<String> = links.iter().map(|l| l.name.to_string()).collect();
    assert_eq!(names, ["lo"], "the pod has only what it started with");
}
