//! Creates a private network namespace, a veth pair between it and this
//! one, gives the far end an address and a route, lists the links the
//! namespace then has, and takes the pair away again.
//!
//! Needs root (`CAP_NET_ADMIN` and `CAP_SYS_ADMIN`); it changes nothing on
//! the host that outlives it: the namespace has no name and ends with the
//! program, and the host end of the pair is deleted before it exits.
//!
//! ```sh
//! sudo -E cargo run -p netplumb-netns --example veth_pair
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use netplumb_netns::{IfName, NetNs, Route};

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
    let pod = NetNs::new_unnamed().map_err(|e| format!("{e} (run it as root)"))?;
    let host = NetNs::current()?.netlink()?;
    let host_end: IfName = format!("npx{}", std::process::id() % 100_000).parse()?;
    let pod_end: IfName = "eth1".parse()?;

    host.add_veth(&host_end, &pod_end, Some(&pod))?;
    let result = configure_and_list(&pod, &pod_end);
    // Deleting one end deletes both, whatever happened inside.
    host.delete_link(host_end)?;
    result
}

fn configure_and_list(pod: &NetNs, link: &IfName) -> Result<(), Box<dyn std::error::Error>> {
    let nl = pod.netlink()?;
    nl.add_address(link, "192.0.2.10/24".parse()?)?;
    nl.set_up(link)?;
    nl.add_route(
        &Route::new("198.51.100.0/24".parse()?)
            .via("192.0.2.1".parse()?)
            .dev(link),
    )?;
    println!("links in the namespace:");
    for info in nl.links()? {
        println!(
            "  {:>2} {:<6} kind {:<5} mtu {:<5} mac {:<17} up {}",
            info.index,
            info.name.to_string(),
            info.kind.as_deref().unwrap_or("-"),
            info.mtu,
            info.mac
                .map(|m| m.to_string())
                .unwrap_or_else(|| "-".into()),
            info.is_up(),
        );
    }
    println!("addresses on {link}:");
    for address in nl.addresses(link)? {
        println!("  {} (scope {:?})", address.address, address.scope);
    }
    Ok(())
}
