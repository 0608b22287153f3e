//! Allocation: which pod holds which VF, kept under a data directory so
//! that concurrent ADDs (separate processes) never get the same VF.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

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
}

impl Allocator {
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
        })
    }

    /// Claims the VF at `vf` for `holder`.
    ///
    /// Refused when another live holder has it ([`Error::VfHeld`]) or when
    /// its netdev is in another namespace without a record saying why
    /// ([`Error::NoNetdev`]). Claiming a VF the same holder has already is
    /// not an error (a repeated ADD). A VF whose holder is gone is taken
    /// over, and the claim names the previous holder.
    pub fn claim(&self, vf: PciAddr, holder: &Holder) -> Result<Claim, Error> {
        let found = self.sysfs.vf(vf)?;
        let lock = self.lock(vf)?;
        let previous = self.read_record(vf)?;
        if let Some(previous) = &previous {
            if previous == holder {
                return Ok(claim(found, holder, None));
            }
            if previous.is_alive() {
                return Err(Error::VfHeld {
                    vf,
                    owner: previous.owner.clone(),
                    ns: previous.ns.path.clone(),
                });
            }
        }
        if matches!(found.netdev, VfNetdev::Moved) {
            return Err(Error::NoNetdev {
                vf: found.id(),
                what: "claim it",
                reason: "its netdev is in another network namespace".into(),
            });
        }
        self.write_record(vf, holder)?;
        drop(lock);
        Ok(claim(found, holder, previous))
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
            let previous = self.read_record(vf.addr)?;
            if previous.as_ref().is_some_and(Holder::is_alive) {
                held += 1;
                continue;
            }
            self.write_record(vf.addr, holder)?;
            drop(lock);
            return Ok(claim(vf, holder, previous));
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
        let _lock = self.lock(vf)?;
        if self.read_record(vf)?.as_ref() != Some(holder) {
            return Ok(false);
        }
        let path = self.record_path(vf);
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(state_error("remove", &path, source)),
        }
    }

    /// Who holds `vf` according to its record, alive or not.
    pub fn holder(&self, vf: PciAddr) -> Result<Option<Holder>, Error> {
        let _lock = self.lock(vf)?;
        self.read_record(vf)
    }

    fn record_path(&self, vf: PciAddr) -> PathBuf {
        self.dir.join(format!("{vf}.json"))
    }

    /// Takes the VF's lock, creating the directory and lock file as
    /// needed. Lock files are never removed: removing one while another
    /// process waits on it would let two processes lock different files.
    fn lock(&self, vf: PciAddr) -> Result<Flock<File>, Error> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|source| state_error("create", &self.dir, source))?;
        let path = self.dir.join(format!("{vf}.lock"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|source| state_error("open", &path, source))?;
        Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, errno)| state_error("lock", &path, errno.into()))
    }

    fn read_record(&self, vf: PciAddr) -> Result<Option<Holder>, Error> {
        let path = self.record_path(vf);
        let text = match fs::read_to_string(&path) {
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
