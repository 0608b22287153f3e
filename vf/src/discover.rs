//! Discovery: PFs, VFs and the inventory, read from sysfs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::netdev::Netdevs;
use crate::sysfs::is_absent;
use crate::{
    is_userspace_driver, Device, Error, IfName, Inventory, Nic, PciAddr, PfLink, Sysfs, Vf,
    VfNetdev,
};

/// PCI base class of network controllers (the top byte of `class`).
const NETWORK_CLASS: u32 = 0x02;

fn pci_dir(addr: PciAddr) -> PathBuf {
    PathBuf::from(format!("bus/pci/devices/{addr}"))
}

fn netdev_dir(name: &IfName) -> PathBuf {
    PathBuf::from(format!("class/net/{name}"))
}

fn virtfn(pf_dir: &Path, index: u32) -> PathBuf {
    pf_dir.join(format!("virtfn{index}"))
}

/// The PCI address a link target or resolved path ends in.
fn addr_of(path: &Path) -> Option<PciAddr> {
    path.file_name()?.to_str()?.parse().ok()
}

impl Sysfs {
    /// Every network PCI function that is not a VF, in address order, each
    /// SR-IOV one with its enabled VFs.
    ///
    /// This is the one call that lists all devices, and one odd device
    /// does not cost the rest: a device (or a PF's VF) it cannot make sense
    /// of is left out of the list and its error, naming the device and
    /// file, goes into [`Inventory::errors`]. A device that changes while
    /// it is read (VFs being created, a netdev being renamed) can be such
    /// an error too; calling again sees the settled state. The call itself
    /// fails only when the list of PCI devices cannot be read.
    pub fn inventory(&self) -> Result<Inventory, Error> {
        let devices = Path::new("bus/pci/devices");
        let names = self.read_dir_raw(devices).map_err(|source| Error::List {
            path: self.full(devices),
            source,
        })?;
        let mut errors = Vec::new();
        let mut addrs = Vec::new();
        for name in &names {
            match name.to_str().map(str::parse::<PciAddr>) {
                Some(Ok(addr)) => addrs.push(addr),
                _ => errors.push(Error::UnexpectedEntry {
                    path: self.full(&devices.join(name)),
                }),
            }
        }
        addrs.sort();
        let mut interfaces = Vec::new();
        for addr in addrs {
            match self.inventory_entry(addr, &mut errors) {
                Ok(Some(nic)) => interfaces.push(nic),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        Ok(Inventory { interfaces, errors })
    }

    /// The device at `addr` as the inventory lists it: `None` when it is
    /// not a network device, or a VF (listed under its PF). Errors about
    /// single VFs go to `vf_errors`.
    fn inventory_entry(
        &self,
        addr: PciAddr,
        vf_errors: &mut Vec<Error>,
    ) -> Result<Option<Nic>, Error> {
        let device = Device::Pci(addr);
        let dir = pci_dir(addr);
        // A VF is listed under its PF, and read as its PF's VF there; as
        // in vf(), its own class does not matter.
        if self.read_link_opt(&device, &dir.join("physfn"))?.is_some() {
            return Ok(None);
        }
        if !self.is_network(&device, &dir)? {
            return Ok(None);
        }
        self.read_nic(addr, &device, None, Some(vf_errors))
            .map(Some)
    }

    /// The SR-IOV physical function whose netdev is `name`, with its VFs.
    ///
    /// The [`Nic`]'s netdev is `name`, and its VFs are addressed through
    /// it. A switchdev representor (`phys_port_name` like `pf0vf3`) sits
    /// among its PF's netdevs but is not the PF's own: it is refused
    /// ([`Error::Representor`], naming the uplink to use instead).
    pub fn pf(&self, name: &IfName) -> Result<Nic, Error> {
        let addr = self.pf_netdev_pci_addr(name)?;
        self.sriov_nic(addr, &Device::PfNetdev(*name), Some(name))
    }

    /// The SR-IOV physical function at `addr`, with its VFs. Its netdev is
    /// its primary one (see [`Nic::netdev`]).
    pub fn pf_by_addr(&self, addr: PciAddr) -> Result<Nic, Error> {
        self.sriov_nic(addr, &Device::Pf(addr), None)
    }

    /// The VF at `addr`.
    ///
    /// A device without a `physfn` link is accepted as a VF seen from inside
    /// a VM (with no PF) when it is a network device and not SR-IOV capable
    /// itself. When the VF has several netdevs, its netdev is its primary
    /// one (see [`Vf::other_netdevs`]).
    pub fn vf(&self, addr: PciAddr) -> Result<Vf, Error> {
        self.vf_wanting(addr, None)
    }

    /// The VF at `addr`, with `want` as its netdev when it is one of them.
    fn vf_wanting(&self, addr: PciAddr, want: Option<&IfName>) -> Result<Vf, Error> {
        let dir = pci_dir(addr);
        self.require_device(addr, &dir)?;
        let device = Device::Vf(addr);
        let physfn = dir.join("physfn");
        match self.read_link_opt(&device, &physfn)? {
            Some(target) => {
                let pf = addr_of(&target).ok_or_else(|| Error::BadLink {
                    device: device.clone(),
                    path: self.full(&physfn),
                    target,
                })?;
                let pf_link = self.pf_link(addr, pf)?;
                self.read_vf(addr, Some(pf_link), want)
            }
            None => {
                if !self.is_network(&device, &dir)? {
                    return Err(Error::NotVf {
                        addr,
                        path: self.full(&dir.join("class")),
                        reason: "it has no physfn link and is not a network device",
                    });
                }
                // The same rule as Nic::is_sriov: a function that can have
                // no VFs may itself be a VF seen from inside a VM.
                let total_vfs = dir.join("sriov_totalvfs");
                if self.read_u32_opt(&device, &total_vfs)?.unwrap_or(0) > 0 {
                    return Err(Error::NotVf {
                        addr,
                        path: self.full(&total_vfs),
                        reason: "it is an SR-IOV physical function",
                    });
                }
                self.read_vf(addr, None, want)
            }
        }
    }

    /// VF number `index` of the PF whose netdev is `pf`; the VF is
    /// addressed through `pf`. A switchdev representor is refused as `pf`,
    /// as in [`Sysfs::pf`].
    pub fn vf_by_index(&self, pf: &IfName, index: u32) -> Result<Vf, Error> {
        let pf_addr = self.pf_netdev_pci_addr(pf)?;
        let pf_dir = pci_dir(pf_addr);
        let pf_device = Device::PfNetdev(*pf);
        let Some(addr) = self.virtfn_target(&pf_device, &pf_dir, index)? else {
            let numvfs = pf_dir.join("sriov_numvfs");
            let num_vfs = self
                .read_u32_opt(&pf_device, &numvfs)?
                .ok_or_else(|| Error::NotPf {
                    device: pf_device.clone(),
                    path: self.full(&numvfs),
                    reason: "it has no sriov_numvfs",
                })?;
            return Err(Error::NoSuchVf {
                pf: *pf,
                index,
                num_vfs,
                path: self.full(&virtfn(&pf_dir, index)),
            });
        };
        self.check_physfn(addr, pf_addr)?;
        // A virtfn link to a VF that an earlier link already leads to
        // would give that VF a second index.
        let first = self.vf_index(addr, pf_addr, &pf_dir)?;
        if first != index {
            return Err(Error::VirtfnDuplicate {
                pf: pf_device,
                vf: addr,
                first,
                path: self.full(&virtfn(&pf_dir, index)),
            });
        }
        let pf_link = PfLink {
            addr: pf_addr,
            name: Some(*pf),
            index,
        };
        self.read_vf(addr, Some(pf_link), None)
    }

    /// The VF whose netdev (in the host namespace) is `name`; the [`Vf`]'s
    /// netdev is `name` even when the VF has others.
    pub fn vf_by_netdev(&self, name: &IfName) -> Result<Vf, Error> {
        self.vf_wanting(self.netdev_pci_addr(name)?, Some(name))
    }

    /// The PCI function behind a netdev, from its `device` link.
    ///
    /// virtio-net netdevs hang off a virtio device one level below the PCI
    /// function; that function is the answer for them too.
    pub(crate) fn netdev_pci_addr(&self, name: &IfName) -> Result<PciAddr, Error> {
        let device = Device::Netdev(*name);
        let link = netdev_dir(name).join("device");
        match self.resolve_raw(&link) {
            Ok(path) => addr_of(&path)
                .or_else(|| {
                    let below_pci = path.file_name()?.to_str()?.starts_with("virtio");
                    below_pci.then(|| addr_of(path.parent()?)).flatten()
                })
                .ok_or_else(|| Error::NotPci {
                    name: *name,
                    path: self.full(&link),
                    target: Some(path),
                }),
            Err(e) if is_absent(&e) => {
                if let Some(target) = self.read_link_opt(&device, &link)? {
                    return Err(Error::BadLink {
                        device,
                        path: self.full(&link),
                        target,
                    });
                }
                if self.is_dir(&device, &netdev_dir(name))? {
                    Err(Error::NotPci {
                        name: *name,
                        path: self.full(&link),
                        target: None,
                    })
                } else {
                    Err(Error::NoSuchNetdev {
                        name: *name,
                        path: self.full(&netdev_dir(name)),
                    })
                }
            }
            Err(e) => Err(self.read_error(&device, &link, e)),
        }
    }

    pub(crate) fn exists(&self, device: &Device, rel: &Path) -> Result<bool, Error> {
        self.stat_raw(rel)
            .map(|meta| meta.is_some())
            .map_err(|e| self.read_error(device, rel, e))
    }

    fn is_dir(&self, device: &Device, rel: &Path) -> Result<bool, Error> {
        self.stat_raw(rel)
            .map(|meta| meta.is_some_and(|m| m.is_dir()))
            .map_err(|e| self.read_error(device, rel, e))
    }

    pub(crate) fn require_device(&self, addr: PciAddr, dir: &Path) -> Result<(), Error> {
        if self.exists(&Device::Pci(addr), dir)? {
            Ok(())
        } else {
            Err(Error::NoSuchPciDevice {
                addr,
                path: self.full(dir),
            })
        }
    }

    fn is_network(&self, device: &Device, dir: &Path) -> Result<bool, Error> {
        let rel = dir.join("class");
        let text = self.read_attr(device, &rel)?;
        let class = parse_hex(&text, 0xff_ffff)
            .ok_or_else(|| self.malformed(device, &rel, &text, "a hex class code like 0x020000"))?;
        Ok(class >> 16 == NETWORK_CLASS)
    }

    fn read_id(&self, device: &Device, rel: &Path) -> Result<u16, Error> {
        let text = self.read_attr(device, rel)?;
        parse_hex(&text, 0xffff)
            .map(|id| id as u16)
            .ok_or_else(|| self.malformed(device, rel, &text, "a hex ID like 0x8086"))
    }

    fn read_driver(&self, device: &Device, dir: &Path) -> Result<Option<String>, Error> {
        let link = dir.join("driver");
        self.read_link_opt(device, &link)?
            .map(|target| {
                target
                    .file_name()
                    .and_then(|n| n.to_str())
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        self.malformed(
                            device,
                            &link,
                            &target.to_string_lossy(),
                            "a link to a driver directory",
                        )
                    })
            })
            .transpose()
    }

    fn read_numa_node(&self, device: &Device, dir: &Path) -> Result<Option<u32>, Error> {
        let rel = dir.join("numa_node");
        let Some(text) = self.read_attr_opt(device, &rel)? else {
            return Ok(None);
        };
        let node = text
            .parse::<i64>()
            .map_err(|_| self.malformed(device, &rel, &text, "a NUMA node number, or -1"))?;
        Ok(u32::try_from(node).ok())
    }

    /// The target of the PF's `virtfnN` link; `None` when there is none.
    fn virtfn_target(
        &self,
        pf: &Device,
        pf_dir: &Path,
        index: u32,
    ) -> Result<Option<PciAddr>, Error> {
        let link = virtfn(pf_dir, index);
        self.read_link_opt(pf, &link)?
            .map(|target| {
                addr_of(&target).ok_or_else(|| Error::BadLink {
                    device: pf.clone(),
                    path: self.full(&link),
                    target,
                })
            })
            .transpose()
    }

    /// A NIC that must be SR-IOV capable.
    fn sriov_nic(
        &self,
        addr: PciAddr,
        device: &Device,
        want: Option<&IfName>,
    ) -> Result<Nic, Error> {
        let nic = self.read_nic(addr, device, want, None)?;
        if nic.is_sriov() {
            Ok(nic)
        } else {
            Err(Error::NotPf {
                device: device.clone(),
                path: self.full(&pci_dir(addr).join("sriov_totalvfs")),
                reason: "sriov_totalvfs is missing or 0",
            })
        }
    }

    /// The NIC at `addr`, with `want` as its netdev when it is one of them.
    /// With `vf_errors`, a VF that cannot be read is left out and its error
    /// goes there; without, it fails the call.
    fn read_nic(
        &self,
        addr: PciAddr,
        device: &Device,
        want: Option<&IfName>,
        mut vf_errors: Option<&mut Vec<Error>>,
    ) -> Result<Nic, Error> {
        let dir = pci_dir(addr);
        self.require_device(addr, &dir)?;
        let (netdev, other_netdevs) = match self.read_netdevs(device, &dir, want)? {
            Netdevs::Host { netdev, others } => (Some(netdev), others),
            Netdevs::NoDir | Netdevs::Empty => (None, Vec::new()),
        };
        let total_vfs = self
            .read_u32_opt(device, &dir.join("sriov_totalvfs"))?
            .unwrap_or(0);
        let mut num_vfs = 0;
        let mut vfs = Vec::new();
        if total_vfs > 0 {
            let numvfs = dir.join("sriov_numvfs");
            num_vfs = self.read_u32(device, &numvfs)?;
            if num_vfs > total_vfs {
                return Err(self.malformed(
                    device,
                    &numvfs,
                    &num_vfs.to_string(),
                    "at most sriov_totalvfs",
                ));
            }
            let pf = PfLink {
                addr,
                name: netdev.as_ref().map(|n| n.name),
                index: 0,
            };
            let mut seen = HashMap::new();
            for index in 0..num_vfs {
                let link = PfLink {
                    index,
                    ..pf.clone()
                };
                match self.listed_vf(device, link, num_vfs, &mut seen) {
                    Ok(vf) => vfs.push(vf),
                    Err(e) => match vf_errors.as_deref_mut() {
                        Some(errors) => errors.push(e),
                        None => return Err(e),
                    },
                }
            }
        }
        Ok(Nic {
            addr,
            vendor_id: self.read_id(device, &dir.join("vendor"))?,
            device_id: self.read_id(device, &dir.join("device"))?,
            driver: self.read_driver(device, &dir)?,
            netdev,
            other_netdevs,
            numa_node: self.read_numa_node(device, &dir)?,
            total_vfs,
            num_vfs,
            vfs,
        })
    }

    /// The VF that PF `device`'s `virtfnN` link for `pf.index` leads to,
    /// checked against the links read before (`seen`) and its `physfn`.
    fn listed_vf(
        &self,
        device: &Device,
        pf: PfLink,
        num_vfs: u32,
        seen: &mut HashMap<PciAddr, u32>,
    ) -> Result<Vf, Error> {
        let dir = pci_dir(pf.addr);
        let link = virtfn(&dir, pf.index);
        let vf =
            self.virtfn_target(device, &dir, pf.index)?
                .ok_or_else(|| Error::VirtfnMissing {
                    pf: device.clone(),
                    num_vfs,
                    path: self.full(&link),
                })?;
        if let Some(first) = seen.insert(vf, pf.index) {
            return Err(Error::VirtfnDuplicate {
                pf: device.clone(),
                vf,
                first,
                path: self.full(&link),
            });
        }
        self.check_physfn(vf, pf.addr)?;
        self.read_vf(vf, Some(pf), None)
    }

    /// Checks that the VF a PF's `virtfnN` link leads to exists and that
    /// its `physfn` leads back to that PF.
    fn check_physfn(&self, vf: PciAddr, pf: PciAddr) -> Result<(), Error> {
        let dir = pci_dir(vf);
        self.require_device(vf, &dir)?;
        let physfn = dir.join("physfn");
        let found = self
            .read_link_opt(&Device::Vf(vf), &physfn)?
            .and_then(|target| addr_of(&target));
        if found == Some(pf) {
            Ok(())
        } else {
            Err(Error::PhysfnMismatch {
                vf,
                path: self.full(&physfn),
                pf,
                found,
            })
        }
    }

    /// Where VF `vf` sits on PF `pf`.
    fn pf_link(&self, vf: PciAddr, pf: PciAddr) -> Result<PfLink, Error> {
        let pf_dir = pci_dir(pf);
        let device = Device::Pf(pf);
        if !self.exists(&device, &pf_dir)? {
            return Err(Error::NoSuchPciDevice {
                addr: pf,
                path: self.full(&pf_dir),
            });
        }
        let index = self.vf_index(vf, pf, &pf_dir)?;
        let name = self.primary_netdev_name(&device, &pf_dir)?;
        Ok(PfLink {
            addr: pf,
            name,
            index,
        })
    }

    /// The index of `vf` on `pf`.
    ///
    /// VF n sits at routing ID `pf + offset + n * stride`, so the index
    /// follows from `sriov_offset` and `sriov_stride` and one `virtfnN` link
    /// confirms it. Without those files (or if they disagree with the
    /// links) the PF's `virtfnN` links are read in order.
    fn vf_index(&self, vf: PciAddr, pf: PciAddr, pf_dir: &Path) -> Result<u32, Error> {
        let device = Device::Pf(pf);
        if let Some(index) = self.vf_index_by_offset(vf, pf, pf_dir) {
            if self.virtfn_target(&device, pf_dir, index)? == Some(vf) {
                return Ok(index);
            }
        }
        // Every virtfn link the PF has, in index order: a gap or a broken
        // link below the VF's own says nothing about the VF.
        let entries = self
            .read_dir_raw(pf_dir)
            .map_err(|e| self.read_error(&device, pf_dir, e))?;
        let mut indices: Vec<u32> = entries
            .iter()
            .filter_map(|entry| entry.to_str()?.strip_prefix("virtfn")?.parse().ok())
            .collect();
        indices.sort_unstable();
        for index in indices {
            if let Ok(Some(target)) = self.virtfn_target(&device, pf_dir, index) {
                if target == vf {
                    return Ok(index);
                }
            }
        }
        Err(Error::VfNotListed {
            vf,
            pf,
            path: self.full(pf_dir),
        })
    }

    fn vf_index_by_offset(&self, vf: PciAddr, pf: PciAddr, pf_dir: &Path) -> Option<u32> {
        if vf.domain() != pf.domain() {
            return None;
        }
        // These are hints checked against a virtfn link, so one that is
        // missing, unreadable or malformed only means taking the slower path.
        let hint = |file: &str| -> Option<u32> {
            self.read_raw(&pf_dir.join(file)).ok()?.trim().parse().ok()
        };
        let (Some(offset), Some(stride)) = (hint("sriov_offset"), hint("sriov_stride")) else {
            return None;
        };
        let distance = i64::from(vf.routing_id()) - i64::from(pf.routing_id()) - i64::from(offset);
        let stride = i64::from(stride);
        if stride == 0 || distance < 0 || distance % stride != 0 {
            return None;
        }
        u32::try_from(distance / stride).ok()
    }

    /// Reads a VF whose place on its PF (if any) is already known, with
    /// `want` as its netdev when it is one of them.
    fn read_vf(
        &self,
        addr: PciAddr,
        pf: Option<PfLink>,
        want: Option<&IfName>,
    ) -> Result<Vf, Error> {
        let dir = pci_dir(addr);
        self.require_device(addr, &dir)?;
        let device = Device::Vf(addr);
        let driver = self.read_driver(&device, &dir)?;
        let mut other_netdevs = Vec::new();
        let netdev = match driver.as_deref() {
            None => VfNetdev::Unbound,
            Some(driver) if is_userspace_driver(driver) => VfNetdev::Userspace,
            Some(_) => match self.read_netdevs(&device, &dir, want)? {
                Netdevs::Host { netdev, others } => {
                    other_netdevs = others;
                    VfNetdev::Host(netdev)
                }
                Netdevs::Empty => VfNetdev::Moved,
                Netdevs::NoDir => VfNetdev::NoNetdev,
            },
        };
        Ok(Vf {
            addr,
            vendor_id: self.read_id(&device, &dir.join("vendor"))?,
            device_id: self.read_id(&device, &dir.join("device"))?,
            driver,
            pf,
            netdev,
            other_netdevs,
        })
    }
}

/// `0x`-prefixed hex no greater than `max`, as sysfs writes IDs and classes.
fn parse_hex(text: &str, max: u32) -> Option<u32> {
    let digits = text.strip_prefix("0x")?;
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok().filter(|v| *v <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_hex_takes_what_sysfs_writes() {
        assert_eq!(parse_hex("0x8086", 0xffff), Some(0x8086));
        assert_eq!(parse_hex("0x020000", 0xff_ffff), Some(0x020000));
        assert_eq!(parse_hex("8086", 0xffff), None);
        assert_eq!(parse_hex("0x", 0xffff), None);
        assert_eq!(parse_hex("0x10000", 0xffff), None);
        assert_eq!(parse_hex("0x+1", 0xffff), None);
    }
}
