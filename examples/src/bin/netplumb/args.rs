//! The command line.

use std::path::PathBuf;

use netplumb_plugin::journal::DEFAULT_DATA_DIR;
use netplumb_vf::{Allocator, IfName, VfLinkState};

pub(crate) const HELP: &str = "\
usage: netplumb [OPTIONS] COMMAND [ARGS]

SR-IOV on this node, as the netplumb plugins see it.

commands:
  list            PFs and VFs, their settings, and which attachment holds each
  enable PF N     enable N VFs on PF, with defaults for their settings
  show [ID]       the plugins' attachments; for container ID, what was done there
  gc --dry-run    the attachments whose pod's network namespace is gone

options (for every command):
  --sysfs ROOT      read the sysfs tree at ROOT instead of /sys
  --data-dir DIR    the plugins' dataDir, where the journal is
                    (default /var/lib/cni/netplumb)
  --claims DIR      where the VF claims are (default /run/netplumb)
  -h, --help        this help; `netplumb COMMAND --help` for a command's

exit status: 0 done, 1 failed (the reason is on stderr), 2 bad usage,
3 refused because VFs are in use.
";

pub(crate) const LIST_HELP: &str = "\
usage: netplumb list [--json] [--pretty]

Lists every network PCI function that is not a VF, and the VFs of each
SR-IOV PF: PCI address, driver, VF index, netdev (or where it is: in a
pod, userspace (DPDK), none yet, no driver), MAC, the PF-side VLAN, spoof
check, trust, link state and TX rates (min/max Mbit/s), and the
attachment holding it (network, container ID, interface in the pod) from
the plugins' journal, or from the VF's claim when the journal is under
another dataDir. A PF's row shows its enabled and total VFs in the VF
column; a PF-side value that cannot be read is \"?\", one not set \"-\".

  --json     JSON shaped like the SR-IOV operator's SriovNetworkNodeState
             status ({\"interfaces\": [...]}, with each PF's \"Vfs\"); VFs also
             carry \"Vlan\", \"vlanQoS\", \"vlanProto\", \"spoofChk\", \"trust\",
             \"linkState\", \"minTxRate\", \"maxTxRate\", \"adminMac\" and
             \"attachment\" ({\"network\", \"containerID\", \"ifname\"})
  --pretty   indent the JSON

Devices or settings that cannot be read are left out and named on stderr.
";

pub(crate) const ENABLE_HELP: &str = "\
usage: netplumb enable PF COUNT [--spoofchk on|off] [--trust on|off]
                                [--link-state auto|enable|disable] [--mtu N]
                                [--wait SECONDS]

Sets PF's VF count to COUNT (sriov_numvfs), then gives every VF of PF that
no pod holds the settings asked for. Running it again changes nothing
that is already so, which makes it fit for a boot-time unit (see
deploy/netplumb-vfs@.service).

Changing the count of a PF that has VFs destroys them all (the kernel
goes through 0): when a pod holds one of them, or one is in another
network namespace, nothing is changed and the status is 3. Delete those
pods first (`netplumb list` names them).

  --spoofchk on|off     MAC spoof checking, PF side
  --trust on|off        trusted mode, PF side
  --link-state STATE    auto, enable or disable, PF side
  --mtu N               the VFs' netdev MTU (at most the PF's)
  --wait SECONDS        how long to wait for new VFs' netdevs before
                        setting their MTU (default 10)
";

pub(crate) const SHOW_HELP: &str = "\
usage: netplumb show [CONTAINER-ID]

Without an ID: every attachment the plugins' journal holds: network,
container ID, interface, plugin, the VF it holds, whether the pod's
network namespace is still there, and whether its ADD finished.

With an ID (or an unambiguous prefix of one): for each of that
container's attachments, every step the plugin took and what DEL will
put back: the VF claimed, its state before, its move into the pod, the
bond, IPAM, the device-info file, and the result.
";

pub(crate) const GC_HELP: &str = "\
usage: netplumb gc --dry-run

Lists the attachments whose pod's network namespace is gone, and what a
GC (or DEL) would undo for each. Nothing is changed: the runtime's CNI GC
and DEL run the plugin with the network's configuration, which is what
undoes them (IPAM included); a VF whose pod is gone is taken back by the
next ADD that wants it.
";

/// Options every command takes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Global {
    pub sysfs: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub claims: PathBuf,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ListOpts {
    pub json: bool,
    pub pretty: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnableOpts {
    pub pf: IfName,
    pub count: u32,
    pub spoofchk: Option<bool>,
    pub trust: Option<bool>,
    pub link_state: Option<VfLinkState>,
    pub mtu: Option<u32>,
    pub wait_secs: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShowOpts {
    pub container: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    List(ListOpts),
    Enable(EnableOpts),
    Show(ShowOpts),
    GcDryRun,
}

/// Why there is nothing to run.
#[derive(Debug, PartialEq)]
pub(crate) enum Usage {
    /// Help was asked for: print it, status 0.
    Help(&'static str),
    /// The command line is wrong: the message, and the help that fits.
    Wrong { message: String, help: &'static str },
}

fn wrong(message: impl Into<String>, help: &'static str) -> Usage {
    Usage::Wrong {
        message: message.into(),
        help,
    }
}

fn on_off(option: &str, value: &str, help: &'static str) -> Result<bool, Usage> {
    match value {
        "on" | "true" => Ok(true),
        "off" | "false" => Ok(false),
        _ => Err(wrong(
            format!("{option} {value:?}: expected on or off"),
            help,
        )),
    }
}

/// Parses the arguments after the program name.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<(Global, Command), Usage> {
    let mut global = Global {
        sysfs: None,
        data_dir: PathBuf::from(DEFAULT_DATA_DIR),
        claims: PathBuf::from(Allocator::HOST_DIR),
    };
    let mut command: Option<String> = None;
    let mut rest: Vec<String> = Vec::new();
    let mut help = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        // --opt=value is --opt value.
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_owned(), Some(value.to_owned()))
            }
            _ => (arg.clone(), None),
        };
        let help_now = command_help(command.as_deref());
        let mut value = |what: &str| -> Result<String, Usage> {
            inline
                .clone()
                .or_else(|| args.next())
                .filter(|v| !v.is_empty())
                .ok_or_else(|| wrong(format!("{name} needs {what}"), help_now))
        };
        match name.as_str() {
            "-h" | "--help" => help = true,
            "--sysfs" => global.sysfs = Some(PathBuf::from(value("a directory, like /sys")?)),
            "--data-dir" => global.data_dir = PathBuf::from(value("a directory")?),
            "--claims" => global.claims = PathBuf::from(value("a directory")?),
            _ if command.is_none() && !arg.starts_with('-') => command = Some(arg),
            // Command options take their values here too.
            "--spoofchk" | "--trust" | "--link-state" | "--mtu" | "--wait" => {
                let v = value("a value")?;
                rest.push(name);
                rest.push(v);
            }
            _ => rest.push(arg),
        }
    }
    let Some(command) = command else {
        return Err(if help {
            Usage::Help(HELP)
        } else {
            wrong("no command given", HELP)
        });
    };
    let help_text = command_help(Some(&command));
    if help {
        return Err(Usage::Help(help_text));
    }
    if !global.data_dir.is_absolute() || !global.claims.is_absolute() {
        return Err(wrong("--data-dir and --claims take absolute paths", HELP));
    }
    let command = match command.as_str() {
        "list" => parse_list(rest)?,
        "enable" => parse_enable(rest)?,
        "show" => match rest.as_slice() {
            [] => Command::Show(ShowOpts { container: None }),
            [id] if !id.starts_with('-') => Command::Show(ShowOpts {
                container: Some(id.clone()),
            }),
            _ => return Err(wrong(format!("show: unexpected {:?}", rest), SHOW_HELP)),
        },
        "gc" => match rest.as_slice() {
            [flag] if flag == "--dry-run" => Command::GcDryRun,
            [] => {
                return Err(wrong(
                    "gc needs --dry-run: this only shows what a GC would remove; the runtime's CNI GC or DEL removes it",
                    GC_HELP,
                ))
            }
            _ => return Err(wrong(format!("gc: unexpected {:?}", rest), GC_HELP)),
        },
        "help" => return Err(Usage::Help(rest.first().map_or(HELP, |c| command_help(Some(c))))),
        other => {
            return Err(wrong(
                format!("unknown command {other:?}: expected list, enable, show or gc"),
                HELP,
            ))
        }
    };
    Ok((global, command))
}

fn command_help(command: Option<&str>) -> &'static str {
    match command {
        Some("list") => LIST_HELP,
        Some("enable") => ENABLE_HELP,
        Some("show") => SHOW_HELP,
        Some("gc") => GC_HELP,
        _ => HELP,
    }
}

fn parse_list(rest: Vec<String>) -> Result<Command, Usage> {
    let mut opts = ListOpts {
        json: false,
        pretty: false,
    };
    for arg in rest {
        match arg.as_str() {
            "--json" => opts.json = true,
            "--pretty" => opts.pretty = true,
            _ => return Err(wrong(format!("list: unknown argument {arg:?}"), LIST_HELP)),
        }
    }
    if opts.pretty && !opts.json {
        return Err(wrong("list: --pretty goes with --json", LIST_HELP));
    }
    Ok(Command::List(opts))
}

fn parse_enable(rest: Vec<String>) -> Result<Command, Usage> {
    let h = ENABLE_HELP;
    let mut positional = Vec::new();
    let mut opts = EnableOpts {
        pf: IfName::new(b"x").expect("a valid name"),
        count: 0,
        spoofchk: None,
        trust: None,
        link_state: None,
        mtu: None,
        wait_secs: 10,
    };
    let mut rest = rest.into_iter();
    while let Some(arg) = rest.next() {
        let mut value = || rest.next().expect("the value was taken with its option");
        match arg.as_str() {
            "--spoofchk" => opts.spoofchk = Some(on_off(&arg, &value(), h)?),
            "--trust" => opts.trust = Some(on_off(&arg, &value(), h)?),
            "--link-state" => {
                let v = value();
                opts.link_state = Some(
                    v.parse()
                        .map_err(|e| wrong(format!("--link-state: {e}"), h))?,
                );
            }
            "--mtu" => {
                let v = value();
                let mtu = v
                    .parse::<u32>()
                    .ok()
                    .filter(|m| (68..=65535).contains(m))
                    .ok_or_else(|| {
                        wrong(
                            format!("--mtu {v:?}: expected a number from 68 to 65535"),
                            h,
                        )
                    })?;
                opts.mtu = Some(mtu);
            }
            "--wait" => {
                let v = value();
                opts.wait_secs = v
                    .parse()
                    .map_err(|_| wrong(format!("--wait {v:?}: expected a number of seconds"), h))?;
            }
            _ if arg.starts_with('-') => {
                return Err(wrong(format!("enable: unknown option {arg:?}"), h))
            }
            _ => positional.push(arg),
        }
    }
    let [pf, count] = positional.as_slice() else {
        return Err(wrong(
            "enable needs a PF and a VF count, like: netplumb enable ens1f0 8",
            h,
        ));
    };
    opts.pf = pf
        .parse()
        .map_err(|e| wrong(format!("PF {pf:?}: {e}"), h))?;
    opts.count = count
        .parse()
        .map_err(|_| wrong(format!("VF count {count:?}: expected a number, like 8"), h))?;
    Ok(Command::Enable(opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_strs(args: &[&str]) -> Result<(Global, Command), Usage> {
        parse(args.iter().map(|s| s.to_string()))
    }

    fn message(args: &[&str]) -> String {
        match parse_strs(args) {
            Err(Usage::Wrong { message, .. }) => message,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn global_options_go_anywhere() {
        let (global, command) =
            parse_strs(&["list", "--sysfs", "/tmp/s", "--json", "--data-dir=/tmp/d"]).unwrap();
        assert_eq!(global.sysfs, Some(PathBuf::from("/tmp/s")));
        assert_eq!(global.data_dir, PathBuf::from("/tmp/d"));
        assert_eq!(global.claims, PathBuf::from("/run/netplumb"));
        assert_eq!(
            command,
            Command::List(ListOpts {
                json: true,
                pretty: false
            })
        );
    }

    #[test]
    fn enable_takes_a_pf_a_count_and_defaults() {
        let (_, command) = parse_strs(&[
            "enable",
            "ens1f0",
            "7",
            "--spoofchk",
            "off",
            "--trust=on",
            "--link-state",
            "enable",
            "--mtu",
            "9000",
        ])
        .unwrap();
        let Command::Enable(opts) = command else {
            panic!()
        };
        assert_eq!(opts.pf.to_string(), "ens1f0");
        assert_eq!(opts.count, 7);
        assert_eq!((opts.spoofchk, opts.trust), (Some(false), Some(true)));
        assert_eq!(opts.link_state, Some(VfLinkState::Enable));
        assert_eq!(opts.mtu, Some(9000));
    }

    #[test]
    fn help_for_each_command() {
        assert_eq!(parse_strs(&["--help"]), Err(Usage::Help(HELP)));
        assert_eq!(parse_strs(&["list", "-h"]), Err(Usage::Help(LIST_HELP)));
        assert_eq!(
            parse_strs(&["enable", "--help"]),
            Err(Usage::Help(ENABLE_HELP))
        );
        assert_eq!(parse_strs(&["help", "show"]), Err(Usage::Help(SHOW_HELP)));
        assert_eq!(parse_strs(&["gc", "--help"]), Err(Usage::Help(GC_HELP)));
    }

    #[test]
    fn wrong_usage_says_what_to_do() {
        assert!(message(&[]).contains("no command"));
        assert!(message(&["frob"]).contains("expected list, enable, show or gc"));
        assert!(message(&["enable", "ens1f0"]).contains("like: netplumb enable ens1f0 8"));
        assert!(message(&["enable", "ens1f0", "eight"]).contains("expected a number"));
        assert!(message(&["enable", "net%d", "2"]).contains("not a valid interface name"));
        assert!(message(&["enable", "ens1f0", "2", "--spoofchk", "maybe"]).contains("on or off"));
        assert!(message(&["enable", "ens1f0", "2", "--mtu", "20"]).contains("68 to 65535"));
        assert!(message(&["enable", "ens1f0", "2", "--link-state", "up"]).contains("--link-state"));
        assert!(message(&["enable", "ens1f0", "2", "--mtu"]).contains("--mtu needs"));
        assert!(message(&["gc"]).contains("gc needs --dry-run"));
        assert!(message(&["list", "--pretty"]).contains("--pretty goes with --json"));
        assert!(message(&["show", "a", "b"]).contains("unexpected"));
        assert!(message(&["list", "--data-dir", "rel"]).contains("absolute"));
    }
}
