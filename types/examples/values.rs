//! Parses the values netplumb's crates share, the way a configuration or
//! the kernel hands them over, and shows what each parser refuses and why.
//!
//! ```sh
//! cargo run -p netplumb-types --example values
//! cargo run -p netplumb-types --example values -- ifname 'net%d'
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use netplumb_types::{BondMode, BondOptions, IfName, MacAddr, PciAddr, VfLinkState, VlanProto};

/// Parses `text` as the type `kind` names, and says what came out.
fn parse(kind: &str, text: &str) -> String {
    fn show<T: std::fmt::Display, E: std::fmt::Display>(r: Result<T, E>) -> String {
        match r {
            Ok(value) => format!("ok: {value}"),
            Err(e) => format!("refused: {e}"),
        }
    }
    match kind {
        "ifname" => show(text.parse::<IfName>()),
        "mac" => show(text.parse::<MacAddr>()),
        "pci" => show(text.parse::<PciAddr>()),
        "vlan-proto" => show(text.parse::<VlanProto>()),
        "link-state" => show(text.parse::<VfLinkState>()),
        "bond-mode" => show(text.parse::<BondMode>()),
        other => {
            format!("unknown kind {other:?}: ifname, mac, pci, vlan-proto, link-state or bond-mode")
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [kind, text] = args.as_slice() {
        println!("{kind} {text:?}: {}", parse(kind, text));
        return;
    }
    for (kind, text) in [
        ("ifname", "net1"),
        ("ifname", "net%d"),
        ("ifname", "a-name-longer-than-15"),
        ("mac", "02:00:5E:10:00:01"),
        ("mac", "02:00:5e:10:00"),
        ("pci", "03:02.1"),
        ("pci", "0000:03:20.1"),
        ("vlan-proto", "802.1ad"),
        ("link-state", "enable"),
        ("bond-mode", "1"),
        ("bond-mode", "lacp"),
        ("bond-mode", "round-robin"),
    ] {
        println!("{kind:<10} {text:<24} {}", parse(kind, text));
    }
    // Bond options are checked together, against each other and the ports.
    let ports: Vec<IfName> = ["net1", "net2"]
        .iter()
        .map(|p| p.parse().expect("valid names"))
        .collect();
    let mut options = BondOptions::new(BondMode::ActiveBackup);
    options.miimon = Some(100);
    options.updelay = Some(200);
    println!(
        "active-backup, miimon 100, updelay 200: {}",
        check(&options, &ports)
    );
    options.updelay = Some(150);
    println!(
        "active-backup, miimon 100, updelay 150: {}",
        check(&options, &ports)
    );
    options.updelay = None;
    options.primary = Some(ports[0]);
    println!(
        "active-backup, primary net1:            {}",
        check(&options, &ports)
    );
    options.mode = BondMode::BalanceXor;
    println!(
        "balance-xor, primary net1:              {}",
        check(&options, &ports)
    );
}

fn check(options: &BondOptions, ports: &[IfName]) -> String {
    match options.check(ports) {
        Ok(()) => "accepted".to_owned(),
        Err(e) => format!("refused: {e}"),
    }
}
