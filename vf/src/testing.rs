//! Fake sysfs trees and an access recorder, for tests (the `test-support`
//! feature).
//!
//! A [`FakeSysfs`] lays out, in a fresh temporary directory, the part of
//! sysfs that discovery reads, the way the kernel does: functions under
//! `devices/`, links to them from `bus/pci/devices/`, netdevs under each
//! function's `net/` with links from `class/net/`, a VF's `physfn`, a PF's
//! `virtfnN`, `driver` links into `bus/pci/drivers/`. Tests then break it
//! as they like through [`FakeSysfs::path`].
//!
//! ```
//! use netplumb_vf::testing::{FakeNic, FakeSysfs};
//! let fake = FakeSysfs::new().unwrap();
//! fake.add(&FakeNic::pf("0000:01:00.0".parse().unwrap(), "enp1s0f0", 7, 2)).unwrap();
//! let vf = fake.sysfs().vf_by_index(&"enp1s0f0".parse().unwrap(), 1).unwrap();
//! assert_eq!(vf.addr.to_string(), "0000:01:10.2");
//! ```

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use crate::{Access, MacAddr, Observer, PciAddr, Sysfs, VfState};

/// A fake sysfs tree in a temporary directory, removed when dropped.
#[derive(Debug)]
pub struct FakeSysfs {
    root: PathBuf,
}

/// A network PCI function to lay out: a PF with its VFs, or a plain NIC.
#[derive(Clone, Debug)]
pub struct FakeNic {
    /// Its address.
    pub addr: PciAddr,
    /// PCI vendor ID.
    pub vendor_id: u16,
    /// PCI device ID.
    pub device_id: u16,
    /// PCI class code (`0x020000` is Ethernet).
    pub class: u32,
    /// Bound driver.
    pub driver: Option<String>,
    /// Its netdev.
    pub netdev: Option<FakeNetdev>,
    /// Further netdevs beside it in the same `net/`: the other port of a
    /// dual-port function, or in switchdev mode its VFs' representors and
    /// (with `netdev` a representor) the uplink.
    pub extra_netdevs: Vec<FakeNetdev>,
    /// Put the netdevs under `virtio0/net/`, as virtio-pci does.
    pub virtio: bool,
    /// Content of `numa_node`.
    pub numa_node: i32,
    /// SR-IOV capability and VFs.
    pub sriov: Option<FakeSriov>,
}

/// A netdev to lay out.
#[derive(Clone, Debug)]
pub struct FakeNetdev {
    /// Its name (any text: tests may use invalid ones).
    pub name: String,
    /// Content of `address`.
    pub mac: String,
    /// Content of `mtu`.
    pub mtu: u32,
    /// Content of `speed`; `None` leaves the file out, as when reading it
    /// fails.
    pub speed: Option<String>,
    /// Content of `phys_port_name` (`p0` for a switchdev uplink, `pf0vf3`
    /// for a VF representor); `None` leaves the file out, as when the
    /// driver reports none (reading it fails with EOPNOTSUPP).
    pub phys_port_name: Option<String>,
}

/// A PF's SR-IOV capability.
#[derive(Clone, Debug)]
pub struct FakeSriov {
    /// Content of `sriov_totalvfs`.
    pub total_vfs: u32,
    /// First VF offset, in routing IDs.
    pub offset: u16,
    /// VF stride, in routing IDs.
    pub stride: u16,
    /// Whether to write `sriov_offset` and `sriov_stride` (older kernels
    /// lack them).
    pub offset_files: bool,
    /// PCI device ID of the VFs.
    pub vf_device_id: u16,
    /// The enabled VFs; `sriov_numvfs` is their count.
    pub vfs: Vec<FakeVf>,
}

/// A VF to lay out.
#[derive(Clone, Debug)]
pub struct FakeVf {
    /// Bound driver.
    pub driver: Option<String>,
    /// Where its netdev is.
    pub netdev: FakeVfNetdev,
}

/// Where a fake VF's netdev is.
#[derive(Clone, Debug)]
pub enum FakeVfNetdev {
    /// In the host namespace.
    Host(FakeNetdev),
    /// Moved to another namespace: `net/` is left empty, as the kernel
    /// leaves it.
    Moved,
    /// No `net/` at all: a userspace driver, no driver, or a netdev driver
    /// that has not made its netdev yet.
    None,
}

impl FakeNetdev {
    /// An up Ethernet netdev at 1500 MTU and `speed` Mb/s, with a locally
    /// administered MAC made from `seed`.
    pub fn new(name: &str, seed: u32, speed: i64) -> Self {
        let [a, b, c, d] = seed.to_be_bytes();
        Self {
            name: name.to_owned(),
            mac: format!("02:5e:{a:02x}:{b:02x}:{c:02x}:{d:02x}"),
            mtu: 1500,
            speed: Some(speed.to_string()),
            phys_port_name: None,
        }
    }

    /// The same netdev, with `phys_port_name` set.
    pub fn port_name(mut self, phys_port_name: &str) -> Self {
        self.phys_port_name = Some(phys_port_name.to_owned());
        self
    }
}

impl FakeNic {
    /// An igb-like PF (82576: offset 128, stride 2) named `name`, with
    /// `num_vfs` of `total_vfs` VFs enabled, each driven by igbvf with a
    /// netdev `<name>v<N>` in the host namespace.
    pub fn pf(addr: PciAddr, name: &str, total_vfs: u32, num_vfs: u32) -> Self {
        let seed = u32::from(addr.routing_id()) << 8;
        let vfs = (0..num_vfs)
            .map(|i| FakeVf {
                driver: Some("igbvf".to_owned()),
                netdev: FakeVfNetdev::Host(FakeNetdev::new(
                    &format!("{name}v{i}"),
                    seed | (i + 1),
                    1000,
                )),
            })
            .collect();
        Self {
            addr,
            vendor_id: 0x8086,
            device_id: 0x10c9,
            class: 0x020000,
            driver: Some("igb".to_owned()),
            netdev: Some(FakeNetdev::new(name, seed, 1000)),
            extra_netdevs: Vec::new(),
            virtio: false,
            numa_node: 0,
            sriov: Some(FakeSriov {
                total_vfs,
                offset: 128,
                stride: 2,
                offset_files: true,
                vf_device_id: 0x10ca,
                vfs,
            }),
        }
    }

    /// An e1000e-like NIC without SR-IOV: what a VF passed into a VM looks
    /// like from inside it.
    pub fn plain(addr: PciAddr, name: &str) -> Self {
        Self {
            addr,
            vendor_id: 0x8086,
            device_id: 0x10d3,
            class: 0x020000,
            driver: Some("e1000e".to_owned()),
            netdev: Some(FakeNetdev::new(
                name,
                u32::from(addr.routing_id()) << 8,
                1000,
            )),
            extra_netdevs: Vec::new(),
            virtio: false,
            numa_node: -1,
            sriov: None,
        }
    }

    /// The same PF in switchdev mode as PF number `pf` of its card: its
    /// netdev the uplink (`phys_port_name` `p<pf>`), and beside it in
    /// `net/` a representor `<prefix><N>` (`pf<pf>vf<N>`) for each VF.
    pub fn switchdev(mut self, pf: u32, prefix: &str) -> Self {
        self.netdev = self.netdev.map(|n| n.port_name(&format!("p{pf}")));
        let seed = u32::from(self.addr.routing_id()) << 8 | 0x80;
        let count = self.sriov.as_ref().map_or(0, |s| s.vfs.len() as u32);
        self.extra_netdevs = (0..count)
            .map(|i| {
                FakeNetdev::new(&format!("{prefix}{i}"), seed + i, 1000)
                    .port_name(&format!("pf{pf}vf{i}"))
            })
            .collect();
        self
    }

    /// The address of VF `index`, from the offset and stride.
    pub fn vf_addr(&self, index: u32) -> Option<PciAddr> {
        let sriov = self.sriov.as_ref()?;
        let rid = u32::from(self.addr.routing_id())
            + u32::from(sriov.offset)
            + index * u32::from(sriov.stride);
        Some(self.addr.with_routing_id(u16::try_from(rid).ok()?))
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl FakeSysfs {
    /// An empty tree (just the top directories) in a new temporary
    /// directory: under `/dev/shm` where it exists, since a memory-backed
    /// tree builds many times faster (as sysfs itself is in memory), else
    /// under the system's temporary directory.
    pub fn new() -> io::Result<Self> {
        let shm = Path::new("/dev/shm");
        if shm.is_dir() {
            if let Ok(fake) = Self::new_in(shm) {
                return Ok(fake);
            }
        }
        Self::new_in(&std::env::temp_dir())
    }

    /// An empty tree in a new directory under `base`.
    pub fn new_in(base: &Path) -> io::Result<Self> {
        loop {
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let root = base.join(format!("netplumb-fake-sysfs-{}-{n}", std::process::id()));
            match fs::create_dir(&root) {
                Ok(()) => {
                    let fake = Self { root };
                    for dir in [
                        "devices/pci0000:00",
                        "bus/pci/devices",
                        "bus/pci/drivers",
                        "class/net",
                    ] {
                        fs::create_dir_all(fake.root.join(dir))?;
                    }
                    return Ok(fake);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// The tree's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `rel` inside the tree.
    pub fn path(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.root.join(rel)
    }

    /// The directory of the function at `addr` (not the `bus/pci/devices` link).
    pub fn device_dir(&self, addr: PciAddr) -> PathBuf {
        self.root.join(format!("devices/pci0000:00/{addr}"))
    }

    /// A [`Sysfs`] reading this tree.
    pub fn sysfs(&self) -> Sysfs {
        Sysfs::new(&self.root)
    }

    /// Lays out `nic` and, for a PF, its VFs.
    pub fn add(&self, nic: &FakeNic) -> io::Result<()> {
        let dir = self.function(nic.addr, nic.vendor_id, nic.device_id, nic.class)?;
        self.bind(&dir, nic.driver.as_deref())?;
        fs::write(dir.join("numa_node"), format!("{}\n", nic.numa_node))?;
        let parent = if nic.virtio {
            dir.join("virtio0")
        } else {
            dir.clone()
        };
        for netdev in nic.netdev.iter().chain(&nic.extra_netdevs) {
            self.netdev(&parent, netdev)?;
        }
        let Some(sriov) = &nic.sriov else {
            return Ok(());
        };
        write_attr(&dir, "sriov_totalvfs", sriov.total_vfs)?;
        write_attr(&dir, "sriov_numvfs", sriov.vfs.len())?;
        if sriov.offset_files {
            write_attr(&dir, "sriov_offset", sriov.offset)?;
            write_attr(&dir, "sriov_stride", sriov.stride)?;
        }
        for (index, vf) in (0u32..).zip(&sriov.vfs) {
            let addr = nic.vf_addr(index).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "VF routing ID past the last bus",
                )
            })?;
            let vf_dir = self.function(addr, nic.vendor_id, sriov.vf_device_id, nic.class)?;
            self.bind(&vf_dir, vf.driver.as_deref())?;
            symlink(format!("../{}", nic.addr), vf_dir.join("physfn"))?;
            symlink(format!("../{addr}"), dir.join(format!("virtfn{index}")))?;
            match &vf.netdev {
                FakeVfNetdev::Host(netdev) => self.netdev(&vf_dir, netdev)?,
                FakeVfNetdev::Moved => fs::create_dir(vf_dir.join("net"))?,
                FakeVfNetdev::None => {}
            }
        }
        Ok(())
    }

    /// A function's directory with its IDs and class, linked from
    /// `bus/pci/devices`.
    fn function(&self, addr: PciAddr, vendor: u16, device: u16, class: u32) -> io::Result<PathBuf> {
        let dir = self.device_dir(addr);
        fs::create_dir(&dir)?;
        fs::write(dir.join("vendor"), format!("0x{vendor:04x}\n"))?;
        fs::write(dir.join("device"), format!("0x{device:04x}\n"))?;
        fs::write(dir.join("class"), format!("0x{class:06x}\n"))?;
        symlink(
            format!("../../../devices/pci0000:00/{addr}"),
            self.root.join(format!("bus/pci/devices/{addr}")),
        )?;
        Ok(dir)
    }

    fn bind(&self, dir: &Path, driver: Option<&str>) -> io::Result<()> {
        let Some(driver) = driver else {
            return Ok(());
        };
        let driver_dir = self.root.join("bus/pci/drivers").join(driver);
        if !driver_dir.exists() {
            fs::create_dir_all(&driver_dir)?;
        }
        symlink(
            format!("../../../bus/pci/drivers/{driver}"),
            dir.join("driver"),
        )
    }

    /// Adds a further netdev to the function at `addr`, beside any it has:
    /// a second port of a VF, say.
    pub fn add_netdev(&self, addr: PciAddr, netdev: &FakeNetdev) -> io::Result<()> {
        self.netdev(&self.device_dir(addr), netdev)
    }

    /// A netdev under `parent/net/`, linked from `class/net`.
    fn netdev(&self, parent: &Path, netdev: &FakeNetdev) -> io::Result<()> {
        let dir = parent.join("net").join(&netdev.name);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join("address"), format!("{}\n", netdev.mac))?;
        write_attr(&dir, "mtu", netdev.mtu)?;
        if let Some(speed) = &netdev.speed {
            fs::write(dir.join("speed"), format!("{speed}\n"))?;
        }
        if let Some(port_name) = &netdev.phys_port_name {
            fs::write(dir.join("phys_port_name"), format!("{port_name}\n"))?;
        }
        symlink("../..", dir.join("device"))?;
        let relative = dir.strip_prefix(&self.root).map_err(io::Error::other)?;
        symlink(
            Path::new("../..").join(relative),
            self.root.join("class/net").join(&netdev.name),
        )
    }
}

fn write_attr(dir: &Path, name: &str, value: impl std::fmt::Display) -> io::Result<()> {
    fs::write(dir.join(name), format!("{value}\n"))
}

impl Drop for FakeSysfs {
    fn drop(&mut self) {
        // Best effort: a leftover temporary directory must not fail a test.
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// One recorded filesystem call (an owned [`Access`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Recorded {
    /// Reading a file.
    Read(PathBuf),
    /// Reading a link.
    ReadLink(PathBuf),
    /// Listing a directory.
    ReadDir(PathBuf),
    /// Resolving a path.
    Resolve(PathBuf),
    /// Checking a path exists.
    Stat(PathBuf),
    /// Writing a value to a file.
    Write(PathBuf, String),
}

/// An [`Observer`] that records every filesystem call.
#[derive(Debug, Default)]
pub struct AccessLog {
    entries: Mutex<Vec<Recorded>>,
}

impl AccessLog {
    /// Everything recorded so far, in order.
    pub fn entries(&self) -> Vec<Recorded> {
        self.lock().clone()
    }

    /// How many calls were recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// The writes recorded, in order.
    pub fn writes(&self) -> Vec<(PathBuf, String)> {
        self.lock()
            .iter()
            .filter_map(|entry| match entry {
                Recorded::Write(path, value) => Some((path.clone(), value.clone())),
                _ => None,
            })
            .collect()
    }

    /// Forgets everything recorded.
    pub fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Recorded>> {
        // A panic elsewhere while holding the lock leaves the log usable.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Observer for AccessLog {
    fn observe(&self, access: &Access<'_>) {
        let recorded = match *access {
            Access::Read(path) => Recorded::Read(path.to_owned()),
            Access::ReadLink(path) => Recorded::ReadLink(path.to_owned()),
            Access::ReadDir(path) => Recorded::ReadDir(path.to_owned()),
            Access::Resolve(path) => Recorded::Resolve(path.to_owned()),
            Access::Stat(path) => Recorded::Stat(path.to_owned()),
            Access::Write { path, value } => Recorded::Write(path.to_owned(), value.to_owned()),
        };
        self.lock().push(recorded);
    }
}

/// `before` and `now` reduced to what restoring a VF puts back, for
/// comparing them.
///
/// Left out: the permanent MAC (igbvf changes it on its own when it resets
/// with an administrative MAC) and the interface index (a recreated netdev
/// does not get its old one back). And when one side's PF-side entry holds
/// no MAC and the other's holds the VF's own, that difference: igb leaves
/// some VFs' entries zero until the VF sets a MAC (every new VF on 5.10,
/// some VFs on 6.1), fills others with the VF's MAC, and neither is an
/// administrator's MAC (whether the VF may still set its own MAC is what
/// tells those apart).
pub fn comparable_after_restore(before: &VfState, now: &VfState) -> (VfState, VfState) {
    let reduce = |state: &VfState| {
        let mut state = state.clone();
        if let Some(netdev) = &mut state.netdev {
            netdev.permanent_mac = None;
            netdev.index = 0;
        }
        state
    };
    let mut before = reduce(before);
    let mut now = reduce(now);
    let own_mac = now.netdev.as_ref().map(|n| n.mac);
    if let (Some(was), Some(is)) = (&mut before.config, &mut now.config) {
        let unset = |mac: MacAddr| mac.is_zero() || Some(mac) == own_mac;
        if was.mac != is.mac && unset(was.mac) && unset(is.mac) {
            was.mac = MacAddr([0; 6]);
            is.mac = MacAddr([0; 6]);
        }
    }
    (before, now)
}
