//! `netplumb enable PF COUNT`.

use std::time::{Duration, Instant};

use netplumb_vf::types::Chain;
use netplumb_vf::{Allocator, Host, Nic, PciAddr, VfNetdev, VfSettings};

use crate::args::{EnableOpts, Global};
use crate::attachments::Attachments;
use crate::list::sysfs;
use crate::{out, Failure};

pub(crate) fn run(global: &Global, opts: &EnableOpts) -> Result<(), Failure> {
    let sysfs = sysfs(global);
    let pf_name = opts.pf;
    let pf = sysfs.pf(&pf_name).map_err(|e| {
        Failure::failed(format!(
            "{}; `netplumb list` shows the PFs (rows with a VF count)",
            Chain(&e)
        ))
    })?;
    if !pf.is_sriov() {
        return Err(Failure::failed(format!(
            "{pf_name} ({}) has no SR-IOV capability (sriov_totalvfs is 0 or missing): \
             pick a PF from `netplumb list`, or turn SR-IOV on in the firmware",
            pf.addr
        )));
    }
    if opts.count > pf.total_vfs {
        return Err(Failure::failed(format!(
            "{pf_name} supports at most {} VFs (sriov_totalvfs), not {}",
            pf.total_vfs, opts.count
        )));
    }
    let settings = VfSettings {
        spoofchk: opts.spoofchk,
        trust: opts.trust,
        link_state: opts.link_state,
        ..Default::default()
    };
    if global.sysfs.is_some() && (!settings.is_empty() || opts.mtu.is_some()) {
        return Err(Failure::failed(
            "--sysfs reads a copied tree, which has no kernel behind it to take VF settings \
             or an MTU: drop --sysfs, or the settings"
                .to_owned(),
        ));
    }
    // Hold every VF's lock while deciding and writing (the new VFs' too,
    // once they exist), so that no ADD claims a VF between the check and
    // its destruction, or while its settings are written.
    let allocator = Allocator::new(&global.claims, sysfs.clone())
        .map_err(|e| Failure::failed(format!("--claims: {}", Chain(&e))))?;
    let mut locks = Vec::new();
    let before_vfs: Vec<PciAddr> = pf.vfs.iter().map(|vf| vf.addr).collect();
    for vf in &pf.vfs {
        locks.push(allocator.lock(vf.addr).map_err(|e| {
            Failure::failed(format!("locking {} against ADDs: {}", vf.id(), Chain(&e)))
        })?);
    }
    let attachments = Attachments::load(global)?;
    let held = held_vfs(&pf, &attachments);
    let count_changes = pf.num_vfs != opts.count;
    if count_changes && !held.is_empty() {
        let mut message = format!(
            "{pf_name} has {} VFs; changing that to {} destroys them all, and these are in use:",
            pf.num_vfs, opts.count
        );
        for (vf, why) in &held {
            message.push_str(&format!("\n  {vf}: {why}"));
        }
        message.push_str(
            "\nNothing was changed. Delete those pods (or move the netdevs back) and run it again.",
        );
        return Err(Failure::InUse(message));
    }
    let mut report = String::new();
    if count_changes {
        sysfs
            .set_num_vfs(&pf_name, opts.count)
            .map_err(|e| Failure::failed(Chain(&e).to_string()))?;
        report.push_str(&format!(
            "{pf_name}: {} VFs (were {})\n",
            opts.count, pf.num_vfs
        ));
    } else {
        report.push_str(&format!("{pf_name}: {} VFs already\n", pf.num_vfs));
    }
    if settings.is_empty() && opts.mtu.is_none() {
        drop(locks);
        return out(&report);
    }
    let host = Host::open(sysfs.clone())
        .map_err(|e| Failure::failed(format!("opening the host's rtnetlink: {}", Chain(&e))))?;
    let pf = sysfs
        .pf(&pf_name)
        .map_err(|e| Failure::failed(Chain(&e).to_string()))?;
    if count_changes {
        // Addresses locked already are locked once: a second lock of the
        // same file from this process would wait for the first.
        for vf in pf.vfs.iter().filter(|vf| !before_vfs.contains(&vf.addr)) {
            locks.push(allocator.lock(vf.addr).map_err(|e| {
                Failure::failed(format!("locking {} against ADDs: {}", vf.id(), Chain(&e)))
            })?);
        }
    }
    // What was held when the count stayed is left alone.
    let held: Vec<PciAddr> = held.iter().map(|(vf, _)| *vf).collect();
    let mut changed = 0;
    let mut failures = Vec::new();
    if !settings.is_empty() {
        for vf in pf.vfs.iter().filter(|vf| !held.contains(&vf.addr)) {
            match host.configure(&vf.id(), &settings) {
                Ok(undo) if !undo.is_empty() => changed += 1,
                Ok(_) => {}
                Err(e) => failures.push(format!("{}: {}", vf.id(), Chain(&e))),
            }
        }
        report.push_str(&format!(
            "PF-side settings: {changed} of {} VFs changed\n",
            pf.vfs.len() - held.len().min(pf.vfs.len())
        ));
    }
    if let Some(mtu) = opts.mtu {
        let (set, waited_out) =
            set_mtus(&host, &pf_name, mtu, &held, opts.wait_secs, &mut failures)?;
        report.push_str(&format!("MTU {mtu}: {set} VF netdevs changed\n"));
        for vf in waited_out {
            failures.push(format!(
                "{vf}: its netdev did not appear within {} s; run it again once it has (--wait)",
                opts.wait_secs
            ));
        }
    }
    if !held.is_empty() {
        report.push_str(&format!("left alone, in use: {} VFs\n", held.len()));
    }
    out(&report)?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::failed(format!(
            "some settings were not applied:\n  {}",
            failures.join("\n  ")
        )))
    }
}

/// The VFs of `pf` that are in use, and by what.
fn held_vfs(pf: &Nic, attachments: &Attachments) -> Vec<(PciAddr, String)> {
    let mut held = Vec::new();
    for vf in &pf.vfs {
        if let Some(a) = attachments.holder_of(vf.addr) {
            held.push((
                vf.addr,
                format!(
                    "held by network {} container {} as {}",
                    a.network, a.container_id, a.ifname
                ),
            ));
        } else if vf.netdev == VfNetdev::Moved {
            held.push((
                vf.addr,
                "its netdev is in another network namespace (not a netplumb attachment)".into(),
            ));
        }
    }
    held
}

/// Sets the MTU of every VF netdev of `pf` in this namespace that is not
/// held, waiting up to `wait_secs` for netdevs the driver has not made
/// yet. Returns how many changed and the VFs still without a netdev.
fn set_mtus(
    host: &Host,
    pf_name: &netplumb_vf::IfName,
    mtu: u32,
    held: &[PciAddr],
    wait_secs: u64,
    failures: &mut Vec<String>,
) -> Result<(usize, Vec<PciAddr>), Failure> {
    let deadline = Instant::now() + Duration::from_secs(wait_secs);
    let mut done: Vec<PciAddr> = Vec::new();
    let mut set = 0;
    loop {
        let pf = host
            .sysfs()
            .pf(pf_name)
            .map_err(|e| Failure::failed(Chain(&e).to_string()))?;
        let mut waiting = Vec::new();
        for vf in &pf.vfs {
            if held.contains(&vf.addr) || done.contains(&vf.addr) {
                continue;
            }
            match &vf.netdev {
                VfNetdev::Host(netdev) => {
                    done.push(vf.addr);
                    if netdev.mtu == mtu {
                        continue;
                    }
                    match host.netlink().set_mtu(netdev.name, mtu) {
                        Ok(()) => set += 1,
                        Err(e) => failures.push(format!(
                            "{} ({}): MTU {mtu}: {}",
                            vf.id(),
                            netdev.name,
                            Chain(&e)
                        )),
                    }
                }
                // Being probed: its netdev is coming.
                VfNetdev::NoNetdev => waiting.push(vf.addr),
                // A userspace driver or none: no netdev to set.
                _ => done.push(vf.addr),
            }
        }
        if waiting.is_empty() || Instant::now() >= deadline {
            return Ok((set, waiting));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
