//! The attachment journal: what each attachment changed, written down
//! before each change, so that a failed ADD, a DEL, a CHECK, a GC and a DEL
//! after a crash all work from the same record.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use netplumb_bond::BondRecord;
use netplumb_cniconf::ContainerId;
use netplumb_types::IfName;
use netplumb_vf::{AttachUndo, ClaimUndo, NsRef, VfState};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg, OFlag};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Where journals go when the configuration names no `dataDir`.
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cni/netplumb";

/// The record format this build writes, and the newest it reads.
pub const FORMAT: u32 = 1;

/// How long an invocation waits for another working on the same
/// attachment.
const ATTACHMENT_LOCK_WAIT: Duration = Duration::from_secs(30);

/// One attachment: a network, a container, an interface in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    network: String,
    container_id: ContainerId,
    ifname: IfName,
}

impl Key {
    /// The attachment of `container_id`'s `ifname` to `network`. The
    /// network name goes into a directory name, so it is checked here by
    /// the rule the configuration reader applies
    /// ([`check_network_name`](netplumb_cniconf::check_network_name)). A
    /// [`ContainerId`] is short enough to share a file name with an
    /// interface name by its type.
    pub fn new(network: &str, container_id: &ContainerId, ifname: IfName) -> Result<Key, Error> {
        netplumb_cniconf::check_network_name(network).map_err(|source| Error::InvalidKey {
            what: "network name",
            source,
        })?;
        Ok(Key {
            network: network.to_owned(),
            container_id: container_id.clone(),
            ifname,
        })
    }

    /// The network's name.
    pub fn network(&self) -> &str {
        &self.network
    }

    /// The container's ID.
    pub fn container_id(&self) -> &ContainerId {
        &self.container_id
    }

    /// The interface's name in the container.
    pub fn ifname(&self) -> IfName {
        self.ifname
    }

    /// The record's file name: the ID and the interface name, joined by
    /// `:`, which neither can hold, so no two keys share a file.
    fn file_name(&self, suffix: &str) -> Vec<u8> {
        [
            self.container_id.as_str().as_bytes(),
            b":",
            self.ifname.as_bytes(),
            suffix.as_bytes(),
        ]
        .concat()
    }
}

/// One step an ADD took, with what undoes it, in the order taken. A DEL
/// undoes them in reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Step {
    /// A VF was claimed for this attachment.
    Claim {
        /// What releases it.
        claim: ClaimUndo,
    },
    /// The VF as it was before anything changed.
    VfState {
        /// Its state.
        state: Box<VfState>,
    },
    /// The VF's netdev was moved into the pod.
    Attach {
        /// What brings it back.
        undo: Box<AttachUndo>,
    },
    /// A bond was built in the pod.
    Bond {
        /// What takes it apart.
        record: Box<BondRecord>,
        /// The pod's namespace.
        pod: NsRef,
    },
    /// The IPAM plugin was asked for addresses.
    Ipam {
        /// The plugin (`ipam.type`).
        plugin: String,
    },
    /// A device-info file was written.
    DeviceInfo {
        /// The file.
        path: PathBuf,
    },
}

impl Step {
    /// What kind of step it is, for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Claim { .. } => "the VF's claim",
            Step::VfState { .. } => "the VF's state",
            Step::Attach { .. } => "the move into the pod",
            Step::Bond { .. } => "the bond",
            Step::Ipam { .. } => "IPAM",
            Step::DeviceInfo { .. } => "the device info file",
        }
    }
}

/// What one attachment did, as the journal keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// The format it was written in ([`FORMAT`]).
    pub format: u32,
    /// The plugin that wrote it (`sriov`, `bond`).
    pub plugin: String,
    /// The network.
    pub network: String,
    /// The container.
    pub container_id: String,
    /// The interface in the container.
    pub ifname: IfName,
    /// The container's network namespace, as the runtime named it.
    pub netns: Option<PathBuf>,
    /// The steps taken, in order.
    pub steps: Vec<Step>,
    /// The result ADD printed (in the newest CNI version), once ADD
    /// finished: what CHECK compares the pod with.
    pub result: Option<serde_json::Value>,
}

impl Record {
    /// A record of nothing done yet, for `key`, by `plugin`.
    pub fn new(key: &Key, plugin: &str, netns: Option<PathBuf>) -> Record {
        Record {
            format: FORMAT,
            plugin: plugin.to_owned(),
            network: key.network.clone(),
            container_id: key.container_id.to_string(),
            ifname: key.ifname,
            netns,
            steps: Vec::new(),
            result: None,
        }
    }
}

impl Record {
    /// The VF this attachment claimed, if it claimed one.
    pub fn claimed_vf(&self) -> Option<&ClaimUndo> {
        self.steps.iter().find_map(|step| match step {
            Step::Claim { claim } => Some(claim),
            _ => None,
        })
    }

    /// Whether the pod's network namespace is gone: the one the VF's claim
    /// or the bond names by device and inode no longer exists or its path
    /// leads to another namespace; or, for a record naming neither, the
    /// path the runtime gave no longer exists. `false`
    /// when the record names none (nothing says it is gone) or when it
    /// cannot be checked for another reason (permissions).
    pub fn pod_is_gone(&self) -> bool {
        let pod = self.steps.iter().find_map(|step| match step {
            Step::Claim { claim } => Some(&claim.holder.ns),
            Step::Bond { pod, .. } => Some(pod),
            _ => None,
        });
        match (pod, &self.netns) {
            (Some(ns), _) => !netplumb_vf::Holder::new(ns.clone(), "").is_alive(),
            (None, Some(path)) => matches!(
                fs::metadata(path),
                Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
            ),
            (None, None) => false,
        }
    }
}

/// The journal under a data directory: one record per attachment in
/// `DATA_DIR/attachments/NETWORK/CONTAINERID:IFNAME.json`, written
/// atomically (a temporary file, synced, renamed, the directory synced),
/// files 0600 and directories 0700.
///
/// The data directory must be an absolute path without `.` or `..`, owned
/// by the user running the plugin and writable by nobody else: records
/// hold what root will undo. Symbolic links are not followed where
/// records are read and written.
#[derive(Debug, Clone)]
pub struct Journal {
    dir: PathBuf,
}

impl Journal {
    /// The journal under `data_dir`, checked and created as needed.
    pub fn open(data_dir: &Path) -> Result<Journal, Error> {
        let dir = attachments_dir(data_dir)?;
        make_private_dir(data_dir)?;
        make_private_dir(&dir)?;
        Ok(Journal { dir })
    }

    /// The journal under `data_dir` when it exists, for reading: `None`
    /// when nothing was ever recorded there. Creates nothing; the path is
    /// checked as [`Journal::open`] checks it.
    pub fn open_existing(data_dir: &Path) -> Result<Option<Journal>, Error> {
        let dir = attachments_dir(data_dir)?;
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => Ok(Some(Journal { dir })),
            Ok(_) => Err(Error::DataDir {
                path: data_dir.to_path_buf(),
                reason: "its \"attachments\" is not a directory",
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::journal_io("inspect", &dir, source)),
        }
    }

    /// The networks that have a directory of records, in name order.
    pub fn networks(&self) -> Result<Vec<String>, Error> {
        let entries = fs::read_dir(&self.dir)
            .map_err(|source| Error::journal_io("list", &self.dir, source))?;
        let mut networks = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::journal_io("list", &self.dir, source))?;
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if let (true, Ok(name)) = (is_dir, entry.file_name().into_string()) {
                if netplumb_cniconf::check_network_name(&name).is_ok() {
                    networks.push(name);
                }
            }
        }
        networks.sort();
        Ok(networks)
    }

    /// Whether `key` has a record under `data_dir`, looked at without
    /// creating or checking anything: a hint for deciding whether the
    /// journal needs opening at all.
    pub(crate) fn is_recorded(data_dir: &Path, key: &Key) -> bool {
        let journal = Journal {
            dir: data_dir.join("attachments"),
        };
        fs::symlink_metadata(journal.path(key, ".json")).is_ok()
    }

    /// The directory of `network`'s records.
    fn network_dir(&self, network: &str) -> PathBuf {
        self.dir.join(network)
    }

    fn path(&self, key: &Key, suffix: &str) -> PathBuf {
        self.network_dir(&key.network)
            .join(std::ffi::OsStr::from_bytes(&key.file_name(suffix)))
    }

    /// Takes the attachment's lock, waiting for another invocation on the
    /// same attachment to finish: a runtime may send DEL while an ADD
    /// still runs.
    ///
    /// The lock file goes with the record ([`Journal::remove`]), so that
    /// attachments leave nothing behind; a waiter that then holds a lock on
    /// the removed file sees that the path leads elsewhere, and starts
    /// over.
    pub fn lock(&self, key: &Key) -> Result<AttachmentLock, Error> {
        make_private_dir(&self.network_dir(&key.network))?;
        let path = self.path(key, ".lock");
        let deadline = Instant::now() + ATTACHMENT_LOCK_WAIT;
        loop {
            let mut file = open_private(
                &path,
                OpenOptions::new().write(true).create(true).truncate(false),
            )
            .map_err(|source| Error::journal_io("open", &path, source))?;
            let locked = loop {
                match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                    Ok(lock) => break lock,
                    Err((back, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                        file = back;
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    Err((_, Errno::EWOULDBLOCK)) => {
                        return Err(Error::AttachmentBusy {
                            path,
                            waited: ATTACHMENT_LOCK_WAIT,
                        })
                    }
                    Err((_, errno)) => return Err(Error::journal_io("lock", &path, errno.into())),
                }
            };
            let held = locked
                .metadata()
                .map_err(|source| Error::journal_io("inspect", &path, source))?;
            match fs::symlink_metadata(&path) {
                Ok(now) if now.ino() == held.ino() && now.dev() == held.dev() => {
                    return Ok(AttachmentLock { _file: locked })
                }
                // Removed (or replaced) while this waited: start over.
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::journal_io("inspect", &path, source)),
            }
        }
    }

    /// The attachment's record, if there is one. A record this build
    /// cannot read (another format, or not a record) is an error naming the
    /// file.
    pub fn load(&self, key: &Key) -> Result<Option<Record>, Error> {
        let path = self.path(key, ".json");
        let text = match read_private(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::journal_io("read", &path, source)),
        };
        parse_record(&path, &text).map(Some)
    }

    /// Writes the attachment's record, atomically and durably.
    pub fn save(&self, key: &Key, record: &Record) -> Result<(), Error> {
        let dir = self.network_dir(&key.network);
        make_private_dir(&dir)?;
        let path = self.path(key, ".json");
        let temp = self.path(key, ".json.tmp");
        let json = serde_json::to_vec_pretty(record).map_err(|e| Error::BadRecord {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        open_private(
            &temp,
            OpenOptions::new().write(true).create(true).truncate(true),
        )
        .and_then(|mut file| {
            file.write_all(&json)?;
            file.sync_all()
        })
        .map_err(|source| Error::journal_io("write", &temp, source))?;
        fs::rename(&temp, &path).map_err(|source| Error::journal_io("rename", &temp, source))?;
        sync_dir(&dir)
    }

    /// Removes the attachment's record and its lock file, which the caller
    /// holds ([`Journal::lock`]); a record already gone is not an error.
    pub fn remove(&self, key: &Key) -> Result<(), Error> {
        for suffix in [".json", ".lock"] {
            let path = self.path(key, suffix);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::journal_io("remove", &path, source)),
            }
        }
        sync_dir(&self.network_dir(&key.network))
    }

    /// Every attachment of `network` with a record, and its record (or why
    /// it cannot be read), in file-name order.
    pub fn list(&self, network: &str) -> Result<Vec<Listed>, Error> {
        let dir = self.network_dir(network);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::journal_io("list", &dir, source)),
        };
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| Error::journal_io("list", &dir, source))?;
            let name = entry.file_name();
            let Some(stem) = name.as_bytes().strip_suffix(b".json") else {
                continue;
            };
            let Some(key) = key_of(network, stem) else {
                continue;
            };
            let path = entry.path();
            let record = read_private(&path)
                .map_err(|source| Error::journal_io("read", &path, source))
                .and_then(|text| parse_record(&path, &text));
            found.push((key, record));
        }
        found.sort_by_key(|(key, _)| key.file_name(""));
        Ok(found)
    }
}

/// `DATA_DIR/attachments`, once `data_dir` is checked: absolute, without
/// `.` or `..`.
fn attachments_dir(data_dir: &Path) -> Result<PathBuf, Error> {
    let bad = |reason: &'static str| Error::DataDir {
        path: data_dir.to_path_buf(),
        reason,
    };
    if !data_dir.is_absolute() {
        return Err(bad("it is not an absolute path"));
    }
    let dot = data_dir
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .any(|part| part == b"." || part == b"..");
    if dot
        || data_dir
            .components()
            .any(|c| matches!(c, Component::ParentDir))
    {
        return Err(bad("it has a \".\" or \"..\" component"));
    }
    Ok(data_dir.join("attachments"))
}

/// An attachment [`Journal::list`] found, and its record or why it cannot
/// be read.
pub type Listed = (Key, Result<Record, Error>);

/// An attachment's lock, held until dropped ([`Journal::lock`]).
#[derive(Debug)]
#[must_use = "the lock is released when dropped"]
pub struct AttachmentLock {
    _file: Flock<File>,
}

/// The key a record's file name stands for, when it is one.
fn key_of(network: &str, stem: &[u8]) -> Option<Key> {
    let at = stem.iter().position(|b| *b == b':')?;
    let id: ContainerId = std::str::from_utf8(&stem[..at]).ok()?.parse().ok()?;
    let ifname = IfName::new(&stem[at + 1..]).ok()?;
    Key::new(network, &id, ifname).ok()
}

fn parse_record(path: &Path, text: &str) -> Result<Record, Error> {
    let bad = |detail: String| Error::BadRecord {
        path: path.to_path_buf(),
        detail,
    };
    // The format first, so a newer one is named as such rather than as
    // whatever field it changed.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("it is not JSON: {e}")))?;
    match value.get("format").and_then(serde_json::Value::as_u64) {
        Some(format) if format <= u64::from(FORMAT) && format > 0 => {}
        Some(format) => {
            return Err(bad(format!(
                "it is in format {format}, and this plugin reads formats 1 to {FORMAT}"
            )))
        }
        None => return Err(bad("it has no format number".into())),
    }
    serde_json::from_value(value).map_err(|e| bad(e.to_string()))
}

/// Creates `dir` (0700) if missing, and checks that it is a directory (not
/// a link to one) owned by this user and writable by nobody else.
fn make_private_dir(dir: &Path) -> Result<(), Error> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| Error::journal_io("create", dir, source))?;
        }
        Err(source) => return Err(Error::journal_io("create", dir, source)),
    }
    let meta =
        fs::symlink_metadata(dir).map_err(|source| Error::journal_io("inspect", dir, source))?;
    let bad = |reason| Error::DataDir {
        path: dir.to_path_buf(),
        reason,
    };
    if !meta.is_dir() {
        return Err(bad("it is not a directory (or is a symbolic link to one)"));
    }
    if meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(bad("it is owned by another user"));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(bad("others than its owner may write to it"));
    }
    Ok(())
}

/// Opens `path` 0600 without following a symbolic link.
fn open_private(path: &Path, options: &mut OpenOptions) -> io::Result<File> {
    options
        .mode(0o600)
        .custom_flags(OFlag::O_NOFOLLOW.bits() | OFlag::O_CLOEXEC.bits())
        .open(path)
}

/// The largest record read: far more than any record holds, so a file
/// that is not one is refused without reading it whole.
const MAX_RECORD_LEN: u64 = 1 << 20;

fn read_private(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    open_private(path, OpenOptions::new().read(true))?
        .take(MAX_RECORD_LEN)
        .read_to_string(&mut text)?;
    Ok(text)
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::journal_io("sync", dir, source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("netplumb-journal-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn key(network: &str, id: &str, ifname: &str) -> Key {
        Key::new(network, &id.parse().unwrap(), ifname.parse().unwrap()).unwrap()
    }

    #[test]
    fn records_are_written_private_read_back_and_removed() {
        let dir = scratch("rw");
        let journal = Journal::open(&dir).unwrap();
        let k = key("sriov-net", "c1", "net1");
        assert_eq!(journal.load(&k).unwrap(), None);
        let mut record = Record::new(&k, "sriov", Some("/run/netns/pod".into()));
        record.steps.push(Step::Ipam {
            plugin: "host-local".into(),
        });
        journal.save(&k, &record).unwrap();
        assert_eq!(journal.load(&k).unwrap(), Some(record.clone()));
        let file = dir.join("attachments/sriov-net/c1:net1.json");
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("attachments/sriov-net")), 0o700);
        let listed = journal.list("sriov-net").unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].0, k);
        assert_eq!(listed[0].1.as_ref().unwrap(), &record);
        journal.remove(&k).unwrap();
        journal.remove(&k).unwrap();
        assert_eq!(journal.load(&k).unwrap(), None);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_longest_names_fit_in_a_file_name() {
        let dir = scratch("longest");
        let journal = Journal::open(&dir).unwrap();
        let network = "n".repeat(netplumb_cniconf::MAX_NETWORK_NAME);
        let id = "c".repeat(netplumb_cniconf::MAX_CONTAINER_ID);
        let k = key(&network, &id, "abcdefghijklmno");
        let record = Record::new(&k, "sriov", None);
        let _lock = journal.lock(&k).unwrap();
        journal.save(&k, &record).unwrap();
        assert_eq!(journal.load(&k).unwrap(), Some(record));
        journal.remove(&k).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keys_that_could_collide_or_escape_are_kept_apart_or_refused() {
        let dir = scratch("keys");
        let journal = Journal::open(&dir).unwrap();
        // "a_b" + "c" and "a" + "b_c" would share a file joined by '_'.
        let one = key("n", "a_b", "c");
        let two = key("n", "a", "b_c");
        journal
            .save(&one, &Record::new(&one, "sriov", None))
            .unwrap();
        assert_eq!(journal.load(&two).unwrap(), None);
        for bad in ["", "..", ".hidden", "a/b", &"x".repeat(256)] {
            assert!(
                Key::new(bad, &"c1".parse().unwrap(), "net1".parse().unwrap()).is_err(),
                "{bad:?}"
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_record_that_cannot_be_read_is_named_never_a_panic() {
        let dir = scratch("bad");
        let journal = Journal::open(&dir).unwrap();
        let k = key("n", "c1", "net1");
        journal.save(&k, &Record::new(&k, "sriov", None)).unwrap();
        let file = dir.join("attachments/n/c1:net1.json");
        for (text, needle) in [
            ("", "not JSON"),
            ("{\"format\": 1, \"plugin\": ", "not JSON"),
            ("{\"plugin\": \"sriov\"}", "no format"),
            ("{\"format\": 99}", "format 99"),
            ("{\"format\": 1, \"steps\": 3}", "invalid type"),
        ] {
            fs::write(&file, text).unwrap();
            let err = journal.load(&k).unwrap_err();
            assert!(matches!(err, Error::BadRecord { .. }), "{err:?}");
            let message = err.to_string();
            assert!(message.contains(needle), "{text:?}: {message}");
            assert!(message.contains("c1:net1.json"), "{message}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn is_recorded_creates_nothing() {
        let dir = scratch("probe");
        let k = key("n", "c1", "net1");
        assert!(!Journal::is_recorded(&dir, &k));
        assert!(!dir.exists(), "nothing is created");
        let journal = Journal::open(&dir).unwrap();
        journal.save(&k, &Record::new(&k, "sriov", None)).unwrap();
        assert!(Journal::is_recorded(&dir, &k));
        assert!(!Journal::is_recorded(&dir, &key("n", "c1", "net2")));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_data_directory_others_may_write_to_is_refused() {
        let dir = scratch("mode");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
        let err = Journal::open(&dir).unwrap_err();
        assert!(err.to_string().contains("others than its owner"), "{err}");
        fs::remove_dir_all(&dir).unwrap();
        for bad in ["relative/dir", "/var/lib/../tmp", "/var/./lib"] {
            assert!(matches!(
                Journal::open(Path::new(bad)),
                Err(Error::DataDir { .. })
            ));
        }
        let link = scratch("link");
        let target = scratch("target");
        fs::create_dir_all(&target).unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(Journal::open(&link).is_err(), "a link to a directory");
        fs::remove_file(&link).unwrap();
        fs::remove_dir_all(&target).unwrap();
    }

    #[test]
    fn a_second_invocation_waits_for_the_attachment() {
        let dir = scratch("lock");
        let journal = Journal::open(&dir).unwrap();
        let k = key("n", "c1", "net1");
        let held = journal.lock(&k).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let j2 = journal.clone();
        let k2 = k.clone();
        let waiter = std::thread::spawn(move || {
            let _lock = j2.lock(&k2).unwrap();
            tx.send(()).unwrap();
        });
        assert!(
            rx.recv_timeout(Duration::from_millis(200)).is_err(),
            "it waits"
        );
        drop(held);
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        waiter.join().unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }
}
