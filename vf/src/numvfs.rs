//! Enabling and disabling VFs through `sriov_numvfs`.

use std::io;
use std::path::PathBuf;

use crate::{Device, Error, IfName, PciAddr, Sysfs};

/// A change of a PF's VF count, as made by [`Sysfs::set_num_vfs`] or
/// [`Sysfs::set_num_vfs_by_addr`].
///
/// Setting the PF at `addr` back to `from` undoes it. It always
/// serializes (the `serde` feature is only for the inventory), so it can
/// be journaled as that undo record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NumVfsChange {
    /// The PF's PCI address.
    pub addr: PciAddr,
    /// The PF's netdev name, when the change was asked for by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pf: Option<IfName>,
    /// The count before.
    pub from: u32,
    /// The count after.
    pub to: u32,
}

impl NumVfsChange {
    /// Whether anything was written.
    pub fn changed(&self) -> bool {
        self.from != self.to
    }
}

impl Sysfs {
    /// Sets the number of enabled VFs on the PF whose netdev is `pf`; a
    /// switchdev representor is refused as `pf` ([`Error::Representor`]).
    ///
    /// The kernel refuses to change a non-zero count to another non-zero
    /// count (EBUSY), so that change goes through 0: the VFs are all
    /// destroyed and created anew. A count above `sriov_totalvfs` is refused
    /// before anything is written. Asking for the current count writes
    /// nothing. If the final write fails after the count was reset to 0,
    /// the old count is written back; the error then holds both failures
    /// and what `sriov_numvfs` reads afterwards.
    pub fn set_num_vfs(&self, pf: &IfName, count: u32) -> Result<NumVfsChange, Error> {
        // Resolving the netdev first gives "no such interface", "not a PCI
        // device" or "a representor" rather than a bare missing file.
        let addr = self.pf_netdev_pci_addr(pf)?;
        self.set_num_vfs_at(addr, Some(pf), Device::PfNetdev(*pf), count)
    }

    /// Sets the number of enabled VFs on the PF at `addr`, as
    /// [`set_num_vfs`](Sysfs::set_num_vfs) does; for a PF without a netdev
    /// in the host namespace (bound to a userspace driver, say), or known
    /// only by address.
    pub fn set_num_vfs_by_addr(&self, addr: PciAddr, count: u32) -> Result<NumVfsChange, Error> {
        self.set_num_vfs_at(addr, None, Device::Pf(addr), count)
    }

    fn set_num_vfs_at(
        &self,
        addr: PciAddr,
        name: Option<&IfName>,
        device: Device,
        count: u32,
    ) -> Result<NumVfsChange, Error> {
        let dir = PathBuf::from(format!("bus/pci/devices/{addr}"));
        self.require_device(addr, &dir)?;
        let total_path = dir.join("sriov_totalvfs");
        let total = self
            .read_u32_opt(&device, &total_path)?
            .filter(|total| *total > 0)
            .ok_or_else(|| Error::NotPf {
                device: device.clone(),
                path: self.full(&total_path),
                reason: "sriov_totalvfs is missing or 0",
            })?;
        if count > total {
            return Err(Error::TooManyVfs {
                pf: device,
                requested: count,
                total,
                path: self.full(&total_path),
            });
        }
        let numvfs = dir.join("sriov_numvfs");
        let from = self.read_u32(&device, &numvfs)?;
        let change = NumVfsChange {
            addr,
            pf: name.cloned(),
            from,
            to: count,
        };
        if from == count {
            return Ok(change);
        }
        let through_zero = from != 0 && count != 0;
        let write = |value: u32| self.write_raw(&numvfs, &value.to_string());
        let fail = |written: u32, source: io::Error, restore_error: Option<io::Error>| {
            // What the PF has now is what the kernel says, not what the
            // writes that succeeded suggest.
            let left_with = self
                .read_raw(&numvfs)
                .ok()
                .and_then(|text| text.trim().parse().ok());
            Error::SetNumVfs {
                pf: device.clone(),
                path: self.full(&numvfs),
                from,
                to: count,
                written,
                source,
                restore_error,
                left_with,
            }
        };
        if through_zero {
            write(0).map_err(|source| fail(0, source, None))?;
        }
        if let Err(source) = write(count) {
            let restore_error = if through_zero {
                write(from).err()
            } else {
                None
            };
            return Err(fail(count, source, restore_error));
        }
        Ok(change)
    }
}
