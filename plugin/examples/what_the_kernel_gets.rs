//! Reads a plugin configuration the way the `sriov` or `bond` plugin does
//! and shows what the kernel crates would be asked for: the PF-side VF
//! settings ([`netplumb_plugin::vf_settings`]) or the bond
//! ([`netplumb_plugin::bond_config`]), and the bond's warnings for ports
//! that are VFs. Nothing is changed and no privileges are needed.
//!
//! ```sh
//! cargo run -p netplumb-plugin --example what_the_kernel_gets                # the seeds' configurations
//! cargo run -p netplumb-plugin --example what_the_kernel_gets -- conf.json   # one of your own
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use netplumb_bond::PortFacts;
use netplumb_cniconf::{BondConf, NetConf, SriovConf};

const SEED_003: &str = r#"{"name": "mynet", "type": "sriov", "master": "enp1s0f1",
  "ipam": {"type": "host-local", "subnet": "10.55.206.0/26", "gateway": "10.55.206.1"}}"#;
const SEED_004: &str = r#"{"type": "bond", "cniVersion": "0.3.1", "name": "bond-net1",
  "mode": "active-backup", "failOverMac": 1, "linksInContainer": true, "miimon": "100",
  "mtu": 1500, "links": [{"name": "net1"}, {"name": "net2"}],
  "ipam": {"type": "host-local", "subnet": "10.56.217.0/24"}}"#;
const BALANCE_RR: &str = r#"{"cniVersion": "1.0.0", "name": "bond-rr", "type": "bond",
  "mode": "balance-rr", "miimon": 100, "linksInContainer": true,
  "links": [{"name": "net1"}, {"name": "net2"}]}"#;

fn explain(text: &[u8]) -> Result<String, Box<dyn std::error::Error>> {
    let net = NetConf::from_slice(text)?;
    match net.plugin_type.as_str() {
        "sriov" => {
            let conf = SriovConf::from_slice(text)?;
            let settings = netplumb_plugin::vf_settings(&conf)?;
            Ok(format!(
                "sriov {:?}: {:?}\n  PF side: {settings:?}",
                net.name,
                conf.vf_selector()?
            ))
        }
        "bond" => {
            let conf = BondConf::from_slice(text)?;
            let config = netplumb_plugin::bond_config(&conf, "net3".parse()?);
            // Multus names the pod's VFs net1, net2, ...: the ports are VFs.
            let ports: Vec<PortFacts> = conf
                .links
                .iter()
                .map(|name| PortFacts {
                    name: *name,
                    mtu: 1500,
                    is_vf: true,
                })
                .collect();
            let warnings = config.check(&ports)?;
            let mut out = format!("bond {:?}: {config:?}", net.name);
            for warning in warnings {
                out.push_str(&format!("\n  warning: {warning}"));
            }
            Ok(out)
        }
        other => Err(format!("type {other:?}: this reads sriov and bond configurations").into()),
    }
}

fn main() -> std::process::ExitCode {
    let mut failed = false;
    let inputs: Vec<(String, Vec<u8>)> = match std::env::args_os().nth(1) {
        Some(path) => match std::fs::read(&path) {
            Ok(text) => vec![(path.to_string_lossy().into_owned(), text)],
            Err(e) => {
                eprintln!("reading {}: {e}", path.to_string_lossy());
                return std::process::ExitCode::FAILURE;
            }
        },
        None => [
            ("seed 003", SEED_003),
            ("seed 004", SEED_004),
            ("balance-rr", BALANCE_RR),
        ]
        .into_iter()
        .map(|(name, text)| (name.to_owned(), text.as_bytes().to_vec()))
        .collect(),
    };
    for (name, text) in inputs {
        match explain(&text) {
            Ok(out) => println!("{name}: {out}"),
            Err(e) => {
                failed = true;
                eprintln!("{name}: {}", netplumb_cniconf::types::Chain(&*e));
            }
        }
    }
    if failed {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    }
}
