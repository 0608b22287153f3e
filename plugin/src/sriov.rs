//! The `sriov` plugin: a VF of an SR-IOV NIC into a pod, configured PF-side
//! and with IPAM; a NIC passed into a VM (no visible PF) into a pod as
//! host-device moves one; a VF bound to a userspace (DPDK) driver
//! configured PF-side without moving anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use netplumb_cniconf::skel::{Plugin, Request};
use netplumb_cniconf::{CniResult, Command, ErrorReply, Interface, SriovConf, VfSelector};
use netplumb_netns::NetNs;
use netplumb_types::{Chain, ErrorKind, IfName, MacAddr};
use netplumb_vf::{
    Allocator, AttachSpec, AttachUndo, Holder, Host, NsRef, Returned, Sysfs, Vf, VfId, VfLock,
    VfNetdev, VfSettings, VfState,
};

use crate::journal::{Journal, Key, Record, Step, DEFAULT_DATA_DIR};
use crate::{device_info, ipam, vf_settings, Error, Log};

/// How long ADD waits for the pod's interface to have carrier before it
/// announces its addresses.
const CARRIER_WAIT: Duration = Duration::from_millis(500);

/// The `sriov` plugin. Stateless between invocations: everything an
/// invocation needs from an earlier one is in the attachment journal.
#[derive(Debug, Clone)]
pub struct Sriov {
    sysfs: Sysfs,
    claims: PathBuf,
}

impl Default for Sriov {
    fn default() -> Sriov {
        Sriov::new(Sysfs::default(), Allocator::HOST_DIR)
    }
}

impl Sriov {
    /// A plugin finding VFs in `sysfs` and keeping their claims under
    /// `claims` (one directory for the whole host,
    /// [`Allocator::HOST_DIR`], whatever a configuration's `dataDir`).
    pub fn new(sysfs: Sysfs, claims: impl Into<PathBuf>) -> Sriov {
        Sriov {
            sysfs,
            claims: claims.into(),
        }
    }
}

/// One invocation: its configuration, log, journal and attachment.
struct Invocation<'r> {
    req: &'r Request<'r>,
    conf: SriovConf,
    log: Log,
    journal: Journal,
    key: Key,
}

impl<'r> Invocation<'r> {
    fn new(req: &'r Request<'r>) -> Result<Invocation<'r>, Error> {
        let conf = SriovConf::from_slice(req.stdin)?;
        let container_id = req
            .env
            .container_id
            .as_ref()
            .expect("ADD, DEL and CHECK have one");
        let ifname = req.env.ifname.expect("ADD, DEL and CHECK have one");
        let log = Log::open(
            conf.plugin.log_level,
            conf.plugin.log_file.as_deref().map(Path::new),
        )?
        .with_context(format!("containerID={container_id} ifname={ifname}"));
        for warning in &req.env.warnings {
            log.warning(warning);
        }
        if let Some(level) = &conf.plugin.unknown_log_level {
            log.warning(format!(
                "logLevel {level:?} is not a level; logging at info"
            ));
        }
        let data_dir = conf
            .plugin
            .data_dir
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_DATA_DIR));
        let journal = Journal::open(data_dir)?;
        let key = Key::new(&conf.net.name, container_id, ifname)?;
        Ok(Invocation {
            req,
            conf,
            log,
            journal,
            key,
        })
    }

    fn ifname(&self) -> IfName {
        self.key.ifname()
    }

    /// Who holds a VF for this attachment, in the pod's namespace `pod`.
    fn holder(&self, pod: &NetNs) -> Holder {
        Holder::new(
            NsRef::of(pod),
            format!(
                "{}/{}/{}",
                self.key.network(),
                self.key.container_id(),
                self.key.ifname()
            ),
        )
    }

    /// Writes the record before the step it now holds is taken.
    fn note(&self, record: &mut Record, step: Step) -> Result<(), Error> {
        record.steps.push(step);
        self.journal.save(&self.key, record)
    }
}

impl Plugin for Sriov {
    fn add(&mut self, req: &Request<'_>) -> Result<CniResult, ErrorReply> {
        let inv = Invocation::new(req)?;
        let _attachment = inv.journal.lock(&inv.key)?;
        self.add_locked(&inv).map_err(|e| {
            inv.log.error(format!("ADD failed: {}", Chain(&e)));
            e.reply(req.version)
        })
    }

    fn del(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        let inv = match Invocation::new(req) {
            Ok(inv) => inv,
            // A configuration that no longer parses must not keep DEL from
            // giving back what IPAM holds; without its dataDir the journal
            // cannot be found.
            Err(e @ Error::Cni(_)) => {
                let log = Log::stderr();
                log.warning(format!(
                    "DEL with a configuration that cannot be read ({}); releasing IPAM only",
                    Chain(&e)
                ));
                return ipam::run(req, Command::Del)
                    .map(drop)
                    .map_err(|e| e.reply(req.version));
            }
            Err(e) => return Err(e.reply(req.version)),
        };
        let _attachment = inv
            .journal
            .lock(&inv.key)
            .map_err(|e| e.reply(req.version))?;
        self.del_locked(&inv).map_err(|e| {
            inv.log.error(format!("DEL failed: {}", Chain(&e)));
            e.reply(req.version)
        })
    }

    fn check(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        let inv = Invocation::new(req)?;
        let _attachment = inv.journal.lock(&inv.key)?;
        self.check_locked(&inv).map_err(|e| {
            inv.log.error(format!("CHECK failed: {}", Chain(&e)));
            e.reply(req.version)
        })
    }

    fn status(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        let conf = SriovConf::from_slice(req.stdin)?;
        let data_dir = conf
            .plugin
            .data_dir
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_DATA_DIR));
        if let Err(e) = Journal::open(data_dir) {
            return Err(ErrorReply {
                code: netplumb_cniconf::codes::PLUGIN_NOT_AVAILABLE,
                ..e.reply(req.version)
            });
        }
        ipam::run(req, Command::Status)
            .map(drop)
            .map_err(|e| e.reply(req.version))
    }

    fn gc(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        self.gc_all(req).map_err(|e| e.reply(req.version))
    }
}

impl Sriov {
    fn add_locked(&self, inv: &Invocation<'_>) -> Result<CniResult, Error> {
        if let Some(earlier) = inv.journal.load(&inv.key)? {
            if earlier.result.is_some() {
                return Err(Error::AlreadyAttached {
                    network: inv.key.network().to_owned(),
                    container_id: inv.key.container_id().to_string(),
                    ifname: inv.key.ifname().to_string(),
                });
            }
            // An ADD that did not finish (killed halfway): what it did
            // goes first, as a DEL would take it.
            inv.log
                .warning("an earlier ADD of this attachment did not finish; undoing what it did");
            self.undo(inv, earlier, true)?;
        }
        let netns = inv.req.env.netns.clone().expect("ADD has CNI_NETNS");
        let mut record = Record::new(&inv.key, "sriov", Some(netns.clone()));
        match self.attach(inv, &netns, &mut record) {
            Ok(result) => {
                record.result = Some(result.to_json());
                inv.journal.save(&inv.key, &record)?;
                inv.log.info("ADD done");
                Ok(result)
            }
            Err(failure) => {
                inv.log.error(format!(
                    "ADD failed, undoing what it did: {}",
                    Chain(&failure)
                ));
                match self.undo(inv, record, true) {
                    Ok(()) => Err(failure),
                    Err(undo) => Err(Error::Several {
                        errors: vec![failure, undo],
                    }),
                }
            }
        }
    }

    /// The steps of ADD, each written down before it is taken.
    fn attach(
        &self,
        inv: &Invocation<'_>,
        netns: &Path,
        record: &mut Record,
    ) -> Result<CniResult, Error> {
        let conf = &inv.conf;
        let pod = NetNs::open(netns).map_err(Error::at("opening the pod's network namespace"))?;
        let host = Host::open(self.sysfs.clone()).map_err(Error::at("opening the host"))?;
        let settings = vf_settings(conf).map_err(Error::at("reading the VF settings"))?;
        let mac = conf.effective_mac(&inv.req.env.args)?;
        let allocator = Allocator::new(&self.claims, self.sysfs.clone())
            .map_err(Error::at("opening the VF claims"))?;
        let holder = inv.holder(&pod);

        let claim = match conf.vf_selector()? {
            VfSelector::Device { pci, expected_pf } => {
                let claim = allocator
                    .claim(pci, &holder)
                    .map_err(Error::at("claiming the VF"))?;
                if let Some(master) = expected_pf {
                    check_master(&claim.vf, &master)?;
                }
                claim
            }
            VfSelector::FreeVfOf(pf) => allocator
                .claim_free(&pf, &holder)
                .map_err(Error::at("claiming a free VF"))?,
        };
        let vf = claim.vf.clone();
        let id = vf.id();
        if let Some(previous) = &claim.reclaimed_from {
            inv.log.info(format!(
                "{id} taken back from {}, whose namespace is gone",
                previous.owner
            ));
        }
        inv.note(
            record,
            Step::Claim {
                claim: claim.undo(),
            },
        )?;
        inv.log.info(format!("{id} claimed"));

        let state = host
            .snapshot(&vf)
            .map_err(Error::at("recording the VF's state"))?;
        inv.note(
            record,
            Step::VfState {
                state: Box::new(state.clone()),
            },
        )?;
        let mode = Mode::of(&state);
        if mode == Mode::Vm && !settings.is_empty() {
            return Err(Error::Unsupported {
                field: setting_names(&settings),
                problem: format!(
                    "{id} has no visible PF (a NIC passed into a virtual machine), and PF-side \
                     settings need one"
                ),
            });
        }

        // PF-side settings (and, for a VF without a netdev to carry it,
        // the MAC), all in one request where the driver takes it; the
        // recorded state puts them back.
        let pf_side = VfSettings {
            mac: if mode == Mode::Userspace { mac } else { None },
            ..settings
        };
        if !pf_side.is_empty() {
            host.configure(&id, &pf_side)
                .map_err(Error::at("applying the VF's PF-side settings"))?;
            inv.log.info(format!("{id}: PF-side settings applied"));
        }

        let interface = match mode {
            Mode::Userspace => {
                inv.log.info(format!(
                    "{id} is bound to {}, a userspace driver: it stays where it is",
                    vf.driver.as_deref().unwrap_or("a userspace driver")
                ));
                let admin = host
                    .vf_config(&id)
                    .map_err(Error::at("reading the VF's PF-side settings"))?
                    .mac;
                Interface {
                    name: inv.ifname().to_string(),
                    mac: mac
                        .or((!admin.is_zero()).then_some(admin))
                        .map(|m| m.to_string()),
                    sandbox: Some(netns.display().to_string()),
                    pci_id: Some(vf.addr.to_string()),
                    ..Interface::default()
                }
            }
            Mode::Netdev | Mode::Vm => {
                let mut spec = AttachSpec::new(inv.ifname());
                if let Some(mac) = mac {
                    spec = spec.mac(mac);
                }
                let undo = AttachUndo::new(&state, &pod, &spec)
                    .map_err(Error::at("preparing to move the VF into the pod"))?;
                inv.note(
                    record,
                    Step::Attach {
                        undo: Box::new(undo),
                    },
                )?;
                host.attach(&state, &pod, &spec)
                    .map_err(Error::at("moving the VF into the pod"))?;
                inv.log
                    .info(format!("{id} moved into the pod as {}", inv.ifname()));
                let link = pod
                    .netlink()
                    .and_then(|nl| nl.link(inv.ifname()))
                    .map_err(Error::at("reading the pod's interface"))?;
                Interface {
                    name: inv.ifname().to_string(),
                    mac: link.mac.map(|m| m.to_string()),
                    mtu: Some(link.mtu),
                    sandbox: Some(netns.display().to_string()),
                    pci_id: Some(vf.addr.to_string()),
                    ..Interface::default()
                }
            }
        };

        let addresses = match &conf.net.ipam {
            Some(ipam_conf) => {
                inv.note(
                    record,
                    Step::Ipam {
                        plugin: ipam_conf.plugin_type.clone(),
                    },
                )?;
                let answer = ipam::run(inv.req, Command::Add)?.ok_or_else(|| Error::Ipam {
                    plugin: ipam_conf.plugin_type.clone(),
                    problem: "it printed no result".into(),
                })?;
                if answer.ips.is_empty() {
                    return Err(Error::Ipam {
                        plugin: ipam_conf.plugin_type.clone(),
                        problem: "it gave no address".into(),
                    });
                }
                if mode != Mode::Userspace {
                    let config = ipam::ip_config(&answer);
                    pod.configure_ip(&inv.ifname(), &config)
                        .map_err(Error::at("configuring the pod's addresses and routes"))?;
                    inv.log.info(format!(
                        "addresses {:?} configured",
                        config
                            .addresses
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                    ));
                }
                Some(answer)
            }
            None => None,
        };

        if let Some(path) = device_info_path(inv) {
            inv.note(record, Step::DeviceInfo { path: path.clone() })?;
            let pf = vf.pf.as_ref().map(|pf| pf.addr);
            device_info::write(&path, &device_info::pci(vf.addr, pf))?;
        }

        if let (Some(answer), true) = (&addresses, mode != Mode::Userspace) {
            announce(inv, &pod, answer);
        }

        let prev = inv.req.conf.prev_result()?;
        Ok(ipam::result(
            prev,
            interface,
            addresses.as_ref(),
            inv.conf.net.dns.as_ref(),
        ))
    }

    fn del_locked(&self, inv: &Invocation<'_>) -> Result<(), Error> {
        match inv.journal.load(&inv.key) {
            Ok(Some(record)) => self.undo(inv, record, true),
            Ok(None) => {
                // No ADD (or one whose DEL already ran): only what IPAM may
                // hold for this attachment.
                inv.log.info("no journal record: releasing IPAM only");
                ipam::run(inv.req, Command::Del).map(drop)
            }
            Err(e) => {
                inv.log.error(format!(
                    "the journal record cannot be read ({}); releasing IPAM only",
                    Chain(&e)
                ));
                ipam::run(inv.req, Command::Del)?;
                Err(e)
            }
        }
    }

    /// Undoes `record`'s steps, newest first: IPAM released, the device
    /// info removed, and, when the VF is still this attachment's, the VF
    /// brought back and put back as it was and its claim released. What
    /// fails stays in the record, for the next DEL to retry; with nothing
    /// left, the record goes. IPAM's addresses are released only with
    /// `release_ipam` (GC leaves them to IPAM's own GC).
    fn undo(
        &self,
        inv: &Invocation<'_>,
        mut record: Record,
        release_ipam: bool,
    ) -> Result<(), Error> {
        let host = Host::open(self.sysfs.clone()).map_err(Error::at("opening the host"))?;
        let allocator = Allocator::new(&self.claims, self.sysfs.clone())
            .map_err(Error::at("opening the VF claims"))?;
        let claim = record.steps.iter().find_map(|step| match step {
            Step::Claim { claim } => Some(claim.clone()),
            _ => None,
        });
        // Held across the check and every change to the VF, so nobody
        // claims it in between.
        let lock = match &claim {
            Some(claim) => Some(
                allocator
                    .lock(claim.vf)
                    .map_err(Error::at("locking the VF"))?,
            ),
            None => None,
        };
        let ours = match (&claim, &lock) {
            (Some(claim), Some(lock)) => {
                let ours = lock
                    .is_held_by(&claim.holder)
                    .map_err(Error::at("reading who holds the VF"))?;
                if !ours {
                    let now = lock.holder().ok().flatten();
                    inv.log.warning(format!(
                        "VF {} is not this attachment's any more (held by {}): only this \
                         attachment's own record is cleaned",
                        claim.vf,
                        now.map_or("nobody".to_owned(), |h| h.owner)
                    ));
                }
                ours
            }
            _ => true,
        };

        let mut errors = Vec::new();
        let mut left = Vec::new();
        while let Some(step) = record.steps.pop() {
            let done = match &step {
                Step::DeviceInfo { path } => device_info::remove(path),
                Step::Ipam { plugin } if release_ipam => {
                    inv.log
                        .info(format!("releasing the addresses {plugin} gave"));
                    ipam::run(inv.req, Command::Del).map(drop)
                }
                Step::Ipam { .. } => Ok(()),
                Step::Attach { undo } if ours => self.bring_back(inv, &host, undo),
                Step::VfState { state } if ours => self.put_back(inv, &host, state),
                Step::Claim { claim } if ours => lock
                    .as_ref()
                    .expect("locked above")
                    .release(&claim.holder)
                    .map(drop)
                    .map_err(Error::at("releasing the VF's claim")),
                // Not this attachment's VF any more, or not this plugin's.
                Step::Attach { .. } | Step::VfState { .. } | Step::Claim { .. } => Ok(()),
                Step::Bond { .. } => Ok(()),
            };
            if let Err(e) = done {
                inv.log.error(format!("undoing failed: {}", Chain(&e)));
                errors.push(e);
                left.push(step);
            }
        }
        drop(lock);
        if errors.is_empty() {
            inv.journal.remove(&inv.key)?;
            inv.log.info("everything the attachment changed is undone");
            return Ok(());
        }
        left.reverse();
        record.steps = left;
        record.result = None;
        inv.journal.save(&inv.key, &record)?;
        Err(Error::Several { errors })
    }

    /// Brings the VF's netdev back from the pod. A VF that is gone, or that
    /// another driver holds now (one without a netdev), has nothing to
    /// bring back: its PF side is put back, and the rest is left to the
    /// recorded state.
    fn bring_back(
        &self,
        inv: &Invocation<'_>,
        host: &Host,
        undo: &AttachUndo,
    ) -> Result<(), Error> {
        match host.detach(undo) {
            Ok(Returned::NameTaken { wanted, got }) => {
                inv.log.warning(format!(
                    "{}: back in the host namespace as {got}, as {wanted} is taken",
                    undo.vf
                ));
                Ok(())
            }
            Ok(_) => {
                inv.log
                    .info(format!("{}: back in the host namespace", undo.vf));
                Ok(())
            }
            Err(e) if vf_is_gone_or_rebound(host, &undo.vf) => {
                inv.log.warning(format!(
                    "{}: nothing to bring back ({})",
                    undo.vf,
                    Chain(&e)
                ));
                Ok(())
            }
            Err(e) => Err(Error::step("bringing the VF back from the pod", e)),
        }
    }

    /// Puts the VF back as recorded: PF-side settings and netdev. A VF that
    /// is gone is skipped; one another driver holds now gets its PF side
    /// back.
    fn put_back(&self, inv: &Invocation<'_>, host: &Host, state: &VfState) -> Result<(), Error> {
        match host.restore(state) {
            Ok(_) => {
                inv.log.info(format!("{}: put back as it was", state.vf));
                Ok(())
            }
            Err(e) if vf_is_gone(host, &state.vf) => {
                inv.log.warning(format!(
                    "{}: gone, nothing to put back ({})",
                    state.vf,
                    Chain(&e)
                ));
                Ok(())
            }
            Err(e) if vf_is_gone_or_rebound(host, &state.vf) => {
                inv.log.warning(format!(
                    "{}: no netdev to put back ({}); putting back its PF side",
                    state.vf,
                    Chain(&e)
                ));
                match state.pf_side_to_restore() {
                    Some(settings) => host
                        .configure(&state.vf, &settings)
                        .map(drop)
                        .map_err(Error::at("putting the VF's PF-side settings back")),
                    None => Ok(()),
                }
            }
            Err(e) => Err(Error::step("putting the VF back as it was", e)),
        }
    }

    fn check_locked(&self, inv: &Invocation<'_>) -> Result<(), Error> {
        let record = inv.journal.load(&inv.key)?;
        let Some(record) = record.filter(|r| r.result.is_some()) else {
            return Err(Error::Check {
                differences: vec!["no ADD of this attachment is recorded".into()],
            });
        };
        let mut differences = Vec::new();
        let netns = inv.req.env.netns.clone().expect("CHECK has CNI_NETNS");
        let pod = NetNs::open(&netns).map_err(Error::at("opening the pod's network namespace"))?;
        let allocator = Allocator::new(&self.claims, self.sysfs.clone())
            .map_err(Error::at("opening the VF claims"))?;
        let holder = inv.holder(&pod);
        for step in &record.steps {
            if let Step::Claim { claim } = step {
                let held = allocator
                    .lock(claim.vf)
                    .and_then(|lock: VfLock<'_>| lock.is_held_by(&holder))
                    .map_err(Error::at("reading who holds the VF"))?;
                if !held {
                    differences.push(format!("VF {} is not held by this attachment", claim.vf));
                }
            }
        }
        let expected = match inv.req.conf.prev_result()? {
            Some(prev) => prev,
            None => {
                let json = serde_json::to_vec(record.result.as_ref().expect("filtered"))
                    .expect("a JSON value serializes");
                CniResult::from_slice(&json)?
            }
        };
        let attached = record.steps.iter().find_map(|s| match s {
            Step::Attach { undo } => Some(undo.vf.addr),
            _ => None,
        });
        if let Some(vf) = attached {
            check_interface(inv, &pod, vf, &expected, &mut differences)?;
        }
        if inv.conf.net.ipam.is_some() {
            ipam::run(inv.req, Command::Check)?;
        }
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Error::Check { differences })
        }
    }

    fn gc_all(&self, req: &Request<'_>) -> Result<(), Error> {
        let conf = SriovConf::from_slice(req.stdin)?;
        let log = Log::open(
            conf.plugin.log_level,
            conf.plugin.log_file.as_deref().map(Path::new),
        )?;
        let data_dir = conf
            .plugin
            .data_dir
            .as_deref()
            .unwrap_or(Path::new(DEFAULT_DATA_DIR));
        let journal = Journal::open(data_dir)?;
        let valid = req.conf.valid_attachments.clone().unwrap_or_default();
        let mut errors = Vec::new();
        for (key, record) in journal.list(&conf.net.name)? {
            let keep = valid
                .iter()
                .any(|a| &a.container_id == key.container_id() && a.ifname == key.ifname());
            if keep {
                continue;
            }
            let log = Log::open(
                conf.plugin.log_level,
                conf.plugin.log_file.as_deref().map(Path::new),
            )?
            .with_context(format!(
                "containerID={} ifname={}",
                key.container_id(),
                key.ifname()
            ));
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    log.error(format!("GC cannot read the record: {}", Chain(&e)));
                    errors.push(e);
                    continue;
                }
            };
            let _attachment = journal.lock(&key)?;
            log.info("GC: the attachment is not valid any more; undoing it");
            let inv = Invocation {
                req,
                conf: conf.clone(),
                log,
                journal: journal.clone(),
                key,
            };
            // IPAM's own GC releases its addresses below.
            if let Err(e) = self.undo(&inv, record, false) {
                errors.push(e);
            }
        }
        if let Err(e) = ipam::run(req, Command::Gc) {
            log.error(format!("IPAM GC failed: {}", Chain(&e)));
            errors.push(e);
        }
        match errors.len() {
            0 => Ok(()),
            _ => Err(Error::Several { errors }),
        }
    }
}

/// How the VF is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A VF with a netdev and a visible PF: moved in, configured PF-side.
    Netdev,
    /// A NIC with no visible PF (a VF passed into a VM): moved in only.
    Vm,
    /// A VF bound to a userspace driver: configured PF-side, not moved.
    Userspace,
}

impl Mode {
    fn of(state: &VfState) -> Mode {
        match (&state.netdev, &state.config) {
            (None, _) => Mode::Userspace,
            (Some(_), None) => Mode::Vm,
            (Some(_), Some(_)) => Mode::Netdev,
        }
    }
}

/// The configuration fields behind `settings`, for an error naming them.
fn setting_names(settings: &VfSettings) -> String {
    let mut names = Vec::new();
    if settings.vlan.is_some() {
        names.push("vlan");
    }
    if settings.spoofchk.is_some() {
        names.push("spoofchk");
    }
    if settings.trust.is_some() {
        names.push("trust");
    }
    if settings.link_state.is_some() {
        names.push("link_state");
    }
    if settings.min_tx_rate.is_some() {
        names.push("min_tx_rate");
    }
    if settings.max_tx_rate.is_some() {
        names.push("max_tx_rate");
    }
    names.join(", ")
}

/// Checks that `vf` belongs to the PF `master` names.
fn check_master(vf: &Vf, master: &IfName) -> Result<(), Error> {
    match vf.pf_name() {
        Some(pf) if pf == master => Ok(()),
        pf => Err(Error::Unsupported {
            field: "master".into(),
            problem: format!(
                "{} is not a VF of {master} but of {}",
                vf.addr,
                pf.map_or("a PF without a netdev".to_owned(), |p| p.to_string())
            ),
        }),
    }
}

fn device_info_path(inv: &Invocation<'_>) -> Option<PathBuf> {
    inv.conf
        .net
        .runtime_config
        .as_ref()
        .and_then(|rc| rc.device_info_file.clone())
}

/// Announces the pod's new addresses, once its interface has carrier, so
/// that peers learn its MAC at once. Best effort: a peer that misses it
/// learns the MAC when it next asks.
fn announce(inv: &Invocation<'_>, pod: &NetNs, answer: &CniResult) {
    let ifname = inv.ifname();
    let carrier = pod
        .netlink()
        .and_then(|nl| nl.wait_for_carrier(ifname, CARRIER_WAIT));
    match carrier {
        Ok(true) => {}
        Ok(false) => inv.log.info(format!(
            "{ifname} has no carrier after {} ms; announcing anyway",
            CARRIER_WAIT.as_millis()
        )),
        Err(e) => inv
            .log
            .warning(format!("reading {ifname}'s carrier: {}", Chain(&e))),
    }
    let ips: Vec<_> = answer.ips.iter().map(|ip| ip.address.ip()).collect();
    match pod.announce(&ifname, &ips) {
        Ok(()) => inv.log.info(format!("announced {ips:?}")),
        Err(e) => inv
            .log
            .warning(format!("announcing {ips:?}: {}", Chain(&e))),
    }
}

/// Whether the VF at `vf`'s address no longer exists.
fn vf_is_gone(host: &Host, vf: &VfId) -> bool {
    matches!(
        host.sysfs().vf(vf.addr),
        Err(e) if e.kind() == ErrorKind::NotFound
    )
}

/// Whether the VF no longer exists, or no longer has a netdev for the
/// host (bound to a userspace driver, or to none).
fn vf_is_gone_or_rebound(host: &Host, vf: &VfId) -> bool {
    match host.sysfs().vf(vf.addr) {
        Ok(now) => matches!(
            now.netdev,
            VfNetdev::Userspace | VfNetdev::Unbound | VfNetdev::NoNetdev
        ),
        Err(e) => e.kind() == ErrorKind::NotFound,
    }
}

/// Compares the pod's interface with what ADD reported in `expected`:
/// it is there, it is the VF, its MAC and MTU, its addresses and routes.
fn check_interface(
    inv: &Invocation<'_>,
    pod: &NetNs,
    vf: netplumb_types::PciAddr,
    expected: &CniResult,
    differences: &mut Vec<String>,
) -> Result<(), Error> {
    let ifname = inv.ifname();
    let nl = pod.netlink().map_err(Error::at("reading the pod"))?;
    let link = match nl.link(ifname) {
        Ok(link) => link,
        Err(e) if e.is_no_such_link() => {
            differences.push(format!("{ifname} is not in the pod"));
            return Ok(());
        }
        Err(e) => return Err(Error::step("reading the pod's interface", e)),
    };
    if link.parent_device.is_some() && !link.is_on_pci_device(&vf.to_string()) {
        differences.push(format!("{ifname} is not VF {vf}"));
    }
    let name = ifname.to_string();
    let Some((index, reported)) = expected
        .interfaces
        .iter()
        .enumerate()
        .find(|(_, i)| i.name == name)
    else {
        differences.push(format!("prevResult does not list {ifname}"));
        return Ok(());
    };
    if let Some(mac) = reported
        .mac
        .as_deref()
        .and_then(|m| m.parse::<MacAddr>().ok())
    {
        if link.mac != Some(mac) {
            differences.push(format!(
                "{ifname}'s MAC is {}, not {mac}",
                link.mac.map_or("none".to_owned(), |m| m.to_string())
            ));
        }
    }
    if let Some(mtu) = reported.mtu {
        if link.mtu != mtu {
            differences.push(format!("{ifname}'s MTU is {}, not {mtu}", link.mtu));
        }
    }
    let have = nl
        .addresses(link.index)
        .map_err(Error::at("reading the pod's addresses"))?;
    for ip in expected
        .ips
        .iter()
        .filter(|ip| ip.interface == u32::try_from(index).ok())
    {
        if !have.iter().any(|a| a.address == ip.address) {
            differences.push(format!("{ifname} does not have {}", ip.address));
        }
    }
    let routes = nl.routes().map_err(Error::at("reading the pod's routes"))?;
    for route in &expected.routes {
        let there = routes
            .iter()
            .any(|r| r.destination == route.dst && route.gw.is_none_or(|gw| r.gateway == Some(gw)));
        if !there {
            differences.push(format!("the route to {} is missing", route.dst));
        }
    }
    Ok(())
}
