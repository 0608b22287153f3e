//! The sysfs handle: where the tree is, and every filesystem call made on it.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::{Device, Error};

/// Sysfs attributes are at most a page; reading a little more than that is
/// enough to see that a file is not one.
const MAX_ATTR_LEN: u64 = 8192;

/// A sysfs tree to discover SR-IOV devices in and to enable VFs through.
///
/// [`Sysfs::default()`] is the host's `/sys`; [`Sysfs::new`] takes any root,
/// which is how tests point it at a fake tree. Sysfs does not follow a
/// thread's network namespace (it shows the namespace of whoever mounted
/// it), so discovery always sees the host side: a netdev moved into a pod
/// leaves its device's `net/` directory empty here, which is how
/// [`VfNetdev::Moved`](crate::VfNetdev::Moved) is told apart.
///
/// Single lookups follow the specific links (`physfn`, `virtfnN`, a netdev's
/// `device`) and never list all devices, so their cost does not grow with
/// the number of PFs. An [`Observer`] sees every filesystem call, which lets
/// callers trace sysfs traffic and tests count it.
#[derive(Clone)]
pub struct Sysfs {
    root: PathBuf,
    observer: Option<Arc<dyn Observer>>,
}

impl Default for Sysfs {
    /// The host's sysfs at `/sys`.
    fn default() -> Self {
        Self::new("/sys")
    }
}

impl fmt::Debug for Sysfs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sysfs")
            .field("root", &self.root)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

/// Calls other than writes of every [`Sysfs`] in this process.
static PROCESS_READS: AtomicU64 = AtomicU64::new(0);

/// Sees each filesystem call a [`Sysfs`] makes, before it is made.
pub trait Observer: Send + Sync {
    /// Called once per filesystem call.
    fn observe(&self, access: &Access<'_>);
}

/// One filesystem call. Paths are relative to the sysfs root, as in
/// `bus/pci/devices/0000:01:00.0/sriov_numvfs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access<'a> {
    /// Reading a file.
    Read(&'a Path),
    /// Reading a symbolic link.
    ReadLink(&'a Path),
    /// Listing a directory.
    ReadDir(&'a Path),
    /// Resolving a path through all its links.
    Resolve(&'a Path),
    /// Checking that a path exists.
    Stat(&'a Path),
    /// Writing `value` to a file.
    Write {
        /// The file.
        path: &'a Path,
        /// What is written.
        value: &'a str,
    },
}

impl Sysfs {
    /// A sysfs tree rooted at `root` (normally `/sys`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            observer: None,
        }
    }

    /// Reports every filesystem call to `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The root this handle reads under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` under the root, as errors show it.
    pub(crate) fn full(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// How many filesystem calls other than writes every [`Sysfs`] of
    /// this process has made together (reads, link reads, listings,
    /// resolutions, existence checks): what one short-lived process (a
    /// plugin invocation) read of sysfs.
    pub fn reads_in_process() -> u64 {
        PROCESS_READS.load(Ordering::Relaxed)
    }

    fn observe(&self, access: Access<'_>) {
        if !matches!(access, Access::Write { .. }) {
            PROCESS_READS.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(observer) = &self.observer {
            observer.observe(&access);
        }
    }

    /// The content of a sysfs attribute, or the raw I/O error.
    pub(crate) fn read_raw(&self, rel: &Path) -> io::Result<String> {
        self.observe(Access::Read(rel));
        let mut text = String::new();
        fs::File::open(self.full(rel))?
            .take(MAX_ATTR_LEN)
            .read_to_string(&mut text)?;
        Ok(text)
    }

    /// The target of a symbolic link, or the raw I/O error.
    pub(crate) fn read_link_raw(&self, rel: &Path) -> io::Result<PathBuf> {
        self.observe(Access::ReadLink(rel));
        fs::read_link(self.full(rel))
    }

    /// The entry names of a directory, sorted, or the raw I/O error. Names
    /// are bytes: a netdev's need not be UTF-8.
    pub(crate) fn read_dir_raw(&self, rel: &Path) -> io::Result<Vec<OsString>> {
        self.observe(Access::ReadDir(rel));
        let mut names = fs::read_dir(self.full(rel))?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect::<io::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    }

    /// `rel` with every link resolved, or the raw I/O error.
    pub(crate) fn resolve_raw(&self, rel: &Path) -> io::Result<PathBuf> {
        self.observe(Access::Resolve(rel));
        fs::canonicalize(self.full(rel))
    }

    /// What `rel` is (following links), or `None` when it does not exist.
    pub(crate) fn stat_raw(&self, rel: &Path) -> io::Result<Option<fs::Metadata>> {
        self.observe(Access::Stat(rel));
        absent_ok(fs::metadata(self.full(rel)))
    }

    /// Writes `value` to an existing attribute in one `write` call, as sysfs
    /// needs.
    pub(crate) fn write_raw(&self, rel: &Path, value: &str) -> io::Result<()> {
        self.observe(Access::Write { path: rel, value });
        let mut file = fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(self.full(rel))?;
        file.write_all(value.as_bytes())
    }

    /// A `Read` error about `device` and `rel`.
    pub(crate) fn read_error(&self, device: &Device, rel: &Path, source: io::Error) -> Error {
        Error::Read {
            device: device.clone(),
            path: self.full(rel),
            source,
        }
    }

    /// A `Malformed` error about `device` and `rel`.
    pub(crate) fn malformed(
        &self,
        device: &Device,
        rel: &Path,
        content: &str,
        expected: &'static str,
    ) -> Error {
        Error::Malformed {
            device: device.clone(),
            path: self.full(rel),
            content: content.chars().take(64).collect(),
            expected,
        }
    }

    /// A trimmed attribute that must exist.
    pub(crate) fn read_attr(&self, device: &Device, rel: &Path) -> Result<String, Error> {
        self.read_raw(rel)
            .map(|text| text.trim().to_owned())
            .map_err(|e| self.read_error(device, rel, e))
    }

    /// A trimmed attribute that may be absent.
    pub(crate) fn read_attr_opt(
        &self,
        device: &Device,
        rel: &Path,
    ) -> Result<Option<String>, Error> {
        absent_ok(self.read_raw(rel))
            .map(|text| text.map(|t| t.trim().to_owned()))
            .map_err(|e| self.read_error(device, rel, e))
    }

    /// A decimal attribute that must exist.
    pub(crate) fn read_u32(&self, device: &Device, rel: &Path) -> Result<u32, Error> {
        let text = self.read_attr(device, rel)?;
        text.parse()
            .map_err(|_| self.malformed(device, rel, &text, "a decimal number"))
    }

    /// A decimal attribute that may be absent.
    pub(crate) fn read_u32_opt(&self, device: &Device, rel: &Path) -> Result<Option<u32>, Error> {
        self.read_attr_opt(device, rel)?
            .map(|text| {
                text.parse()
                    .map_err(|_| self.malformed(device, rel, &text, "a decimal number"))
            })
            .transpose()
    }

    /// The target of a link that may be absent.
    pub(crate) fn read_link_opt(
        &self,
        device: &Device,
        rel: &Path,
    ) -> Result<Option<PathBuf>, Error> {
        absent_ok(self.read_link_raw(rel)).map_err(|e| self.read_error(device, rel, e))
    }
}

/// Whether an error means the path does not exist: nothing there, or a
/// file where the path needs a directory (`class/net/bonding_masters` is a
/// file beside the netdev directories).
pub(crate) fn is_absent(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}

/// `None` for a path that does not exist; other errors stay errors.
fn absent_ok<T>(result: io::Result<T>) -> io::Result<Option<T>> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}
