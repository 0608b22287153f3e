//! Builds an active-backup bond over two veth ports in a private network
//! namespace, reads it back, and takes it apart from the record that was
//! kept before anything changed, the way the `bond` plugin does in a pod.
//!
//! Needs root and the kernel's bonding driver (`modprobe bonding`). The
//! namespace has no name and ends with the program: nothing is left on
//! the host.
//!
//! ```sh
//! sudo -E cargo run -p netplumb-bond --example build_bond
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use netplumb_bond::{BondConfig, BondMode, BondRecord, FailOverMac, Pod, Port};
use netplumb_netns::{IfName, NetNs};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain of causes on one line: the kernel's errno and
            // extended-ack text are at its end.
            eprintln!("error: {}", netplumb_netns::types::Chain(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let ns = NetNs::new_unnamed().map_err(|e| format!("{e} (run it as root)"))?;
    let pod = Pod::open(&ns)?;
    // Two ports, as a pod would have two VFs: each a veth whose peer stays
    // in the namespace too.
    let names: Vec<IfName> = ["net1", "net2", "peer1", "peer2"]
        .iter()
        .map(|n| n.parse())
        .collect::<Result<_, _>>()?;
    pod.netlink().add_veth(&names[0], &names[2], None)?;
    pod.netlink().add_veth(&names[1], &names[3], None)?;

    let config = BondConfig::new("bond0".parse()?, BondMode::ActiveBackup)
        .miimon(100)
        .fail_over_mac(FailOverMac::Active);
    let ports = [Port::other(names[0]), Port::other(names[1])];
    let plan = netplumb_bond::plan(&pod, None, &config, &ports)?;
    // A plugin writes this down before anything changes: with it, a later
    // process can always take the bond apart.
    let journal = serde_json::to_string_pretty(plan.record())?;
    let created = plan.apply()?;
    for warning in &created.warnings {
        println!("warning: {warning}");
    }

    let info = netplumb_bond::inspect(pod.netlink(), &config.name)?;
    println!(
        "{}: mode {} miimon {} fail_over_mac {:?} active port {:?}",
        info.link.name, info.mode, info.miimon, info.fail_over_mac, info.active_port
    );
    println!("the record kept before it was built:\n{journal}");

    let record: BondRecord = serde_json::from_str(&journal)?;
    let released = netplumb_bond::release(Some(&pod), None, &record)?;
    println!("released; ports not found: {:?}", released.missing);
    Ok(())
}
