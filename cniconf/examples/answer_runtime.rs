//! A CNI plugin skeleton that parses an `sriov` configuration and answers
//! the runtime, without touching the kernel: ADD answers with the
//! interface the configuration asks for (its name, MAC and sandbox) in the
//! configuration's `cniVersion`, DEL succeeds, VERSION lists the versions,
//! and a bad configuration is a CNI error reply naming the field.
//!
//! Run without `CNI_COMMAND`, it plays a runtime and shows a few
//! invocations and their answers. With `CNI_COMMAND` set it is a plugin,
//! reading the environment and stdin as a runtime would pass them:
//!
//! ```sh
//! cargo run -p netplumb-cniconf --example answer_runtime
//! echo '{"cniVersion":"1.0.0","name":"n","type":"sriov","deviceID":"0000:3b:02.0","vlan":100}' |
//!   CNI_COMMAND=ADD CNI_CONTAINERID=c1 CNI_NETNS=/run/netns/pod CNI_IFNAME=net1 CNI_PATH=/opt/cni/bin \
//!   cargo run -q -p netplumb-cniconf --example answer_runtime
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use std::io::{Read, Write};

use netplumb_cniconf::skel::{self, Plugin, Request};
use netplumb_cniconf::{CniResult, ErrorReply, Interface, SriovConf, VfSelector};

/// The plugin: everything it knows comes from the request.
struct Echo;

impl Plugin for Echo {
    fn add(&mut self, req: &Request<'_>) -> Result<CniResult, ErrorReply> {
        let conf = SriovConf::from_slice(req.stdin)?;
        let vf = match conf.vf_selector()? {
            VfSelector::Device { pci, .. } => format!("VF {pci}"),
            VfSelector::FreeVfOf(pf) => format!("a free VF of {pf}"),
        };
        eprintln!("would attach {vf} with vlan {:?}", conf.vlan);
        let mut result = CniResult::new(req.version);
        result.interfaces.push(Interface {
            name: req.env.ifname.map(|n| n.to_string()).unwrap_or_default(),
            mac: conf.effective_mac(&req.env.args)?.map(|m| m.to_string()),
            sandbox: req.env.netns.as_ref().map(|p| p.display().to_string()),
            ..Default::default()
        });
        Ok(result)
    }

    fn del(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        // DEL must succeed whatever is already gone; a configuration that
        // cannot be read is still an error.
        SriovConf::from_slice(req.stdin)?;
        Ok(())
    }
}

fn invoke(command: &str, ifname: &str, args: &str, stdin: &[u8]) -> skel::Outcome {
    let vars = [
        ("CNI_COMMAND", command),
        ("CNI_CONTAINERID", "c1"),
        ("CNI_NETNS", "/run/netns/pod"),
        ("CNI_IFNAME", ifname),
        ("CNI_PATH", "/opt/cni/bin"),
        ("CNI_ARGS", args),
    ];
    skel::run(vars, stdin, &mut Echo)
}

fn main() -> std::process::ExitCode {
    if std::env::var_os("CNI_COMMAND").is_some() {
        let mut stdin = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut stdin) {
            eprintln!("reading stdin: {e}");
            return std::process::ExitCode::FAILURE;
        }
        let outcome = skel::run(std::env::vars_os(), &stdin, &mut Echo);
        let written = std::io::stdout().write_all(&outcome.stdout);
        return match (written, outcome.exit_code) {
            (Ok(()), 0) => std::process::ExitCode::SUCCESS,
            _ => std::process::ExitCode::FAILURE,
        };
    }
    let seed_003 = br#"{"name": "mynet", "type": "sriov", "master": "enp1s0f1",
        "ipam": {"type": "host-local", "subnet": "10.55.206.0/26"}}"#;
    let device = br#"{"cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov",
        "deviceID": "0000:3b:02.0", "vlan": 100, "spoofchk": "off", "mac": "02:00:5e:00:53:01"}"#;
    let bad = br#"{"cniVersion": "1.0.0", "name": "sriov-net", "type": "sriov", "vlan": 4095}"#;
    for (what, command, ifname, args, stdin) in [
        ("VERSION", "VERSION", "net1", "", &device[..]),
        (
            "ADD, seed 003 (no cniVersion)",
            "ADD",
            "net1",
            "",
            &seed_003[..],
        ),
        (
            "ADD by deviceID, MAC from CNI_ARGS",
            "ADD",
            "net1",
            "MAC=02:00:5e:00:53:02",
            &device[..],
        ),
        ("DEL", "DEL", "net1", "", &device[..]),
        ("ADD, VLAN out of range", "ADD", "net1", "", &bad[..]),
        ("ADD, bad CNI_IFNAME", "ADD", "net%d", "", &device[..]),
    ] {
        let outcome = invoke(command, ifname, args, stdin);
        let stdout = match String::from_utf8_lossy(&outcome.stdout) {
            s if s.is_empty() => "(nothing on stdout)".to_owned(),
            s => s.replace('\n', "\n  "),
        };
        println!("{what}: exit {}\n  {}", outcome.exit_code, stdout);
    }
    std::process::ExitCode::SUCCESS
}
