//! Allocation: which pod holds which VF, kept under a data directory so
//! that concurrent ADDs (separate processes) never get the same VF.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::{Error, IfName, NsRef, PciAddr, Sysfs, Vf, VfNetdev};

/// The directory under the data directory that holds the per-VF files.
const VF_DIR: &str = "vfs";

/// Who holds a VF: the pod's network namespace, and a free-form owner text
/// for messages (a container ID and interface name, say).
///
/// A holder is alive while its namespace path exists and still leads to
/// the same namespace; a VF whose holder is gone is handed out again.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Holder {
    /// The pod's namespace. Its path must stay put for the pod's lifetime
    /// (`/run/netns/NAME` or `/proc/PID/ns/net` of the pod's process, not a
    /// thread-relative path).
    pub ns: NsRef,
    /// Who it is, for messages.
    pub owner: String,
}

impl Holder {
    /// A holder in the namespace `ns`.
    pub fn new(ns: NsRef, owner: impl Into<String>) -> Holder {
        Holder {
            ns,
            owner: owner.into(),
        }
    }

    /// Whether its namespace path still exists and leads to the same
    /// namespace. When the path cannot be checked for another reason
    /// (permissions), the holder counts as alive: handing a VF out twice is
    /// worse than leaving it idle.
    pub fn is_alive(&self) -> bool {
        match fs::metadata(&self.ns.path) {
            Ok(meta) => meta.dev() == self.ns.dev && meta.ino() == self.ns.ino,
            Err(e) => !matches!(
                e.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ),
        }
    }
}

/// A VF handed out by an [`Allocator`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claim {
    /// The VF, as discovery saw it when it was claimed.
    pub vf: Vf,
    /// Who holds it now.
    pub holder: Holder,
    /// The previous holder, when the VF was taken back from one whose
    /// namespace is gone (its pod ended without releasing it).
    pub reclaimed_from: Option<Holder>,
}

impl Claim {
    /// What releases the VF again.
    pub fn undo(&self) -> ClaimUndo {
        ClaimUndo {
            vf: self.vf.addr,
            holder: self.holder.clone(),
        }
    }
}

/// What undoes a claim: releasing the VF, if this holder still has it.
/// Serializes, so it can be journalled.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ClaimUndo {
    /// The VF.
    pub vf: PciAddr,
    /// Its holder.
    pub holder: Holder,
}

impl ClaimUndo {
    /// Releases the VF; harmless when it was released already.
    pub fn undo(&self, allocator: &Allocator) -> Result<(), Error> {
        allocator.release(self.vf, &self.holder).map(drop)
    }
}

/// Hands out VFs, one holder per VF.
///
/// Each VF has a lock file and a record (JSON, written atomically, mode
/// 0600) under `DATA_DIR/vfs/`, named by its PCI address. Reading and
/// changing a record happens under an exclusive `flock` on the lock file,
/// so two processes never both see a VF free and take it.
///
/// ```no_run
/// use netplumb_netns::NetNs;
/// use netplumb_vf::{Allocator, Holder, NsRef, Sysfs};
/// let pod = NetNs::open("/run/netns/pod")?;
/// let allocator = Allocator::new("/var/lib/cni/netplumb", Sysfs::default())?;
/// let claim = allocator.claim_free(&"enp1s0f0".parse()?, &Holder::new(NsRef::of(&pod), "c1/net1"))?;
/// println!("got {}", claim.vf.addr);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Allocator {
    dir: PathBuf,
    sysfs: Sysfs,
    lock_wait: Duration,
}

impl Allocator {
    /// Where allocation records go when every network on the host must see
    /// the same claims, whatever data directory its configuration names:
    /// a VF is one device, so one record and one lock per VF for the whole
    /// host. On tmpfs, so claims of pods from before a reboot are gone.
    pub const HOST_DIR: &'static str = "/run/netplumb";

    /// How long [`Allocator::lock`] waits for a VF's lock by default.
    pub const LOCK_WAIT: Duration = Duration::from_secs(30);

    /// An allocator keeping its records under `data_dir`, which must be an
    /// absolute path without `.` or `..` components. The directory is
    /// created (mode 0700) when first needed.
    pub fn new(data_dir: impl Into<PathBuf>, sysfs: Sysfs) -> Result<Allocator, Error> {
        let data_dir = data_dir.into();
        let bad = |reason| Error::InvalidDataDir {
            path: data_dir.clone(),
            reason,
        };
        if !data_dir.is_absolute() {
            return Err(bad("it is not an absolute path"));
        }
        let text = data_dir.as_os_str().as_encoded_bytes();
        // `Path::components` quietly drops `.`; the text shows it.
        let dot = text.split(|b| *b == b'/').any(|part| part == b".");
        if dot
            || data_dir
                .components()
                .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
        {
            return Err(bad("it has a \".\" or \"..\" component"));
        }
        Ok(Allocator {
            dir: data_dir.join(VF_DIR),
            sysfs,
            lock_wait: Allocator::LOCK_WAIT,
        })
    }

    /// With locks waited for at most `wait` ([`Allocator::LOCK_WAIT`] by
    /// default) before [`Error::LockTimeout`].
    pub fn lock_wait(mut self, wait: Duration) -> Allocator {
        self.lock_wait = wait;
        self
    }

    /// Claims the VF at `vf` for `holder`.
    ///
    /// Refused when another live holder has it ([`Error::VfHeld`]) or when
    /// its netdev is in another namespace without a record saying why
    /// ([`Error::NoNetdev`]). Claiming a VF the same holder has already is
    /// not an error (a repeated ADD). A VF whose holder is gone is taken
    /// over, and the claim names the previous holder.
    pub fn claim(&self, vf: PciAddr, holder: &Holder) -> Result<Claim, Error> {
        // Read under the lock: a holder's DEL may be bringing the netdev
        // back meanwhile, and it finishes before the lock is free.
        let lock = self.lock(vf)?;
        let found = self.sysfs.vf(vf)?;
        lock.claim(found, holder)
    }

    /// Claims a free VF of the PF whose netdev is `pf` (the `master` of
    /// older sriov configs), lowest index first.
    ///
    /// A VF is free when it has a netdev in the host namespace and no live
    /// holder; VFs whose netdev has left the host namespace (moved by
    /// something else, or not back yet from a deleted pod) are skipped, as
    /// are VFs without a netdev. When none is free: [`Error::NoFreeVf`],
    /// which counts what was skipped and why.
    pub fn claim_free(&self, pf: &IfName, holder: &Holder) -> Result<Claim, Error> {
        let nic = self.sysfs.pf(pf)?;
        let (mut held, mut elsewhere, mut no_netdev) = (0, 0, 0);
        for vf in nic.vfs {
            match vf.netdev {
                VfNetdev::Host(_) => {}
                VfNetdev::Moved => {
                    elsewhere += 1;
                    continue;
                }
                VfNetdev::NoNetdev | VfNetdev::Userspace | VfNetdev::Unbound => {
                    no_netdev += 1;
                    continue;
                }
            }
            let lock = self.lock(vf.addr)?;
            if lock.holder()?.as_ref().is_some_and(Holder::is_alive) {
                held += 1;
                continue;
            }
            // Read again under the lock: what the PF's listing saw may have
            // changed before the lock was free.
            let vf = self.sysfs.vf(vf.addr)?;
            match vf.netdev {
                VfNetdev::Host(_) => {}
                VfNetdev::Moved => {
                    elsewhere += 1;
                    continue;
                }
                VfNetdev::NoNetdev | VfNetdev::Userspace | VfNetdev::Unbound => {
                    no_netdev += 1;
                    continue;
                }
            }
            return lock.claim(vf, holder);
        }
        Err(Error::NoFreeVf {
            pf: *pf,
            total: nic.num_vfs,
            held,
            elsewhere,
            no_netdev,
        })
    }

    /// Releases `vf` if `holder` has it; returns whether it did. A VF held
    /// by someone else is left alone.
    pub fn release(&self, vf: PciAddr, holder: &Holder) -> Result<bool, Error> {
        self.lock(vf)?.release(holder)
    }

    /// Who holds `vf` according to its record, alive or not.
    pub fn holder(&self, vf: PciAddr) -> Result<Option<Holder>, Error> {
        self.lock(vf)?.holder()
    }

    /// The VFs whose records name `owner` as their holder's owner, alive
    /// or not: how a caller that lost track of a claim (killed between
    /// claiming and writing the claim down) finds it again. Read without
    /// the locks: check again under [`Allocator::lock`] before acting.
    pub fn held_by_owner(&self, owner: &str) -> Result<Vec<PciAddr>, Error> {
        Ok(self
            .holders()?
            .into_iter()
            .filter(|(_, holder)| holder.owner == owner)
            .map(|(vf, _)| vf)
            .collect())
    }

    /// Every VF with a record and its holder, alive or not
    /// ([`Holder::is_alive`]), in PCI address order: what a tool shows.
    /// Read without the locks and without creating anything (a missing
    /// directory is no claims): check again under [`Allocator::lock`]
    /// before acting on one. A record that cannot be read is left out.
    pub fn holders(&self) -> Result<Vec<(PciAddr, Holder)>, Error> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(state_error("read", &self.dir, source)),
        };
        let mut held = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| state_error("read", &self.dir, source))?;
            let name = entry.file_name();
            let Some(vf) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| n.parse::<PciAddr>().ok())
            else {
                continue;
            };
            if let Ok(Some(holder)) = self.read_record(vf) {
                held.push((vf, holder));
            }
        }
        held.sort_by_key(|(vf, _)| *vf);
        Ok(held)
    }

    /// Takes the VF's lock, waiting for it at most [`Allocator::lock_wait`],
    /// creating the directory and lock file as needed.
    ///
    /// While the lock is held no other process claims, releases or (if it
    /// takes the lock as it should) changes the VF: a caller that must
    /// check who holds a VF before changing it (a DEL putting a VF back)
    /// holds it across both. Lock files are never removed: removing one
    /// while another process waits on it would let two processes lock
    /// different files.
    pub fn lock(&self, vf: PciAddr) -> Result<VfLock<'_>, Error> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| state_error("create", &self.dir, source))?;
        let path = self.dir.join(format!("{vf}.lock"));
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc_o_nofollow())
            .open(&path)
            .map_err(|source| state_error("open", &path, source))?;
        let deadline = Instant::now() + self.lock_wait;
        let mut pause = Duration::from_millis(1);
        let file = loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(locked) => break locked,
                Err((back, Errno::EWOULDBLOCK)) if Instant::now() < deadline => {
                    file = back;
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err((_, Errno::EWOULDBLOCK)) => {
                    return Err(Error::LockTimeout {
                        vf,
                        path,
                        waited: self.lock_wait,
                    })
                }
                Err((_, errno)) => return Err(state_error("lock", &path, errno.into())),
            }
        };
        Ok(VfLock {
            allocator: self,
            vf,
            _file: file,
        })
    }

    fn record_path(&self, vf: PciAddr) -> PathBuf {
        self.dir.join(format!("{vf}.json"))
    }

    fn read_record(&self, vf: PciAddr) -> Result<Option<Holder>, Error> {
        let path = self.record_path(vf);
        let text = match read_no_follow(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(state_error("read", &path, source)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| Error::BadRecord {
                path,
                detail: e.to_string(),
            })
    }

    /// Writes the record atomically: a temporary file, synced, renamed
    /// over the record, and the directory synced.
    fn write_record(&self, vf: PciAddr, holder: &Holder) -> Result<(), Error> {
        let path = self.record_path(vf);
        // The VF's lock is held, so no one else writes this temporary file.
        let temp = self.dir.join(format!("{vf}.json.tmp"));
        let json = serde_json::to_vec(holder).map_err(|e| Error::BadRecord {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .custom_flags(libc_o_nofollow())
            .open(&temp)
            .and_then(|mut file| {
                file.write_all(&json)?;
                file.sync_all()
            });
        written.map_err(|source| state_error("write", &temp, source))?;
        fs::rename(&temp, &path).map_err(|source| state_error("rename", &temp, source))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| state_error("sync", &self.dir, source))
    }
}

/// A VF's allocation lock, held until dropped ([`Allocator::lock`]).
#[derive(Debug)]
#[must_use = "the lock is released when dropped"]
pub struct VfLock<'a> {
    allocator: &'a Allocator,
    vf: PciAddr,
    _file: Flock<File>,
}

impl VfLock<'_> {
    /// The VF this lock is for.
    pub fn vf(&self) -> PciAddr {
        self.vf
    }

    /// Who holds the VF according to its record, alive or not.
    pub fn holder(&self) -> Result<Option<Holder>, Error> {
        self.allocator.read_record(self.vf)
    }

    /// Whether `holder` is who holds the VF now: the check to make, under
    /// this lock, before changing a VF on someone's behalf.
    pub fn is_held_by(&self, holder: &Holder) -> Result<bool, Error> {
        Ok(self.holder()?.as_ref() == Some(holder))
    }

    /// Claims `vf` (the VF this lock is for, as discovery saw it) for
    /// `holder`, as [`Allocator::claim`] does.
    pub fn claim(&self, vf: Vf, holder: &Holder) -> Result<Claim, Error> {
        let previous = self.holder()?;
        if let Some(previous) = &previous {
            if previous == holder {
                return Ok(claim(vf, holder, None));
            }
            if previous.is_alive() {
                return Err(Error::VfHeld {
                    vf: self.vf,
                    owner: previous.owner.clone(),
                    ns: previous.ns.path.clone(),
                });
            }
        }
        if matches!(vf.netdev, VfNetdev::Moved) {
            return Err(Error::NoNetdev {
                vf: vf.id(),
                what: "claim it",
                reason: "its netdev is in another network namespace".into(),
            });
        }
        self.allocator.write_record(self.vf, holder)?;
        Ok(claim(vf, holder, previous))
    }

    /// Releases the VF if `holder` has it; returns whether it did.
    pub fn release(&self, holder: &Holder) -> Result<bool, Error> {
        if !self.is_held_by(holder)? {
            return Ok(false);
        }
        let path = self.allocator.record_path(self.vf);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(state_error("remove", &path, source)),
        }
    }
}

/// `O_NOFOLLOW`: a record or lock file that is a symbolic link is not
/// followed (anyone able to plant one could make root write elsewhere).
fn libc_o_nofollow() -> i32 {
    nix::fcntl::OFlag::O_NOFOLLOW.bits()
}

/// Reads a file without following a symbolic link in its last component.
fn read_no_follow(path: &Path) -> io::Result<String> {
    let mut text = String::new();
    OpenOptions::new()
        .read(true)
        .custom_flags(libc_o_nofollow())
        .open(path)?
        .read_to_string(&mut text)?;
    Ok(text)
}

fn claim(vf: Vf, holder: &Holder, reclaimed_from: Option<Holder>) -> Claim {
    Claim {
        vf,
        holder: holder.clone(),
        reclaimed_from,
    }
}

fn state_error(action: &'static str, path: &Path, source: io::Error) -> Error {
    Error::State {
        action,
        path: path.to_path_buf(),
        source,
    }
}
