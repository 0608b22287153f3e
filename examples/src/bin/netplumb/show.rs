//! `netplumb show` and `netplumb gc --dry-run`.

use netplumb_plugin::journal::{Key, Record, Step};

use crate::args::{Global, ShowOpts};
use crate::attachments::Attachments;
use crate::table::Table;
use crate::{out, Failure};

fn pod_cell(record: &Record) -> String {
    let path = record
        .netns
        .as_ref()
        .map_or_else(|| "-".to_owned(), |p| p.display().to_string());
    if record.pod_is_gone() {
        format!("{path} (gone)")
    } else {
        path
    }
}

fn vf_cell(record: &Record) -> String {
    record
        .claimed_vf()
        .map_or_else(|| "-".to_owned(), |c| c.vf.to_string())
}

fn state_cell(record: &Record) -> &'static str {
    match (&record.result, record.steps.is_empty()) {
        (Some(_), _) => "added",
        // An ADD that failed and was undone leaves no record; one with
        // steps and no result was cut short or is running now.
        (None, false) => "ADD unfinished",
        (None, true) => "ADD begun",
    }
}

pub(crate) fn run(global: &Global, opts: &ShowOpts) -> Result<(), Failure> {
    let attachments = Attachments::load(global)?;
    match &opts.container {
        None => {
            let mut table = Table::new(&[
                "NETWORK",
                "CONTAINER",
                "IFNAME",
                "PLUGIN",
                "VF",
                "NETNS",
                "STATE",
            ]);
            for (key, record) in &attachments.records {
                table.push(vec![
                    key.network().to_owned(),
                    key.container_id().to_string(),
                    key.ifname().to_string(),
                    record.plugin.clone(),
                    vf_cell(record),
                    pod_cell(record),
                    state_cell(record).to_owned(),
                ]);
            }
            if table.is_empty() {
                return out(&format!(
                    "no attachments in the journal under {}\n",
                    global.data_dir.display()
                ));
            }
            out(&table.render())
        }
        Some(id) => {
            let mine = matching(&attachments.records, id)?;
            let mut text = String::new();
            for (key, record) in mine {
                text.push_str(&describe(key, record));
            }
            out(&text)
        }
    }
}

/// The records of the container `id`, or of the one container whose ID
/// starts with it.
fn matching<'a>(records: &'a [(Key, Record)], id: &str) -> Result<Vec<&'a (Key, Record)>, Failure> {
    let exact: Vec<_> = records
        .iter()
        .filter(|(key, _)| key.container_id().as_str() == id)
        .collect();
    if !exact.is_empty() {
        return Ok(exact);
    }
    let prefixed: Vec<_> = records
        .iter()
        .filter(|(key, _)| key.container_id().as_str().starts_with(id))
        .collect();
    let mut ids: Vec<&str> = prefixed
        .iter()
        .map(|(k, _)| k.container_id().as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    match ids.len() {
        0 => Err(Failure::failed(format!(
            "no attachment of container {id:?} in the journal; `netplumb show` lists them all"
        ))),
        1 => Ok(prefixed),
        _ => Err(Failure::failed(format!(
            "{id:?} starts several container IDs ({}); give more of it",
            ids.join(", ")
        ))),
    }
}

/// What the plugin did for one attachment, step by step, and what DEL
/// will undo.
fn describe(key: &Key, record: &Record) -> String {
    let mut text = format!(
        "{} in network {} (plugin {}), container {}\n  netns: {}\n  state: {}\n",
        key.ifname(),
        key.network(),
        record.plugin,
        key.container_id(),
        pod_cell(record),
        state_cell(record)
    );
    for (i, step) in record.steps.iter().enumerate() {
        text.push_str(&format!("  {}. {}\n", i + 1, step_line(step)));
    }
    if let Some(result) = &record.result {
        let ips: Vec<&str> = result["ips"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|ip| ip["address"].as_str())
            .collect();
        if !ips.is_empty() {
            text.push_str(&format!("  addresses: {}\n", ips.join(", ")));
        }
    }
    text.push_str("  DEL undoes these steps from the last to the first.\n");
    text
}

fn step_line(step: &Step) -> String {
    match step {
        Step::Claim { claim } => format!(
            "claimed VF {} (its claim names namespace {})",
            claim.vf,
            claim.holder.ns.path.display()
        ),
        Step::VfState { state } => {
            let mut line = format!("recorded {} as it was", state.vf);
            if let Some(netdev) = &state.netdev {
                line.push_str(&format!(
                    ": netdev {} MAC {} MTU {}",
                    netdev.name, netdev.mac, netdev.mtu
                ));
            }
            if let Some(config) = &state.config {
                line.push_str(&format!(
                    "; PF side: VLAN {} spoof check {} trust {} link state {}",
                    config.vlan.id(),
                    flag(config.spoofchk),
                    flag(config.trust),
                    config.link_state
                ));
            }
            line
        }
        Step::Attach { undo } => format!(
            "moved {} ({}) into the pod as {}; DEL brings it back as {}",
            undo.host.name, undo.vf, undo.pod_name, undo.host.name
        ),
        Step::Bond { record, .. } => {
            let ports: Vec<String> = record.ports.iter().map(|p| p.name.to_string()).collect();
            format!("built bond {} over {}", record.bond, ports.join(", "))
        }
        Step::Ipam { plugin } => format!("asked IPAM plugin {plugin} for addresses"),
        Step::DeviceInfo { path } => format!("wrote the device-info file {}", path.display()),
        _ => "a step this netplumb does not know".to_owned(),
    }
}

fn flag(value: Option<bool>) -> &'static str {
    match value {
        Some(true) => "on",
        Some(false) => "off",
        None => "unknown",
    }
}

pub(crate) fn gc_dry_run(global: &Global) -> Result<(), Failure> {
    let attachments = Attachments::load(global)?;
    let gone: Vec<&(Key, Record)> = attachments
        .records
        .iter()
        .filter(|(_, record)| record.pod_is_gone())
        .collect();
    if gone.is_empty() {
        return out("nothing to collect: every attachment's network namespace is there\n");
    }
    let mut text = format!(
        "{} attachments whose pod's network namespace is gone:\n",
        gone.len()
    );
    for (key, record) in gone {
        text.push_str(&format!(
            "  network {} container {} {}: {} step(s) to undo{}\n",
            key.network(),
            key.container_id(),
            key.ifname(),
            record.steps.len(),
            record
                .claimed_vf()
                .map_or_else(String::new, |c| format!(", VF {} back to the host", c.vf))
        ));
    }
    text.push_str("Dry run: nothing was changed. The runtime's CNI GC or DEL undoes them.\n");
    out(&text)
}
