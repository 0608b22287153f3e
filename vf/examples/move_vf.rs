//! Moves one VF's netdev into a new network namespace as `net1` and back,
//! the way the `sriov` plugin does for a pod: its state is recorded first,
//! a VLAN is set on the PF side, the netdev is moved, renamed, given an
//! MTU and brought up in one request, and then everything is put back as
//! recorded.
//!
//! Needs root, and a VF whose netdev is in this namespace and unused:
//!
//! ```sh
//! sudo -E cargo run -p netplumb-vf --example move_vf -- 0000:01:10.0
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use netplumb_netns::NetNs;
use netplumb_vf::{AttachSpec, Host, PciAddr, Sysfs, VfSettings, Vlan};

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole chain of causes on one line: the kernel's errno and
            // extended-ack text are at its end.
            eprintln!("error: {}", netplumb_vf::types::Chain(&*e));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let Some(addr) = std::env::args().nth(1) else {
        return Err("usage: move_vf VF-PCI-ADDRESS (see the list_vfs example)".into());
    };
    let addr: PciAddr = addr.parse()?;
    let host = Host::open(Sysfs::default())?;
    let vf = host.sysfs().vf(addr)?;
    println!("{}: netdev {:?}", vf.id(), vf.netdev_name());

    // Everything that is about to change, recorded before it changes.
    let before = host.snapshot(&vf)?;
    let ns_name = format!("netplumb-example-{}", std::process::id());
    let pod = NetNs::create_named(&ns_name)?;
    let outcome = round_trip(&host, &vf, &before, &pod);
    if outcome.is_err() {
        // Whatever step failed, the VF goes back as it was recorded.
        if let Err(e) = host.restore(&before) {
            eprintln!("putting the VF back failed too: {e}");
        }
    }
    NetNs::remove_named(&ns_name)?;
    outcome
}

fn round_trip(
    host: &Host,
    vf: &netplumb_vf::Vf,
    before: &netplumb_vf::VfState,
    pod: &NetNs,
) -> Result<(), Box<dyn std::error::Error>> {
    if vf.pf.is_some() {
        let settings = VfSettings {
            vlan: Some(Vlan::tag(100)?),
            ..Default::default()
        };
        host.configure(&vf.id(), &settings)?;
        println!("PF side: vlan 100");
    }
    let moved = host.attach(before, pod, &AttachSpec::new("net1".parse()?).mtu(1400))?;
    let link = pod.netlink()?.link("net1")?;
    println!(
        "in {}: {} mtu {} up {} mac {:?}",
        pod.path().display(),
        link.name,
        link.mtu,
        link.is_up(),
        link.mac
    );
    let returned = host.detach(&moved)?;
    println!("back: {returned:?}");
    host.restore(before)?;
    println!("restored as recorded");
    Ok(())
}
