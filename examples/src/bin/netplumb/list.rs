//! `netplumb list`.

use netplumb_vf::types::Chain;
use netplumb_vf::{Host, Inventory, Nic, Sysfs, Vf, VfConfig, VfNetdev};
use serde_json::{json, Value};

use crate::args::{Global, ListOpts};
use crate::attachments::{Attachment, Attachments};
use crate::table::Table;
use crate::{out, warn, Failure};

pub(crate) fn sysfs(global: &Global) -> Sysfs {
    global.sysfs.clone().map(Sysfs::new).unwrap_or_default()
}

/// The inventory; devices left out of it are warnings.
pub(crate) fn inventory(sysfs: &Sysfs) -> Result<Inventory, Failure> {
    let inventory = sysfs
        .inventory()
        .map_err(|e| Failure::failed(format!("reading sysfs: {}", Chain(&e))))?;
    let errors: Vec<String> = inventory
        .errors
        .iter()
        .map(|e| Chain(e).to_string())
        .collect();
    if inventory.interfaces.is_empty() && !errors.is_empty() {
        return Err(Failure::failed(format!(
            "no network device could be read:\n  {}",
            errors.join("\n  ")
        )));
    }
    for error in errors {
        warn(&format!("left out: {error}"));
    }
    Ok(inventory)
}

/// The PF-side configuration of every VF of `pf` that has a visible PF;
/// when the PF's VF table cannot be read, one warning for the PF.
fn vf_configs(host: Option<&Host>, pf: &Nic) -> Vec<Option<VfConfig>> {
    let Some(host) = host else {
        return vec![None; pf.vfs.len()];
    };
    let mut warned = false;
    pf.vfs
        .iter()
        .map(|vf| {
            if warned || vf.pf_name().is_none() {
                return None;
            }
            match host.vf_config(&vf.id()) {
                Ok(config) => Some(config),
                Err(e) => {
                    warned = true;
                    warn(&format!(
                        "the PF-side settings of {}'s VFs are left out: {}",
                        pf.name()
                            .map_or_else(|| pf.addr.to_string(), |n| n.to_string()),
                        Chain(&e)
                    ));
                    None
                }
            }
        })
        .collect()
}

fn on_off(value: Option<bool>) -> String {
    match value {
        Some(true) => "on".into(),
        Some(false) => "off".into(),
        None => "-".into(),
    }
}

fn netdev_cell(vf: &Vf) -> String {
    match &vf.netdev {
        VfNetdev::Host(netdev) => netdev.name.to_string(),
        VfNetdev::Moved => "(in a pod)".into(),
        VfNetdev::NoNetdev => "(no netdev yet)".into(),
        VfNetdev::Userspace => "(userspace)".into(),
        VfNetdev::Unbound => "(no driver)".into(),
        _ => "(?)".into(),
    }
}

fn held_cells(held: Option<Attachment>) -> [String; 3] {
    match held {
        Some(a) => [a.network, a.container_id, a.ifname],
        None => ["-".into(), "-".into(), "-".into()],
    }
}

const HEADER: &[&str] = &[
    "PF",
    "PCI",
    "DRIVER",
    "VF",
    "NETDEV",
    "MAC",
    "VLAN",
    "SPOOFCHK",
    "TRUST",
    "LINK",
    "RATE",
    "NETWORK",
    "CONTAINER",
    "IFNAME",
];

fn nic_row(nic: &Nic, attachments: &Attachments) -> Vec<String> {
    let name = nic.name().map_or_else(|| "-".to_owned(), |n| n.to_string());
    let mac = nic
        .netdev
        .as_ref()
        .and_then(|n| n.mac.as_ref())
        .map_or_else(|| "-".to_owned(), |m| m.to_string());
    let vfs = if nic.is_sriov() {
        format!("{}/{}", nic.num_vfs, nic.total_vfs)
    } else {
        "-".into()
    };
    let mut row = vec![
        if nic.is_sriov() {
            name.clone()
        } else {
            "-".into()
        },
        nic.addr.to_string(),
        nic.driver.clone().unwrap_or_else(|| "-".into()),
        vfs,
        name,
        mac,
    ];
    row.extend(["-", "-", "-", "-", "-"].map(String::from));
    // A NIC without SR-IOV may be a VF passed into this VM, which the
    // sriov plugin moves into pods as it is.
    row.extend(held_cells(attachments.holder_of(nic.addr)));
    row
}

fn vf_row(pf: &Nic, vf: &Vf, config: Option<&VfConfig>, attachments: &Attachments) -> Vec<String> {
    let mac = match (&vf.netdev, config) {
        (VfNetdev::Host(netdev), _) if netdev.mac.is_some() => netdev
            .mac
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
        (_, Some(config)) if !config.mac.is_zero() => config.mac.to_string(),
        _ => "-".into(),
    };
    let (vlan, spoofchk, trust, link, rate) = match config {
        Some(c) => (
            match (c.vlan.id(), c.vlan.qos()) {
                (0, _) => "-".to_owned(),
                (id, 0) => id.to_string(),
                (id, qos) => format!("{id} qos {qos}"),
            },
            on_off(c.spoofchk),
            on_off(c.trust),
            c.link_state.to_string(),
            match (c.min_tx_rate, c.max_tx_rate) {
                (0, 0) => "-".to_owned(),
                (min, max) => format!("{min}/{max}"),
            },
        ),
        None => ("?".into(), "?".into(), "?".into(), "?".into(), "?".into()),
    };
    let mut row = vec![
        pf.name()
            .map_or_else(|| pf.addr.to_string(), |n| n.to_string()),
        vf.addr.to_string(),
        vf.driver.clone().unwrap_or_else(|| "-".into()),
        vf.index().map_or_else(|| "-".to_owned(), |i| i.to_string()),
        netdev_cell(vf),
        mac,
        vlan,
        spoofchk,
        trust,
        link,
        rate,
    ];
    row.extend(held_cells(attachments.holder_of(vf.addr)));
    row
}

/// The VF's additions to the operator's VF object.
fn vf_json(vf: &mut Value, config: Option<&VfConfig>, held: Option<Attachment>) {
    if let Some(c) = config {
        vf["Vlan"] = json!(c.vlan.id());
        vf["vlanQoS"] = json!(c.vlan.qos());
        vf["vlanProto"] = json!(c.vlan.proto().to_string());
        if let Some(spoofchk) = c.spoofchk {
            vf["spoofChk"] = json!(spoofchk);
        }
        if let Some(trust) = c.trust {
            vf["trust"] = json!(trust);
        }
        vf["linkState"] = json!(c.link_state.to_string());
        vf["minTxRate"] = json!(c.min_tx_rate);
        vf["maxTxRate"] = json!(c.max_tx_rate);
        vf["adminMac"] = json!(c.mac.to_string());
    }
    if let Some(a) = held {
        vf["attachment"] = json!({
            "network": a.network,
            "containerID": a.container_id,
            "ifname": a.ifname,
        });
    }
}

pub(crate) fn run(global: &Global, opts: &ListOpts) -> Result<(), Failure> {
    let sysfs = sysfs(global);
    let inventory = inventory(&sysfs)?;
    let attachments = Attachments::load(global)?;
    // The VF tables are the host's; with another sysfs tree they would
    // describe other devices.
    let host = match global.sysfs {
        Some(_) => None,
        None => match Host::open(sysfs.clone()) {
            Ok(host) => Some(host),
            Err(e) => {
                warn(&format!("the PF-side settings are left out: {}", Chain(&e)));
                None
            }
        },
    };
    let configs: Vec<Vec<Option<VfConfig>>> = inventory
        .interfaces
        .iter()
        .map(|nic| vf_configs(host.as_ref(), nic))
        .collect();
    if opts.json {
        let mut json = serde_json::to_value(&inventory)
            .map_err(|e| Failure::failed(format!("serializing the inventory: {e}")))?;
        for ((nic, configs), value) in inventory
            .interfaces
            .iter()
            .zip(&configs)
            .zip(json["interfaces"].as_array_mut().into_iter().flatten())
        {
            if !nic.is_sriov() {
                if let Some(a) = attachments.holder_of(nic.addr) {
                    vf_json(value, None, Some(a));
                }
                continue;
            }
            let vfs = value["Vfs"].as_array_mut().into_iter().flatten();
            for ((vf, config), vf_value) in nic.vfs.iter().zip(configs).zip(vfs) {
                vf_json(vf_value, config.as_ref(), attachments.holder_of(vf.addr));
            }
        }
        let text = if opts.pretty {
            serde_json::to_string_pretty(&json)
        } else {
            serde_json::to_string(&json)
        }
        .map_err(|e| Failure::failed(format!("serializing the inventory: {e}")))?;
        return out(&format!("{text}\n"));
    }
    let mut table = Table::new(HEADER);
    for (nic, configs) in inventory.interfaces.iter().zip(&configs) {
        table.push(nic_row(nic, &attachments));
        for (vf, config) in nic.vfs.iter().zip(configs) {
            table.push(vf_row(nic, vf, config.as_ref(), &attachments));
        }
    }
    if table.is_empty() {
        return out("no network PCI device found\n");
    }
    out(&table.render())
}
