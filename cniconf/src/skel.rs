//! The CNI plugin skeleton: environment and stdin in, stdout bytes and an
//! exit code out, with every failure rendered as the spec's error JSON in
//! the version the configuration asked for. Also runs delegated (IPAM)
//! plugins.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use crate::conf::{check_plugin_type, stated_version, NetConf};
use crate::env::{Command, Env};
use crate::error::{codes, Error, ErrorReply};
use crate::json::{Kind, Obj};
use crate::result::CniResult;
use crate::version::{CniVersion, VersionReply};

/// One invocation, as the skeleton hands it to a [`Plugin`].
#[derive(Debug)]
pub struct Request<'a> {
    /// The checked environment.
    pub env: Env,
    /// The raw configuration, for the plugin's own config type to parse.
    pub stdin: &'a [u8],
    /// The fields every plugin shares, already checked.
    pub conf: NetConf,
    /// The version replies are written in.
    pub version: CniVersion,
}

impl Request<'_> {
    /// Runs the IPAM plugin named in `ipam.type` for this request's command,
    /// with the same environment and configuration (see [`delegate`]),
    /// within [`Limits::default`].
    ///
    /// `None` when the configuration has no IPAM section, or when the
    /// command produces no result.
    pub fn delegate_ipam(&self) -> Result<Option<CniResult>, Error> {
        match &self.conf.ipam {
            Some(ipam) => delegate(
                &ipam.plugin_type,
                "ipam.type",
                &self.env,
                self.stdin,
                &Limits::default(),
            ),
            None => Ok(None),
        }
    }
}

/// The commands a plugin implements. VERSION is answered by the skeleton.
///
/// Handlers report failure as an [`ErrorReply`]; the skeleton writes it in
/// the request's version. ADD and DEL are required; CHECK, STATUS and GC
/// have defaults.
pub trait Plugin {
    /// ADD: attach, and return the result (in any version: the skeleton
    /// converts it).
    fn add(&mut self, req: &Request<'_>) -> Result<CniResult, ErrorReply>;
    /// DEL: detach, tolerating whatever is already gone.
    fn del(&mut self, req: &Request<'_>) -> Result<(), ErrorReply>;
    /// CHECK: verify the attachment is as ADD left it (0.4.0 and later).
    ///
    /// The default refuses with code 1 (incompatible version), the code
    /// Go's skeleton answers when a plugin's versions do not allow CHECK: a
    /// plugin that cannot verify its work says so rather than report a
    /// check it never made. A runtime that must not call CHECK on it is
    /// told so by the list's `disableCheck`.
    fn check(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        Err(ErrorReply::new(
            codes::INCOMPATIBLE_VERSION,
            format!(
                "CHECK is not supported by the {} plugin",
                req.conf.plugin_type
            ),
        ))
    }
    /// STATUS: whether ADD can be served now (1.1.0 and later).
    ///
    /// The default answers ready: a plugin with nothing that could keep it
    /// from serving ADD is always available, and the spec's STATUS errors
    /// (50, 51) are for plugins that depend on something.
    fn status(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        let _ = req;
        Ok(())
    }
    /// GC: release what no attachment in `conf.valid_attachments` holds
    /// (1.1.0 and later).
    ///
    /// The default succeeds having released nothing, right for a plugin
    /// that holds nothing beyond what DEL releases.
    fn gc(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        let _ = req;
        Ok(())
    }
}

/// What the plugin process prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The bytes for stdout: a result, a VERSION reply, an error reply, or
    /// nothing.
    pub stdout: Vec<u8>,
    /// The process exit code: 0 on success, 1 on failure.
    pub exit_code: i32,
}

impl From<Error> for ErrorReply {
    /// The error as a reply in the newest version; [`run`] rewrites the
    /// version to the request's.
    fn from(e: Error) -> Self {
        e.to_reply(CniVersion::LATEST)
    }
}

/// Runs one plugin invocation.
///
/// `vars` is the process environment (pass `std::env::vars_os()`), `stdin`
/// the configuration bytes.
///
/// VERSION is answered in the version stdin names when this crate knows it,
/// else in the newest ([`VersionReply::answering`]). Every error reply,
/// whenever it arises, is written in the version a result would be: the
/// configuration's `cniVersion` when this crate knows it,
/// [`CniVersion::UNSTATED`] when it names none, and the newest when stdin
/// is not a configuration or names a version this crate does not know.
pub fn run<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
    stdin: &[u8],
    plugin: &mut impl Plugin,
) -> Outcome
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    match dispatch(vars, stdin, plugin) {
        Ok(stdout) => Outcome {
            stdout,
            exit_code: 0,
        },
        Err(mut reply) => {
            reply.cni_version = reply_version(stdin).to_string();
            Outcome {
                stdout: reply.to_vec(),
                exit_code: 1,
            }
        }
    }
}

fn dispatch<K, V>(
    vars: impl IntoIterator<Item = (K, V)>,
    stdin: &[u8],
    plugin: &mut impl Plugin,
) -> Result<Vec<u8>, ErrorReply>
where
    K: AsRef<OsStr>,
    V: AsRef<OsStr>,
{
    let env = Env::from_vars(vars)?;
    if env.command == Command::Version {
        return Ok(VersionReply::answering(stdin).to_vec());
    }
    let conf = NetConf::from_slice(stdin)?;
    let version = conf.result_version();
    let needs = |minimum: CniVersion| {
        if version >= minimum {
            Ok(())
        } else {
            Err(ErrorReply::from(Error::IncompatibleVersion {
                field: "cniVersion".into(),
                found: version.to_string(),
                expected: format!("{minimum} or later for {}", env.command),
            }))
        }
    };
    let command = env.command;
    match command {
        Command::Check => needs(CniVersion::V0_4_0)?,
        Command::Status | Command::Gc => needs(CniVersion::V1_1_0)?,
        _ => {}
    }
    let req = Request {
        env,
        stdin,
        conf,
        version,
    };
    match command {
        Command::Add => plugin.add(&req).map(|r| r.to_version(version).to_vec()),
        Command::Del => plugin.del(&req).map(|()| Vec::new()),
        Command::Check => plugin.check(&req).map(|()| Vec::new()),
        Command::Status => plugin.status(&req).map(|()| Vec::new()),
        Command::Gc => plugin.gc(&req).map(|()| Vec::new()),
        Command::Version => Ok(VersionReply::answering(stdin).to_vec()),
    }
}

/// The version a result for the configuration `stdin` is written in: its
/// `cniVersion`, or [`CniVersion::UNSTATED`] when it names none.
fn config_version(stdin: &[u8]) -> Result<CniVersion, Error> {
    let mut o = Obj::parse(stdin, "network configuration", Kind::Config)?;
    Ok(stated_version(&mut o)?.unwrap_or(CniVersion::UNSTATED))
}

/// The version error replies are written in (see [`run`]).
fn reply_version(stdin: &[u8]) -> CniVersion {
    config_version(stdin).unwrap_or(CniVersion::LATEST)
}

/// Runs the plugin `plugin_type` found in `env.path` with `env` (its
/// command included) and `stdin` as its configuration, as a runtime would.
///
/// `field` is the configuration field that named the plugin, such as
/// `ipam.type` or `delegate.type`: an error about the name itself (a path
/// rather than a file name) names that field.
///
/// Returns its result for ADD, `None` for other commands. A result without
/// `cniVersion` is read in the configuration's version, as libcni reads it;
/// a result that cannot be read is [`Error::DelegatedResult`], with the
/// code of what is wrong. A plugin that fails is [`Error::Delegated`]
/// carrying its own error reply, so its code reaches the runtime unchanged.
/// The child inherits the rest of this process's environment; its stderr
/// goes to this process's stderr.
pub fn delegate(
    plugin_type: &str,
    field: &str,
    env: &Env,
    stdin: &[u8],
    limits: &Limits,
) -> Result<Option<CniResult>, Error> {
    // Known before the plugin runs, so that a configuration naming an
    // unknown version changes nothing.
    let result_version = match env.command {
        Command::Add => Some(config_version(stdin)?),
        _ => None,
    };
    let exe = find_plugin(plugin_type, field, &env.path)?;
    let mut cmd = std::process::Command::new(&exe);
    let vars: [(&str, Option<String>); 6] = [
        ("CNI_COMMAND", Some(env.command.to_string())),
        (
            "CNI_CONTAINERID",
            env.container_id.as_ref().map(|c| c.to_string()),
        ),
        (
            "CNI_NETNS",
            env.netns.as_ref().map(|p| p.to_string_lossy().into_owned()),
        ),
        ("CNI_IFNAME", env.ifname.as_ref().map(|i| i.to_string())),
        (
            "CNI_ARGS",
            (!env.args.is_empty()).then(|| env.args.to_string()),
        ),
        (
            "CNI_PATH",
            std::env::join_paths(&env.path)
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
        ),
    ];
    for (name, value) in vars {
        match value {
            Some(v) => cmd.env(name, v),
            None => cmd.env_remove(name),
        };
    }
    let io_error = |what: &str| {
        let context = format!("{what} {}", exe.display());
        move |source| Error::Io { context, source }
    };
    // Its own process group, so that a timeout kills whatever it started
    // too (a grandchild holding its stdout would otherwise keep it open).
    cmd.process_group(0);
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io_error("running"))?;
    let output = run_bounded(&mut child, stdin, limits).map_err(|failure| match failure {
        Bounded::Io(what, source) => io_error(what)(source),
        Bounded::TimedOut => Error::DelegateTimeout {
            plugin: plugin_type.to_string(),
            waited: limits.timeout,
        },
        Bounded::TooLarge => Error::DelegateOutput {
            plugin: plugin_type.to_string(),
            limit: limits.max_output,
        },
    })?;
    if !output.status.success() {
        let reply = ErrorReply::from_slice(&output.stdout).unwrap_or_else(|_| ErrorReply {
            cni_version: String::new(),
            code: codes::IO_FAILURE,
            msg: format!("exited with {} and printed no error reply", output.status),
            details: Some(String::from_utf8_lossy(&output.stdout).into_owned()),
        });
        return Err(Error::Delegated {
            plugin: plugin_type.to_string(),
            reply,
        });
    }
    let Some(version) = result_version else {
        return Ok(None);
    };
    let unreadable = |source: Error| Error::DelegatedResult {
        plugin: plugin_type.to_string(),
        source: Box::new(source),
    };
    let value = serde_json::from_slice(&output.stdout).map_err(|source| {
        unreadable(Error::Json {
            input: "result",
            source,
        })
    })?;
    CniResult::from_value(value, "", version)
        .map(Some)
        .map_err(unreadable)
}

/// How long a delegated plugin may run, and how much it may print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How long it may run before it (and what it started) is killed.
    pub timeout: Duration,
    /// How many bytes of stdout are read; more is an error.
    pub max_output: usize,
}

impl Default for Limits {
    /// 60 s (a runtime waits longer for the whole chain), and 1 MiB, far
    /// more than any result.
    fn default() -> Limits {
        Limits {
            timeout: Duration::from_secs(60),
            max_output: 1 << 20,
        }
    }
}

/// Why [`run_bounded`] gave up.
enum Bounded {
    Io(&'static str, std::io::Error),
    TimedOut,
    TooLarge,
}

/// What the stdout reader saw.
enum Drained {
    All(Vec<u8>),
    TooLarge,
    Failed(std::io::Error),
}

/// Feeds `child` its stdin, reads its stdout, and waits for it, within
/// `limits`. Its process group is killed before it is reaped, so nothing it
/// started holds the pipe open after it exits, and a timeout or too much
/// output kills it at once. The group id cannot have been reused then: the
/// unreaped leader still holds it.
fn run_bounded(child: &mut Child, stdin: &[u8], limits: &Limits) -> Result<Output, Bounded> {
    let deadline = Instant::now() + limits.timeout;
    let pid = Pid::from_raw(child.id() as i32);
    let reap = |child: &mut Child| {
        let _ = killpg(pid, Signal::SIGKILL);
        child.wait()
    };
    // Feed stdin from another thread, so a plugin that writes before it has
    // read everything cannot block both sides on full pipes. A plugin may
    // exit without reading its configuration: a broken pipe then says
    // nothing about its answer.
    let mut input = child.stdin.take();
    let bytes = stdin.to_vec();
    if let Err(e) = std::thread::Builder::new()
        .name("delegate-stdin".into())
        .spawn(move || input.as_mut().map(|i| i.write_all(&bytes)))
    {
        let _ = reap(child);
        return Err(Bounded::Io("starting a thread to feed", e));
    }
    let (tx, rx) = mpsc::channel();
    let mut out = child.stdout.take().expect("stdout is piped");
    let max = limits.max_output;
    let reader = std::thread::Builder::new()
        .name("delegate-stdout".into())
        .spawn(move || {
            let mut buf = Vec::new();
            let read = match (&mut out).take(max as u64 + 1).read_to_end(&mut buf) {
                Ok(_) if buf.len() > max => Drained::TooLarge,
                Ok(_) => Drained::All(buf),
                Err(e) => Drained::Failed(e),
            };
            let _ = tx.send(read);
        });
    if let Err(e) = reader {
        let _ = reap(child);
        return Err(Bounded::Io("starting a thread to read", e));
    }
    let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
    let mut read = None;
    loop {
        if read.is_none() {
            read = rx.try_recv().ok();
        }
        if matches!(read, Some(Drained::TooLarge)) {
            let _ = reap(child);
            return Err(Bounded::TooLarge);
        }
        match waitid(Id::Pid(pid), flags) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Ok(WaitStatus::StillAlive) => {
                let _ = reap(child);
                return Err(Bounded::TimedOut);
            }
            Ok(_) => break,
            Err(e) => {
                let _ = reap(child);
                return Err(Bounded::Io("waiting for", e.into()));
            }
        }
    }
    // It has exited and is not reaped yet; everything it printed is in the
    // pipe. Killing its group closes the pipe for good, whatever it left
    // behind (a daemon that means to outlive it starts its own session).
    let status = reap(child).map_err(|e| Bounded::Io("waiting for", e))?;
    let read = match read {
        Some(read) => read,
        None => rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .map_err(|_| Bounded::TimedOut)?,
    };
    match read {
        Drained::All(stdout) => Ok(Output {
            status,
            stdout,
            stderr: Vec::new(),
        }),
        Drained::TooLarge => Err(Bounded::TooLarge),
        Drained::Failed(e) => Err(Bounded::Io("reading the output of", e)),
    }
}

/// The first executable file named `plugin_type` (as `field` gave it) in
/// `path`.
fn find_plugin(plugin_type: &str, field: &str, path: &[PathBuf]) -> Result<PathBuf, Error> {
    check_plugin_type(plugin_type).map_err(|message| Error::InvalidConfig {
        field: field.to_string(),
        message,
    })?;
    let found = path.iter().map(|dir| dir.join(plugin_type)).find(|p| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    });
    found.ok_or_else(|| {
        let dirs: Vec<String> = path.iter().map(|d| d.display().to_string()).collect();
        Error::InvalidEnv {
            var: "CNI_PATH",
            message: if dirs.is_empty() {
                format!("is empty, expected the directories that hold the {plugin_type:?} plugin")
            } else {
                format!(
                    "has no executable {plugin_type:?} in {}, expected one of them to hold it",
                    dirs.join(", ")
                )
            },
        }
    })
}
