//! The flow both plugins share: one invocation on one attachment, its
//! journal record written before each step, replayed backwards when ADD
//! fails, on DEL and on GC.

use std::path::{Path, PathBuf};

use netplumb_bond::{Home, Pod};
use netplumb_cniconf::skel::Request;
use netplumb_cniconf::{
    codes, BondConf, CniResult, Command, Env, ErrorReply, NetConf, PluginOptions, SriovConf,
};
use netplumb_netns::NetNs;
use netplumb_types::{Chain, ErrorKind, IfName};
use netplumb_vf::{
    Allocator, AttachUndo, Holder, Host, NsRef, Returned, Sysfs, VfId, VfNetdev, VfState,
};
use nix::errno::Errno;

use crate::journal::{Journal, Key, Record, Step, DEFAULT_DATA_DIR};
use crate::{crash, device_info, ipam, Cost, Error, Log};

/// A plugin's configuration, as the shared flow needs it.
pub(crate) trait Config: Sized + Clone {
    /// Parses and checks it.
    fn parse(stdin: &[u8]) -> Result<Self, Error>;
    /// The fields every plugin has.
    fn net(&self) -> &NetConf;
    /// `logLevel`, `logFile`, `dataDir`.
    fn options(&self) -> &PluginOptions;
    /// Checks what ADD reads from the configuration and the environment
    /// together, so that it is refused before anything is created.
    fn check_add(&self, env: &Env) -> Result<(), Error> {
        let _ = env;
        Ok(())
    }
}

impl Config for SriovConf {
    fn parse(stdin: &[u8]) -> Result<SriovConf, Error> {
        Ok(SriovConf::from_slice(stdin)?)
    }
    fn net(&self) -> &NetConf {
        &self.net
    }
    fn options(&self) -> &PluginOptions {
        &self.plugin
    }
    fn check_add(&self, env: &Env) -> Result<(), Error> {
        self.vf_selector()?;
        self.effective_mac(&env.args)?;
        Ok(())
    }
}

impl Config for BondConf {
    fn parse(stdin: &[u8]) -> Result<BondConf, Error> {
        Ok(BondConf::from_slice(stdin)?)
    }
    fn net(&self) -> &NetConf {
        &self.net
    }
    fn options(&self) -> &PluginOptions {
        &self.plugin
    }
}

/// What a plugin adds to the shared flow.
pub(crate) trait Attach {
    /// Its configuration.
    type Conf: Config;
    /// Its name, the CNI `type` (records name the plugin that wrote them).
    const NAME: &'static str;

    /// Where VFs are found and claimed.
    fn node(&self) -> &Node;

    /// ADD's own steps, each written down ([`Invocation::note`]) before
    /// it is taken; the result to print.
    fn attach(
        &self,
        inv: &Invocation<'_, Self::Conf>,
        netns: &Path,
        record: &mut Record,
    ) -> Result<CniResult, Error>;

    /// CHECK's own comparisons: each difference between the pod and what
    /// `expected` (prevResult, or the recorded result) and `record` say.
    fn check(
        &self,
        inv: &Invocation<'_, Self::Conf>,
        record: &Record,
        expected: &CniResult,
        differences: &mut Vec<String>,
    ) -> Result<(), Error>;

    /// What an ADD killed between taking a step and writing it down left,
    /// undone before `record`'s steps are: nothing, unless the plugin
    /// takes such a step.
    fn undo_unnoted(&self, inv: &Invocation<'_, Self::Conf>, record: &Record) -> Result<(), Error> {
        let _ = (inv, record);
        Ok(())
    }

    /// DEL without a record (no ADD, or the journal lost): what can be put
    /// back from the configuration alone. IPAM is released by the caller.
    fn del_unrecorded(&self, inv: &Invocation<'_, Self::Conf>) -> Result<(), Error> {
        let _ = inv;
        Ok(())
    }
}

/// Where VFs are found (sysfs) and claimed (one directory for the host).
#[derive(Debug, Clone)]
pub struct Node {
    pub(crate) sysfs: Sysfs,
    pub(crate) claims: PathBuf,
}

impl Default for Node {
    fn default() -> Node {
        Node::new(Sysfs::default(), Allocator::HOST_DIR)
    }
}

impl Node {
    /// VFs found in `sysfs`, their claims under `claims` (one directory
    /// for the whole host, [`Allocator::HOST_DIR`], whatever a
    /// configuration's `dataDir`).
    pub fn new(sysfs: Sysfs, claims: impl Into<PathBuf>) -> Node {
        Node {
            sysfs,
            claims: claims.into(),
        }
    }

    pub(crate) fn host(&self) -> Result<Host, Error> {
        Host::open(self.sysfs.clone()).map_err(Error::at("opening the host"))
    }

    pub(crate) fn allocator(&self) -> Result<Allocator, Error> {
        Allocator::new(&self.claims, self.sysfs.clone()).map_err(Error::at("opening the VF claims"))
    }
}

/// One invocation: its configuration, log, journal and attachment.
pub(crate) struct Invocation<'r, C> {
    pub req: &'r Request<'r>,
    pub conf: C,
    pub log: Log,
    pub journal: Journal,
    pub key: Key,
}

impl<'r, C: Config> Invocation<'r, C> {
    /// Everything the input says is checked before the journal is
    /// created: the configuration, the attachment's key, the log file
    /// (which DEL does without), what ADD needs besides, and for ADD and
    /// CHECK the pod's namespace.
    fn new(req: &'r Request<'r>) -> Result<Invocation<'r, C>, Error> {
        let conf = C::parse(req.stdin)?;
        let container_id = req
            .env
            .container_id
            .as_ref()
            .expect("ADD, DEL and CHECK have one");
        let ifname = req.env.ifname.expect("ADD, DEL and CHECK have one");
        let key = Key::new(&conf.net().name, container_id, ifname)?;
        let log = match open_log(conf.options()) {
            Ok(log) => log,
            // DEL logs to stderr rather than leave an attachment as it is.
            Err(e) if req.env.command == Command::Del => {
                let log = Log::stderr();
                log.warning(format!("{}; logging to stderr", Chain(&e)));
                log
            }
            Err(e) => return Err(e),
        }
        .with_context(format!("containerID={container_id} ifname={ifname}"));
        if req.env.command == Command::Add {
            conf.check_add(&req.env)?;
        }
        if let (Command::Add | Command::Check, Some(netns)) = (req.env.command, &req.env.netns) {
            check_pod_namespace(netns, data_dir(conf.options()), &key)?;
        }
        for warning in &req.env.warnings {
            log.warning(warning);
        }
        if let Some(level) = &conf.options().unknown_log_level {
            log.warning(format!(
                "logLevel {level:?} is not a level; logging at info"
            ));
        }
        let journal = Journal::open(data_dir(conf.options()))?;
        Ok(Invocation {
            req,
            conf,
            log,
            journal,
            key,
        })
    }

    /// The interface's name in the pod.
    pub fn ifname(&self) -> IfName {
        self.key.ifname()
    }

    /// Who holds a VF for this attachment, in the pod's namespace `pod`.
    pub fn holder(&self, pod: &NetNs) -> Holder {
        Holder::new(NsRef::of(pod), self.owner())
    }

    /// The attachment as a VF claim names its owner.
    pub fn owner(&self) -> String {
        format!(
            "{}/{}/{}",
            self.key.network(),
            self.key.container_id(),
            self.key.ifname()
        )
    }

    /// Adds `step` to the record and writes it down, before the step is
    /// taken.
    pub fn note(&self, record: &mut Record, step: Step) -> Result<(), Error> {
        crash::point(|| format!("before noting {}", step.name()));
        record.steps.push(step);
        self.journal.save(&self.key, record)?;
        crash::point(|| format!("noted {}", record.steps.last().expect("pushed").name()));
        Ok(())
    }

    /// Replaces the record's newest step (one that has become better known
    /// since it was written, such as a bond's index once it exists).
    pub fn renote(&self, record: &mut Record, step: Step) -> Result<(), Error> {
        record.steps.pop();
        self.note(record, step)
    }
}

fn open_log(options: &PluginOptions) -> Result<Log, Error> {
    Log::open(
        options.log_level,
        options.log_file.as_deref().map(Path::new),
    )
}

fn data_dir(options: &PluginOptions) -> &Path {
    options
        .data_dir
        .as_deref()
        .unwrap_or(Path::new(DEFAULT_DATA_DIR))
}

/// Opens the pod's namespace (`CNI_NETNS`) before anything is created, so
/// that one that is not a network namespace changes nothing: code 4, naming
/// the variable. One that is gone is code 3, unless the attachment has a
/// record (an ADD killed halfway), which the flow undoes first.
fn check_pod_namespace(netns: &Path, data_dir: &Path, key: &Key) -> Result<(), Error> {
    let Err(e) = NetNs::open(netns) else {
        return Ok(());
    };
    if e.is_gone() {
        if Journal::is_recorded(data_dir, key) {
            return Ok(());
        }
        return Err(Error::step("opening the pod's network namespace", e));
    }
    if names_no_namespace(&e) {
        return Err(Error::Cni(netplumb_cniconf::Error::InvalidEnv {
            var: "CNI_NETNS",
            message: Chain(&e).to_string(),
        }));
    }
    Err(Error::step("opening the pod's network namespace", e))
}

/// Whether opening a namespace failed because the path names something
/// that is no network namespace and never was one (not one that is gone,
/// nor one that could not be opened for a passing reason such as EMFILE).
fn names_no_namespace(e: &netplumb_netns::Error) -> bool {
    let bad_path = matches!(
        e.errno(),
        Some(Errno::ELOOP | Errno::ENOTDIR | Errno::ENAMETOOLONG | Errno::ENXIO | Errno::ENODEV)
    );
    !e.is_gone() && (e.kind() == ErrorKind::Invalid || bad_path)
}

/// DEL's request without a `CNI_NETNS` that names no network namespace,
/// with a warning saying so: nothing could be cleaned in it, and it must
/// not keep DEL from the rest. `None` when the request is fine as it is.
fn without_bogus_netns<'a>(req: &Request<'a>) -> Option<Request<'a>> {
    let e = NetNs::open(req.env.netns.as_ref()?).err()?;
    if !names_no_namespace(&e) {
        return None;
    }
    let mut env = req.env.clone();
    env.netns = None;
    env.warnings
        .push(format!("CNI_NETNS: {}; it is ignored", Chain(&e)));
    Some(Request {
        env,
        stdin: req.stdin,
        conf: req.conf.clone(),
        version: req.version,
    })
}

/// ADD: the attachment's steps, undone if one fails. A record of an ADD
/// that did not finish (the plugin was killed) is undone first.
pub(crate) fn add<P: Attach>(plugin: &P, req: &Request<'_>) -> Result<CniResult, ErrorReply> {
    let inv = Invocation::<P::Conf>::new(req)?;
    let _attachment = inv.journal.lock(&inv.key)?;
    let added = add_locked(plugin, &inv).map_err(|e| {
        inv.log.error(format!("ADD failed: {}", Chain(&e)));
        e.reply(req.version)
    });
    inv.log.debug(Cost::so_far().message("ADD"));
    added
}

fn add_locked<P: Attach>(plugin: &P, inv: &Invocation<'_, P::Conf>) -> Result<CniResult, Error> {
    if let Some(earlier) = inv.journal.load(&inv.key)? {
        if earlier.result.is_some() {
            return Err(Error::AlreadyAttached {
                network: inv.key.network().to_owned(),
                container_id: inv.key.container_id().to_string(),
                ifname: inv.key.ifname().to_string(),
            });
        }
        // Killed halfway: what it did goes first, as a DEL would take it.
        inv.log
            .warning("an earlier ADD of this attachment did not finish; undoing what it did");
        undo(plugin, inv, earlier, true)?;
    }
    let netns = inv.req.env.netns.clone().expect("ADD has CNI_NETNS");
    let mut record = Record::new(&inv.key, P::NAME, Some(netns.clone()));
    // Written before the first step, so that a kill between taking a step
    // and writing it down leaves a record that says an ADD began.
    crash::point(|| "before the record is started".into());
    inv.journal.save(&inv.key, &record)?;
    match plugin.attach(inv, &netns, &mut record) {
        Ok(result) => {
            crash::point(|| "before the result is noted".into());
            record.result = Some(result.to_json());
            inv.journal.save(&inv.key, &record)?;
            crash::point(|| "result noted".into());
            inv.log.info("ADD done");
            Ok(result)
        }
        Err(failure) => {
            inv.log.error(format!(
                "ADD failed, undoing what it did: {}",
                Chain(&failure)
            ));
            match undo(plugin, inv, record, true) {
                Ok(()) => Err(failure),
                Err(undo) => Err(Error::Several {
                    errors: vec![failure, undo],
                }),
            }
        }
    }
}

/// DEL: the record replayed backwards; without one, IPAM released and
/// what the plugin can find from the configuration put back.
pub(crate) fn del<P: Attach>(plugin: &P, req: &Request<'_>) -> Result<(), ErrorReply> {
    let without = without_bogus_netns(req);
    let req = without.as_ref().unwrap_or(req);
    let inv = match Invocation::<P::Conf>::new(req) {
        Ok(inv) => inv,
        // A configuration that no longer parses must not keep DEL from
        // giving back what IPAM holds; without its dataDir the journal
        // cannot be found.
        Err(e @ Error::Cni(_)) => {
            Log::stderr().warning(format!(
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
    let deleted = del_locked(plugin, &inv).map_err(|e| {
        inv.log.error(format!("DEL failed: {}", Chain(&e)));
        e.reply(req.version)
    });
    inv.log.debug(Cost::so_far().message("DEL"));
    deleted
}

fn del_locked<P: Attach>(plugin: &P, inv: &Invocation<'_, P::Conf>) -> Result<(), Error> {
    match inv.journal.load(&inv.key) {
        Ok(Some(record)) => undo(plugin, inv, record, true),
        Ok(None) => {
            inv.log
                .info("no journal record: releasing IPAM and what can be found without one");
            let ipam = ipam::run(inv.req, Command::Del).map(drop);
            let own = plugin.del_unrecorded(inv);
            // What is left of the attachment is the lock this DEL took.
            inv.journal.remove(&inv.key)?;
            match (ipam, own) {
                (Ok(()), Ok(())) => Ok(()),
                (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
                (Err(a), Err(b)) => Err(Error::Several { errors: vec![a, b] }),
            }
        }
        Err(e) => {
            // Torn or unreadable: what can be found without it is cleaned,
            // and the record is kept for whoever looks into it; the VF it
            // claimed comes back to the pool once the pod is gone.
            inv.log.error(format!(
                "the journal record cannot be read ({}); releasing IPAM and what can be \
                 found without it",
                Chain(&e)
            ));
            let mut errors = vec![e];
            if let Err(e) = ipam::run(inv.req, Command::Del) {
                errors.push(e);
            }
            if let Err(e) = plugin.del_unrecorded(inv) {
                errors.push(e);
            }
            match errors.len() {
                1 => Err(errors.remove(0)),
                _ => Err(Error::Several { errors }),
            }
        }
    }
}

/// CHECK: the recorded attachment compared with the pod.
pub(crate) fn check<P: Attach>(plugin: &P, req: &Request<'_>) -> Result<(), ErrorReply> {
    let inv = Invocation::<P::Conf>::new(req)?;
    let _attachment = inv.journal.lock(&inv.key)?;
    check_locked(plugin, &inv).map_err(|e| {
        inv.log.error(format!("CHECK failed: {}", Chain(&e)));
        e.reply(req.version)
    })
}

fn check_locked<P: Attach>(plugin: &P, inv: &Invocation<'_, P::Conf>) -> Result<(), Error> {
    let record = inv.journal.load(&inv.key)?;
    if record.is_none() {
        // Nothing to check; nor to keep the lock this CHECK took for.
        inv.journal.remove(&inv.key)?;
    }
    let Some(record) = record.filter(|r| r.result.is_some()) else {
        return Err(Error::Check {
            differences: vec!["no ADD of this attachment is recorded".into()],
        });
    };
    let expected = match inv.req.conf.prev_result()? {
        Some(prev) => prev,
        None => {
            let json = serde_json::to_vec(record.result.as_ref().expect("filtered"))
                .expect("a JSON value serializes");
            CniResult::from_slice(&json)?
        }
    };
    let mut differences = Vec::new();
    plugin.check(inv, &record, &expected, &mut differences)?;
    if inv.conf.net().ipam.is_some() {
        ipam::run(inv.req, Command::Check)?;
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(Error::Check { differences })
    }
}

/// STATUS: ready unless the data directory is unusable or IPAM is not.
pub(crate) fn status<C: Config>(req: &Request<'_>) -> Result<(), ErrorReply> {
    let conf = C::parse(req.stdin).map_err(|e| e.reply(req.version))?;
    if let Err(e) = Journal::open(data_dir(conf.options())) {
        return Err(ErrorReply {
            code: codes::PLUGIN_NOT_AVAILABLE,
            ..e.reply(req.version)
        });
    }
    ipam::run(req, Command::Status)
        .map(drop)
        .map_err(|e| e.reply(req.version))
}

/// GC: every recorded attachment of the network not among the valid ones
/// undone as DEL would, and GC delegated to IPAM.
pub(crate) fn gc<P: Attach>(plugin: &P, req: &Request<'_>) -> Result<(), ErrorReply> {
    gc_all(plugin, req).map_err(|e| e.reply(req.version))
}

fn gc_all<P: Attach>(plugin: &P, req: &Request<'_>) -> Result<(), Error> {
    let conf = P::Conf::parse(req.stdin)?;
    let log = open_log(conf.options())?;
    let journal = Journal::open(data_dir(conf.options()))?;
    let valid = req.conf.valid_attachments.clone().unwrap_or_default();
    let mut errors = Vec::new();
    for (key, record) in journal.list(&conf.net().name)? {
        let keep = valid
            .iter()
            .any(|a| &a.container_id == key.container_id() && a.ifname == key.ifname());
        if keep {
            continue;
        }
        let log = open_log(conf.options())?.with_context(format!(
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
        if let Err(e) = undo(plugin, &inv, record, false) {
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

/// Undoes `record`'s steps, newest first: IPAM released, the device info
/// removed, a bond taken apart, and, when the VF is still this
/// attachment's, the VF brought back and put back as it was and its claim
/// released. What fails stays in the record, for the next DEL to retry;
/// with nothing left, the record goes. IPAM's addresses are released only
/// with `release_ipam` (GC leaves them to IPAM's own GC).
pub(crate) fn undo<P: Attach>(
    plugin: &P,
    inv: &Invocation<'_, P::Conf>,
    mut record: Record,
    release_ipam: bool,
) -> Result<(), Error> {
    let node = plugin.node();
    plugin.undo_unnoted(inv, &record)?;
    let claim = record.steps.iter().find_map(|step| match step {
        Step::Claim { claim } => Some(claim.clone()),
        _ => None,
    });
    // A record without a VF (a bond's) needs neither the host nor claims.
    let host = match &claim {
        Some(_) => Some(node.host()?),
        None => None,
    };
    let allocator = match &claim {
        Some(_) => Some(node.allocator()?),
        None => None,
    };
    // Held across the check and every change to the VF, so nobody claims
    // it in between.
    let lock = match (&claim, &allocator) {
        (Some(claim), Some(allocator)) => Some(
            allocator
                .lock(claim.vf)
                .map_err(Error::at("locking the VF"))?,
        ),
        _ => None,
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
        let name = step.name();
        let done = match (&step, &host, &lock) {
            (Step::DeviceInfo { path }, ..) => device_info::remove(path),
            (Step::Ipam { plugin }, ..) if release_ipam => {
                inv.log
                    .info(format!("releasing the addresses {plugin} gave"));
                ipam::run(inv.req, Command::Del).map(drop)
            }
            (Step::Ipam { .. }, ..) => Ok(()),
            (Step::Bond { record, pod }, ..) => take_bond_apart(inv, record, pod),
            (Step::Attach { undo }, Some(host), _) if ours => bring_back(inv, host, undo),
            (Step::VfState { state }, Some(host), _) if ours => put_back(inv, host, state),
            (Step::Claim { claim }, _, Some(lock)) if ours => lock
                .release(&claim.holder)
                .map(drop)
                .map_err(Error::at("releasing the VF's claim")),
            // Not this attachment's VF any more.
            (Step::Attach { .. } | Step::VfState { .. } | Step::Claim { .. }, ..) => Ok(()),
        };
        if let Err(e) = done {
            inv.log.error(format!("undoing failed: {}", Chain(&e)));
            errors.push(e);
            left.push(step);
        }
        crash::point(|| format!("undid {name}"));
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

/// Takes a bond apart in the pod it was built in: ports back as they were
/// (home, when they came from there), the bond deleted. A pod that is
/// gone has nothing left to take apart but ports on their way home.
fn take_bond_apart<C: Config>(
    inv: &Invocation<'_, C>,
    record: &netplumb_bond::BondRecord,
    pod: &NsRef,
) -> Result<(), Error> {
    let pod_ns = pod
        .reopen()
        .map_err(Error::at("opening the pod's network namespace"))?;
    let pod = match &pod_ns {
        Some(ns) => Some(Pod::open(ns).map_err(Error::at("opening the pod's network namespace"))?),
        None => {
            inv.log.info(
                "the pod's network namespace is gone: only ports from the host are looked for",
            );
            None
        }
    };
    let home_ns;
    let home = if record.ports.iter().any(|p| p.from_home) {
        home_ns = NetNs::current().map_err(Error::at("opening the host's network namespace"))?;
        Some(Home::open(&home_ns).map_err(Error::at("opening the host's network namespace"))?)
    } else {
        None
    };
    let released = netplumb_bond::release(pod.as_ref(), home.as_ref(), record)
        .map_err(Error::at("taking the bond apart"))?;
    if !released.missing.is_empty() {
        let names: Vec<String> = released.missing.iter().map(IfName::to_string).collect();
        inv.log.warning(format!(
            "bond {}: ports not found, left as they are: {}",
            record.bond,
            names.join(", ")
        ));
    }
    inv.log.info(format!("bond {} taken apart", record.bond));
    Ok(())
}

/// Brings the VF's netdev back from the pod. A VF that is gone, or that
/// another driver holds now (one without a netdev), has nothing to bring
/// back: the recorded state puts back what is left.
fn bring_back<C: Config>(
    inv: &Invocation<'_, C>,
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

/// Puts the VF back as recorded: PF-side settings and netdev. A VF that is
/// gone is skipped; one another driver holds now gets its PF side back.
fn put_back<C: Config>(inv: &Invocation<'_, C>, host: &Host, state: &VfState) -> Result<(), Error> {
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

/// Whether the VF at `vf`'s address no longer exists.
fn vf_is_gone(host: &Host, vf: &VfId) -> bool {
    matches!(
        host.sysfs().vf(vf.addr),
        Err(e) if e.kind() == ErrorKind::NotFound
    )
}

/// Whether the VF no longer exists, or no longer has a netdev for the host
/// (bound to a userspace driver, or to none).
fn vf_is_gone_or_rebound(host: &Host, vf: &VfId) -> bool {
    match host.sysfs().vf(vf.addr) {
        Ok(now) => matches!(
            now.netdev,
            VfNetdev::Userspace | VfNetdev::Unbound | VfNetdev::NoNetdev
        ),
        Err(e) => e.kind() == ErrorKind::NotFound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("netplumb-attachment-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn key() -> Key {
        Key::new("n", &"c1".parse().unwrap(), "net1".parse().unwrap()).unwrap()
    }

    #[test]
    fn a_namespace_that_is_none_is_refused_as_the_variable_before_the_journal_exists() {
        let dir = scratch("netns");
        let data = dir.join("data");
        let file = dir.join("file");
        std::fs::write(&file, "x").unwrap();
        for (netns, needle) in [
            (file.clone(), "is not a namespace file"),
            (dir.clone(), "is not a namespace file"),
            (file.join("x"), "Not a directory"),
            (PathBuf::from("/proc/self/ns/uts"), "is a uts namespace"),
        ] {
            let err = check_pod_namespace(&netns, &data, &key()).unwrap_err();
            assert_eq!(err.code(), codes::INVALID_ENV, "{netns:?}: {err}");
            let msg = Chain(&err).to_string();
            assert!(msg.starts_with("CNI_NETNS: "), "{netns:?}: {msg}");
            assert!(msg.contains(needle), "{netns:?}: {msg}");
        }
        let gone = dir.join("gone");
        let err = check_pod_namespace(&gone, &data, &key()).unwrap_err();
        assert_eq!(err.code(), codes::UNKNOWN_CONTAINER, "{err}");
        assert!(!data.exists(), "nothing is created");
        check_pod_namespace(Path::new("/proc/self/ns/net"), &data, &key()).unwrap();
        assert!(!data.exists(), "nothing is created");

        // An ADD killed halfway is undone by the flow, which then finds
        // the namespace gone.
        let journal = Journal::open(&data).unwrap();
        journal
            .save(&key(), &Record::new(&key(), "sriov", None))
            .unwrap();
        check_pod_namespace(&gone, &data, &key()).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn del_goes_on_without_a_namespace_that_is_none() {
        let dir = scratch("del");
        let file = dir.join("file");
        std::fs::write(&file, "x").unwrap();
        let stdin = br#"{"cniVersion": "1.1.0", "name": "n", "type": "bond"}"#;
        let request = |netns: &Path| Request {
            env: Env::from_vars([
                ("CNI_COMMAND", "DEL"),
                ("CNI_CONTAINERID", "c1"),
                ("CNI_IFNAME", "net1"),
                ("CNI_NETNS", netns.to_str().unwrap()),
            ])
            .unwrap(),
            stdin,
            conf: NetConf::from_slice(stdin).unwrap(),
            version: netplumb_cniconf::CniVersion::V1_1_0,
        };
        let req = request(&file);
        let without = without_bogus_netns(&req).expect("dropped");
        assert_eq!(without.env.netns, None);
        assert!(
            without.env.warnings[0].starts_with("CNI_NETNS: ")
                && without.env.warnings[0].ends_with("; it is ignored"),
            "{:?}",
            without.env.warnings
        );
        // One that is gone is for the plugin to tell apart; one that is a
        // network namespace is used.
        assert!(without_bogus_netns(&request(&dir.join("gone"))).is_none());
        assert!(without_bogus_netns(&request(Path::new("/proc/self/ns/net"))).is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
