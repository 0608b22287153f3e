//! Enabling and disabling VFs through `sriov_numvfs`.

use std::path::PathBuf;

use crate::{Device, Error, IfName, Sysfs};

/// A change of a PF's VF count, as made by [`Sysfs::set_num_vfs`].
///
/// Setting the PF back to `from` undoes it; with the `serde` feature it can be
/// stored as that undo record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NumVfsChange {
    /// The PF.
    pub pf: IfName,
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
    /// Sets the number of enabled VFs on the PF whose netdev is `pf`.
    ///
    /// The kernel refuses to change a non-zero count to another non-zero
    /// count (EBUSY), so that change goes through 0: the VFs are all
    /// destroyed and created anew. A count above `sriov_totalvfs` is refused
    /// before anything is written. Asking for the current count writes
    /// nothing. If the final write fails after the count was reset to 0,
    /// the old count is written back, and the error says what the PF is
    /// left with.
    pub fn set_num_vfs(&self, pf: &IfName, count: u32) -> Result<NumVfsChange, Error> {
        let device = Device::PfNetdev(pf.clone());
        let dir = PathBuf::from(format!("class/net/{pf}/device"));
        // Resolving the netdev first gives "no such interface" or "not a
        // PCI device" rather than a bare missing file.
        self.netdev_pci_addr(pf)?;
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
                pf: pf.clone(),
                requested: count,
                total,
                path: self.full(&total_path),
            });
        }
        let numvfs = dir.join("sriov_numvfs");
        let from = self.read_u32(&device, &numvfs)?;
        let change = NumVfsChange {
            pf: pf.clone(),
            from,
            to: count,
        };
        if from == count {
            return Ok(change);
        }
        let fail = |written: u32, left_with: u32, source| Error::SetNumVfs {
            pf: pf.clone(),
            path: self.full(&numvfs),
            from,
            to: count,
            written,
            left_with,
            source,
        };
        if from != 0 && count != 0 {
            self.write_raw(&numvfs, "0")
                .map_err(|source| fail(0, from, source))?;
        }
        if let Err(source) = self.write_raw(&numvfs, &count.to_string()) {
            let left_with = if from != 0 && count != 0 {
                match self.write_raw(&numvfs, &from.to_string()) {
                    Ok(()) => from,
                    Err(_) => 0,
                }
            } else {
                from
            };
            return Err(fail(count, left_with, source));
        }
        Ok(change)
    }
}
