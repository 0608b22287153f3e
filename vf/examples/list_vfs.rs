//! Lists this machine's SR-IOV physical functions and their VFs: where
//! each VF's netdev is, and, when the PF's VF table can be read, its
//! PF-side settings.
//!
//! Discovery reads sysfs only and needs no privileges; the VF table is
//! read over rtnetlink, which any user may do.
//!
//! ```sh
//! cargo run -p netplumb-vf --example list_vfs
//! cargo run -p netplumb-vf --example list_vfs -- /path/to/a/sysfs/copy
//! ```

// An example program: what it prints is the point.
#![allow(clippy::print_stdout)]

use netplumb_vf::{Host, Sysfs, Vf, VfNetdev};

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
    let sysfs = match std::env::args_os().nth(1) {
        Some(root) => Sysfs::new(root),
        None => Sysfs::default(),
    };
    let inventory = sysfs.inventory()?;
    for error in &inventory.errors {
        eprintln!("left out: {error}");
    }
    // The PF-side half needs the host's rtnetlink; without it (a copied
    // sysfs tree, say) only discovery is shown.
    let host = Host::open(sysfs.clone()).ok();
    let pfs: Vec<_> = inventory
        .interfaces
        .iter()
        .filter(|n| n.is_sriov())
        .collect();
    if pfs.is_empty() {
        println!("no SR-IOV physical function found");
    }
    for pf in pfs {
        let name = pf
            .name()
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "{name} {} driver {} {} of {} VFs enabled",
            pf.addr,
            pf.driver.as_deref().unwrap_or("-"),
            pf.num_vfs,
            pf.total_vfs
        );
        for vf in &pf.vfs {
            println!("  {}", describe(vf, host.as_ref()));
        }
    }
    Ok(())
}

fn describe(vf: &Vf, host: Option<&Host>) -> String {
    let index = vf.index().map(|i| i.to_string()).unwrap_or_default();
    let netdev = match &vf.netdev {
        VfNetdev::Host(netdev) => netdev.name.to_string(),
        VfNetdev::Moved => "(in another namespace)".into(),
        VfNetdev::NoNetdev => "(no netdev yet)".into(),
        VfNetdev::Userspace => "(userspace driver)".into(),
        VfNetdev::Unbound => "(no driver)".into(),
        _ => "(?)".into(),
    };
    let mut line = format!(
        "VF {index:<3} {} {:<10} {netdev}",
        vf.addr,
        vf.driver.as_deref().unwrap_or("-")
    );
    if let Some(host) = host {
        match host.vf_config(&vf.id()) {
            Ok(config) => line.push_str(&format!(
                " mac {} vlan {} spoofchk {} trust {} link {}",
                config.mac,
                config.vlan.id(),
                on_off(config.spoofchk),
                on_off(config.trust),
                config.link_state
            )),
            Err(e) => line.push_str(&format!(" (VF table: {e})")),
        }
    }
    line
}

fn on_off(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "on",
        Some(false) => "off",
        None => "?",
    }
}
