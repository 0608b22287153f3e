//! The `CNI_*` environment a runtime hands a plugin.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::str::FromStr;

use netplumb_types::IfName;

use crate::error::Error;
use crate::names::{check_text, ContainerId};

/// The operation a runtime asks for (`CNI_COMMAND`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Add the container to the network.
    Add,
    /// Remove the container from the network.
    Del,
    /// Check that the container's networking is as ADD left it.
    Check,
    /// Report the supported spec versions.
    Version,
    /// Report whether the plugin can serve ADD now (1.1.0).
    Status,
    /// Clean up resources of attachments no longer valid (1.1.0).
    Gc,
}

impl Command {
    /// Every command, in the spec's order.
    pub const ALL: [Command; 6] = [
        Command::Add,
        Command::Del,
        Command::Check,
        Command::Version,
        Command::Status,
        Command::Gc,
    ];

    /// The command as `CNI_COMMAND` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Command::Add => "ADD",
            Command::Del => "DEL",
            Command::Check => "CHECK",
            Command::Version => "VERSION",
            Command::Status => "STATUS",
            Command::Gc => "GC",
        }
    }

    /// Whether the command works on one attachment, and so needs
    /// `CNI_CONTAINERID` and `CNI_IFNAME`.
    pub fn is_per_attachment(self) -> bool {
        matches!(self, Command::Add | Command::Del | Command::Check)
    }

    /// How the command uses `var`, as the spec (1.1) lists the variables
    /// of each command.
    fn uses(self, var: &str) -> Use {
        use Command::*;
        match (self, var) {
            (Add | Check, CONTAINERID | NETNS | IFNAME) | (Del, CONTAINERID | IFNAME) => {
                Use::Required
            }
            (Gc, PATH) => Use::Required,
            (Del, NETNS) | (Add | Del | Check, ARGS) | (Add | Del | Check | Status, PATH) => {
                Use::Optional
            }
            _ => Use::Unused,
        }
    }
}

/// Whether a command needs a variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Must be set.
    Required,
    /// Read when set.
    Optional,
    /// Not read at all, so that it can never fail the command.
    Unused,
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Command {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Command::ALL.into_iter().find(|c| c.as_str() == s).ok_or_else(|| Error::InvalidEnv {
            var: COMMAND,
            message: format!("{s:?} is not a CNI command, expected one of ADD, DEL, CHECK, VERSION, STATUS, GC"),
        })
    }
}

const COMMAND: &str = "CNI_COMMAND";
const CONTAINERID: &str = "CNI_CONTAINERID";
const NETNS: &str = "CNI_NETNS";
const IFNAME: &str = "CNI_IFNAME";
const ARGS: &str = "CNI_ARGS";
const PATH: &str = "CNI_PATH";

/// The extra arguments in `CNI_ARGS`: `KEY=VALUE` pairs separated by `;`,
/// kept in order.
///
/// As in libcni, a key is any non-empty text (`IgnoreUnknown`,
/// `K8S_POD_NAME`, `io.kubernetes.x`); a value is everything after the
/// first `=`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CniArgs(Vec<(String, String)>);

impl CniArgs {
    /// The value of the first pair named `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every pair, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Builds the arguments from pairs. Each must print as a pair that
    /// [`CniArgs::from_str`] reads back: a non-empty key without `=` or
    /// `;`, and a value without `;`.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Result<Self, Error> {
        let mut out = Vec::new();
        for (k, v) in pairs {
            let (k, v) = (k.into(), v.into());
            let pair = format!("{k}={v}");
            if k.is_empty() {
                return Err(bad_pair(&pair, "has an empty key, expected KEY=VALUE"));
            }
            if k.contains(['=', ';']) || v.contains(';') {
                return Err(bad_pair(
                    &pair,
                    "has '=' or ';' in its key or ';' in its value, \
                     expected KEY=VALUE pairs separated by ';'",
                ));
            }
            out.push((k, v));
        }
        Ok(CniArgs(out))
    }

    /// Reads what can be read: the pairs that parse, and an error for each
    /// one that does not. For DEL, which a malformed `CNI_ARGS` must not
    /// stop.
    fn parse_lenient(s: &str) -> (CniArgs, Vec<Error>) {
        let (good, bad): (Vec<_>, Vec<_>) = pairs(s).partition(Result::is_ok);
        (
            CniArgs(good.into_iter().filter_map(Result::ok).collect()),
            bad.into_iter().filter_map(Result::err).collect(),
        )
    }
}

fn bad_pair(pair: &str, why: &str) -> Error {
    Error::InvalidEnv {
        var: ARGS,
        message: format!("{pair:?} {why}"),
    }
}

/// The pairs of `K=V;K=V`; empty segments (a trailing `;`) are skipped.
fn pairs(s: &str) -> impl Iterator<Item = Result<(String, String), Error>> + '_ {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            None => Err(bad_pair(
                pair,
                "has no '=', expected KEY=VALUE pairs separated by ';'",
            )),
            Some(("", _)) => Err(bad_pair(pair, "has an empty key, expected KEY=VALUE")),
            Some((key, value)) => Ok((key.to_string(), value.to_string())),
        })
}

impl FromStr for CniArgs {
    type Err = Error;

    /// Parses `K=V;K=V`. Empty segments (a trailing `;`) are skipped; a
    /// segment without `=`, or with an empty key, is an error naming
    /// `CNI_ARGS` and the segment.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        pairs(s).collect::<Result<_, _>>().map(CniArgs)
    }
}

impl fmt::Display for CniArgs {
    /// Writes the canonical `K=V;K=V` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (k, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(";")?;
            }
            write!(f, "{k}={v}")?;
        }
        Ok(())
    }
}

/// The plugin's environment, checked against what its command needs.
///
/// Each command reads the variables the spec lists for it, and only those:
/// a variable a command does not use is left out (`None` or empty) and can
/// never fail it. For ADD, CHECK and DEL, `container_id` and `ifname` are
/// always `Some`; for ADD and CHECK, `netns` is too. GC requires
/// `CNI_PATH`; STATUS reads it when set; VERSION reads nothing else.
///
/// DEL must never be stopped by a variable it can do without: a malformed
/// `CNI_ARGS` keeps the pairs that parse, a relative `CNI_NETNS` (which
/// ADD and CHECK refuse) is left out, and each problem goes to `warnings`
/// for the plugin to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `CNI_COMMAND`.
    pub command: Command,
    /// `CNI_CONTAINERID`.
    pub container_id: Option<ContainerId>,
    /// `CNI_NETNS`: absolute path to the container's network namespace.
    pub netns: Option<PathBuf>,
    /// `CNI_IFNAME`: the interface name inside the container.
    pub ifname: Option<IfName>,
    /// `CNI_ARGS`.
    pub args: CniArgs,
    /// `CNI_PATH`: directories to search for plugins, in order.
    pub path: Vec<PathBuf>,
    /// What was wrong with variables the command went on without, each
    /// message naming its variable (see above).
    pub warnings: Vec<String>,
}

impl Env {
    /// Reads the environment from `(name, value)` pairs; other variables are
    /// ignored, and an empty value counts as unset.
    ///
    /// In a plugin binary, pass `std::env::vars_os()`:
    ///
    /// ```no_run
    /// let env = netplumb_cniconf::Env::from_vars(std::env::vars_os());
    /// ```
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Env, Error>
    where
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut found: [Option<OsString>; 6] = Default::default();
        const NAMES: [&str; 6] = [COMMAND, CONTAINERID, NETNS, IFNAME, ARGS, PATH];
        for (k, v) in vars {
            if let Some(i) = NAMES.iter().position(|n| OsStr::new(n) == k.as_ref()) {
                if !v.as_ref().is_empty() {
                    found[i] = Some(v.as_ref().to_os_string());
                }
            }
        }
        let [command, container_id, netns, ifname, args, path] = found;
        let command: Command = match command {
            Some(c) => text(COMMAND, c)?.parse()?,
            None => {
                return Err(Error::InvalidEnv {
                    var: COMMAND,
                    message: "is not set, expected one of ADD, DEL, CHECK, VERSION, STATUS, GC"
                        .into(),
                })
            }
        };
        let read = |var: &'static str, value: Option<OsString>| match command.uses(var) {
            Use::Required if value.is_none() => Err(Error::MissingEnv { var, command }),
            Use::Required | Use::Optional => Ok(value),
            Use::Unused => Ok(None),
        };
        let container_id = read(CONTAINERID, container_id)?
            .map(|v| {
                text(CONTAINERID, v)?
                    .parse::<ContainerId>()
                    .map_err(|why| invalid(CONTAINERID, why))
            })
            .transpose()?;
        let ifname = read(IFNAME, ifname)?.map(ifname_of).transpose()?;
        let mut warnings = Vec::new();
        let netns = match read(NETNS, netns)?.map(PathBuf::from) {
            Some(path) if path.is_relative() => {
                let why = format!(
                    "{:?} is a relative path, expected an absolute one such as /run/netns/NAME",
                    path.display().to_string()
                );
                relative(NETNS, why, command, &mut warnings)?;
                None
            }
            other => other,
        };
        let args = match (read(ARGS, args)?, command) {
            (None, _) => CniArgs::default(),
            (Some(a), Command::Del) => match text(ARGS, a) {
                Ok(a) => {
                    let (args, problems) = CniArgs::parse_lenient(&a);
                    warnings.extend(problems.iter().map(Error::to_string));
                    args
                }
                Err(e) => {
                    warnings.push(e.to_string());
                    CniArgs::default()
                }
            },
            (Some(a), _) => text(ARGS, a)?.parse()?,
        };
        let mut dirs: Vec<PathBuf> = Vec::new();
        for dir in read(PATH, path)?.iter().flat_map(std::env::split_paths) {
            if dir.as_os_str().is_empty() {
                continue;
            }
            if dir.is_relative() {
                let why = format!(
                    "has the relative directory {:?}, expected absolute ones",
                    dir.display().to_string()
                );
                relative(PATH, why, command, &mut warnings)?;
                continue;
            }
            dirs.push(dir);
        }
        Ok(Env {
            command,
            container_id,
            netns,
            ifname,
            args,
            path: dirs,
            warnings,
        })
    }
}

/// The value of `var` as text.
fn text(var: &'static str, value: OsString) -> Result<String, Error> {
    value.into_string().map_err(|v| Error::InvalidEnv {
        var,
        message: format!("{v:?} is not valid UTF-8, expected text"),
    })
}

/// `CNI_IFNAME` as an interface name: by the kernel's rules, on its bytes,
/// so that a name the kernel refuses is reported by the rule it breaks
/// whatever its encoding; then as text, which results carry it as.
fn ifname_of(value: OsString) -> Result<IfName, Error> {
    let name = IfName::new(value.as_bytes()).map_err(|why| invalid(IFNAME, why))?;
    check_text(&name).map_err(|why| invalid(IFNAME, why))?;
    Ok(name)
}

/// A bad value of `var`: code 4 naming `var`.
/// A relative path in `var` would be looked up from wherever the runtime
/// happened to start the plugin: refused, except by DEL, which goes on
/// without it (a warning says so) so that cleanup runs.
fn relative(
    var: &'static str,
    why: String,
    command: Command,
    warnings: &mut Vec<String>,
) -> Result<(), Error> {
    if command != Command::Del {
        return Err(invalid(var, why));
    }
    warnings.push(format!("{var}: {why}; it is left out"));
    Ok(())
}

fn invalid(var: &'static str, why: impl fmt::Display) -> Error {
    Error::InvalidEnv {
        var,
        message: why.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    fn env(vars: &[(&str, &str)]) -> Result<Env, Error> {
        Env::from_vars(vars.iter().copied())
    }

    const ADD: [(&str, &str); 5] = [
        ("CNI_COMMAND", "ADD"),
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", "/run/netns/p"),
        ("CNI_IFNAME", "net1"),
        ("CNI_PATH", "/opt/cni/bin:/usr/lib/cni"),
    ];

    #[test]
    fn add_reads_every_variable() {
        let mut vars = ADD.to_vec();
        vars.push(("CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAME=p"));
        vars.push(("HOME", "/root"));
        let e = env(&vars).unwrap();
        assert_eq!(e.command, Command::Add);
        assert_eq!(e.container_id.unwrap().as_str(), "c1");
        assert_eq!(e.netns.unwrap(), PathBuf::from("/run/netns/p"));
        assert_eq!(e.ifname.unwrap(), "net1");
        assert_eq!(e.args.get("K8S_POD_NAME"), Some("p"));
        assert_eq!(
            e.path,
            vec![PathBuf::from("/opt/cni/bin"), PathBuf::from("/usr/lib/cni")]
        );
    }

    #[test]
    fn version_needs_only_the_command() {
        assert_eq!(
            env(&[("CNI_COMMAND", "VERSION")]).unwrap().command,
            Command::Version
        );
    }

    #[test]
    fn status_and_gc_need_no_attachment() {
        assert!(env(&[("CNI_COMMAND", "STATUS")]).is_ok());
        assert!(env(&[("CNI_COMMAND", "GC"), ("CNI_PATH", "/opt/cni/bin")]).is_ok());
        let err = env(&[("CNI_COMMAND", "GC")]).unwrap_err();
        assert_eq!(err.to_string(), "CNI_PATH is not set; GC needs it");

        // Relative directories: refused, but skipped by DEL, so that
        // cleanup runs.
        let vars = |command| {
            vec![
                ("CNI_COMMAND", command),
                ("CNI_CONTAINERID", "c1"),
                ("CNI_IFNAME", "net1"),
                ("CNI_NETNS", "/run/netns/p"),
                ("CNI_PATH", "/opt/cni/bin:bin::./x"),
            ]
        };
        let err = env(&vars("ADD")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CNI_PATH: has the relative directory \"bin\", expected absolute ones"
        );
        assert_eq!(err.code(), codes::INVALID_ENV);
        let del = env(&vars("DEL")).unwrap();
        assert_eq!(del.path, [PathBuf::from("/opt/cni/bin")]);
        assert_eq!(del.warnings.len(), 2, "{:?}", del.warnings);
    }

    #[test]
    fn check_does_not_need_cni_path() {
        let vars = [
            ("CNI_COMMAND", "CHECK"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", "/run/netns/p"),
            ("CNI_IFNAME", "net1"),
        ];
        let e = env(&vars).unwrap();
        assert_eq!(e.command, Command::Check);
        assert!(e.path.is_empty());
    }

    #[test]
    fn unused_variables_are_not_read() {
        let junk = [
            ("CNI_CONTAINERID", "../etc"),
            ("CNI_IFNAME", "much-too-long-name"),
            ("CNI_ARGS", "no-equals-sign"),
            ("CNI_NETNS", "/run/netns/p"),
        ];
        for command in ["VERSION", "STATUS", "GC"] {
            let mut vars = vec![("CNI_COMMAND", command), ("CNI_PATH", "/opt/cni/bin")];
            vars.extend(junk);
            let e = env(&vars).unwrap_or_else(|err| panic!("{command}: {err}"));
            assert_eq!(
                (e.container_id, e.ifname, e.netns, e.args),
                (None, None, None, CniArgs::default()),
                "{command}"
            );
        }
    }

    #[test]
    fn del_is_not_stopped_by_a_malformed_cni_args() {
        let vars = [
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "net1"),
            ("CNI_ARGS", "A=1;B;=2;C=3"),
        ];
        let e = env(&vars).unwrap();
        assert_eq!(e.args.to_string(), "A=1;C=3");
        assert_eq!(
            e.warnings,
            [
                "CNI_ARGS: \"B\" has no '=', expected KEY=VALUE pairs separated by ';'",
                "CNI_ARGS: \"=2\" has an empty key, expected KEY=VALUE",
            ]
        );
        // ADD needs its arguments whole.
        let mut add = ADD.to_vec();
        add.push(("CNI_ARGS", "A=1;B"));
        assert_eq!(env(&add).unwrap_err().code(), codes::INVALID_ENV);
    }

    #[test]
    fn a_relative_netns_is_refused_but_ignored_by_del() {
        for command in ["ADD", "CHECK"] {
            let mut vars = ADD.to_vec();
            vars[0] = ("CNI_COMMAND", command);
            vars[2] = ("CNI_NETNS", "proc/1/ns/net");
            let err = env(&vars).unwrap_err();
            assert_eq!(err.code(), codes::INVALID_ENV, "{command}");
            assert_eq!(
                err.to_string(),
                "CNI_NETNS: \"proc/1/ns/net\" is a relative path, expected an absolute one \
                 such as /run/netns/NAME"
            );
        }
        let mut vars = ADD.to_vec();
        vars[0] = ("CNI_COMMAND", "DEL");
        vars[2] = ("CNI_NETNS", "netns");
        let del = env(&vars).unwrap();
        assert_eq!(del.netns, None);
        assert_eq!(del.warnings.len(), 1, "{:?}", del.warnings);
        assert!(
            del.warnings[0].starts_with("CNI_NETNS: "),
            "{:?}",
            del.warnings
        );
    }

    #[test]
    fn del_may_omit_netns() {
        let vars = [
            ("CNI_COMMAND", "DEL"),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_IFNAME", "net1"),
        ];
        assert_eq!(env(&vars).unwrap().netns, None);
    }

    #[test]
    fn each_required_variable_is_named_when_missing() {
        for (skip, _) in &ADD[1..4] {
            let vars: Vec<_> = ADD.iter().copied().filter(|(k, _)| k != skip).collect();
            let err = env(&vars).unwrap_err();
            assert_eq!(err.code(), codes::INVALID_ENV);
            assert_eq!(err.to_string(), format!("{skip} is not set; ADD needs it"));
        }
    }

    #[test]
    fn empty_value_counts_as_unset() {
        let mut vars = ADD.to_vec();
        vars[3] = ("CNI_IFNAME", "");
        assert!(matches!(
            env(&vars),
            Err(Error::MissingEnv {
                var: "CNI_IFNAME",
                ..
            })
        ));
    }

    #[test]
    fn missing_or_unknown_command() {
        let err = env(&[]).unwrap_err();
        assert!(
            err.to_string().starts_with("CNI_COMMAND: is not set"),
            "{err}"
        );
        let err = env(&[("CNI_COMMAND", "add")]).unwrap_err();
        assert_eq!(err.code(), codes::INVALID_ENV);
        assert!(
            err.to_string().contains("\"add\" is not a CNI command"),
            "{err}"
        );
    }

    #[test]
    fn bad_ifname_names_the_variable() {
        let mut vars = ADD.to_vec();
        vars[3] = ("CNI_IFNAME", "much-too-long-name");
        let err = env(&vars).unwrap_err();
        assert_eq!(err.code(), codes::INVALID_ENV);
        assert!(
            err.to_string().starts_with(
                "CNI_IFNAME: \"much-too-long-name\" is not a valid interface name: it is \
                 longer than 15 bytes"
            ),
            "{err}"
        );
    }

    #[test]
    fn ifname_the_kernel_would_not_give_stops_at_step_1() {
        // '%' makes the kernel pick the name; 0xA0 is whitespace to it, and
        // is in the UTF-8 of "à".
        for (name, rule) in [
            ("net%d", "it contains '%'"),
            ("à", "it contains whitespace"),
            ("eth\u{a0}1", "it contains whitespace"),
        ] {
            for command in ["ADD", "CHECK", "DEL"] {
                let mut vars = ADD.to_vec();
                vars[0] = ("CNI_COMMAND", command);
                vars[3] = ("CNI_IFNAME", name);
                let err = env(&vars).unwrap_err();
                assert_eq!(err.code(), codes::INVALID_ENV, "{command} {name}");
                assert!(
                    matches!(
                        err,
                        Error::InvalidEnv {
                            var: "CNI_IFNAME",
                            ..
                        }
                    ),
                    "{err:?}"
                );
                assert!(
                    err.to_string().starts_with(&format!(
                        "CNI_IFNAME: {name:?} is not a valid interface name: {rule}"
                    )),
                    "{err}"
                );
            }
        }
    }

    #[test]
    fn ifname_bytes_are_checked_by_the_kernels_rules_then_as_text() {
        use std::os::unix::ffi::OsStringExt;
        let with_ifname = |bytes: &[u8]| {
            let mut vars: Vec<(OsString, OsString)> = ADD
                .iter()
                .map(|(k, v)| (OsString::from(k), OsString::from(v)))
                .collect();
            vars[3].1 = OsString::from_vec(bytes.to_vec());
            Env::from_vars(vars).unwrap_err().to_string()
        };
        assert!(
            with_ifname(b"net\xa0").starts_with(
                "CNI_IFNAME: \"net\\\\xa0\" is not a valid interface name: it contains whitespace"
            ),
            "{}",
            with_ifname(b"net\xa0")
        );
        assert_eq!(
            with_ifname(b"net\xff"),
            "CNI_IFNAME: \"net\\xff\" is not UTF-8, expected a name in text, as JSON carries it"
        );
    }

    #[test]
    fn bad_container_id_names_the_variable() {
        let mut vars = ADD.to_vec();
        vars[1] = ("CNI_CONTAINERID", "../etc");
        let err = env(&vars).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("CNI_CONTAINERID: \"../etc\" starts with '.'"),
            "{err}"
        );
    }

    #[test]
    fn non_utf8_value_is_rejected() {
        use std::os::unix::ffi::OsStringExt;
        let vars = vec![
            (OsString::from("CNI_COMMAND"), OsString::from("DEL")),
            (
                OsString::from("CNI_CONTAINERID"),
                OsString::from_vec(vec![0x61, 0xff]),
            ),
            (OsString::from("CNI_IFNAME"), OsString::from("net1")),
        ];
        let err = Env::from_vars(vars).unwrap_err();
        assert!(err.to_string().starts_with("CNI_CONTAINERID: "), "{err}");
    }

    #[test]
    fn cni_args_parse_and_print() {
        let args: CniArgs = "IgnoreUnknown=1;MAC=02:00:00:00:00:01;".parse().unwrap();
        assert_eq!(args.get("MAC"), Some("02:00:00:00:00:01"));
        assert_eq!(args.to_string(), "IgnoreUnknown=1;MAC=02:00:00:00:00:01");
        assert!("".parse::<CniArgs>().unwrap().is_empty());
    }

    #[test]
    fn cni_args_take_any_non_empty_key_as_libcni_does() {
        let args: CniArgs = "io.kubernetes.pod=x;K8S_POD_NAME=p;A B=1;U=a=b"
            .parse()
            .unwrap();
        assert_eq!(args.get("io.kubernetes.pod"), Some("x"));
        assert_eq!(args.get("A B"), Some("1"));
        assert_eq!(args.get("U"), Some("a=b"));
        assert_eq!(args.to_string().parse::<CniArgs>().unwrap(), args);
    }

    #[test]
    fn cni_args_errors_name_the_pair() {
        for (bad, why) in [
            ("A=1;B", "\"B\" has no '='"),
            ("=1", "\"=1\" has an empty key"),
        ] {
            let err = bad.parse::<CniArgs>().unwrap_err();
            assert_eq!(err.code(), codes::INVALID_ENV);
            assert!(
                err.to_string().starts_with(&format!("CNI_ARGS: {why}")),
                "{err}"
            );
        }
    }

    #[test]
    fn cni_args_from_pairs_checks_like_the_parser() {
        assert!(CniArgs::from_pairs([("io.k8s.x", "a=b")]).is_ok());
        for (k, v) in [("K", "a;b"), ("K=1", "v"), ("K;L", "v"), ("", "v")] {
            let err = CniArgs::from_pairs([(k, v)]).unwrap_err();
            assert!(err.to_string().starts_with("CNI_ARGS: "), "{err}");
        }
    }
}
