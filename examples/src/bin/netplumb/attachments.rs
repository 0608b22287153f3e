//! Who holds what: the plugins' journal, and the VF claims.

use netplumb_plugin::journal::{Journal, Key, Record};
use netplumb_vf::types::Chain;
use netplumb_vf::{Allocator, Holder, PciAddr, Sysfs};

use crate::args::Global;
use crate::{warn, Failure};

/// An attachment as a person names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub network: String,
    pub container_id: String,
    pub ifname: String,
}

/// Every record in the journal, and every claim.
#[derive(Debug, Default)]
pub(crate) struct Attachments {
    /// The records that could be read, in network then file order.
    pub records: Vec<(Key, Record)>,
    /// The VF claims, alive or not.
    pub claims: Vec<(PciAddr, Holder)>,
}

impl Attachments {
    /// Reads the journal under `--data-dir` and the claims under
    /// `--claims`; what cannot be read is a warning. Creates nothing.
    pub(crate) fn load(global: &Global) -> Result<Attachments, Failure> {
        let mut found = Attachments::default();
        let journal = Journal::open_existing(&global.data_dir).map_err(|e| {
            Failure::failed(format!("the journal: {} (is --data-dir right?)", Chain(&e)))
        })?;
        if let Some(journal) = journal {
            let networks = journal
                .networks()
                .map_err(|e| Failure::failed(format!("the journal: {}", Chain(&e))))?;
            for network in networks {
                match journal.list(&network) {
                    Ok(listed) => {
                        for (key, record) in listed {
                            match record {
                                Ok(record) => found.records.push((key, record)),
                                Err(e) => warn(&format!("left out: {}", Chain(&e))),
                            }
                        }
                    }
                    Err(e) => warn(&format!("left out network {network}: {}", Chain(&e))),
                }
            }
        }
        let allocator = Allocator::new(&global.claims, Sysfs::default())
            .map_err(|e| Failure::failed(format!("--claims: {}", Chain(&e))))?;
        match allocator.holders() {
            Ok(claims) => found.claims = claims,
            Err(e) => warn(&format!("the VF claims are left out: {}", Chain(&e))),
        }
        Ok(found)
    }

    /// The live attachment holding `vf`: its journal record's, else (a
    /// journal under another dataDir) what its claim says.
    pub(crate) fn holder_of(&self, vf: PciAddr) -> Option<Attachment> {
        let claim = self
            .claims
            .iter()
            .find(|(addr, holder)| *addr == vf && holder.is_alive());
        let recorded = self.records.iter().find(|(_, record)| {
            record.claimed_vf().is_some_and(|c| c.vf == vf)
                && claim.is_none_or(|(_, holder)| {
                    record.claimed_vf().is_some_and(|c| &c.holder == holder)
                })
        });
        match (recorded, claim) {
            (Some((key, _)), Some(_)) => Some(attachment(key)),
            // The claim names its owner network/container/ifname.
            (None, Some((_, holder))) => {
                let mut parts = holder.owner.splitn(3, '/');
                Some(Attachment {
                    network: parts.next().unwrap_or_default().to_owned(),
                    container_id: parts.next().unwrap_or_default().to_owned(),
                    ifname: parts.next().unwrap_or_default().to_owned(),
                })
            }
            // A record whose claim is gone or not alive: its pod is gone.
            _ => None,
        }
    }
}

pub(crate) fn attachment(key: &Key) -> Attachment {
    Attachment {
        network: key.network().to_owned(),
        container_id: key.container_id().to_string(),
        ifname: key.ifname().to_string(),
    }
}
