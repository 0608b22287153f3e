//! The inventory in the SR-IOV operator's shape (the `serde` feature).
//!
//! The inventory is shaped like the `status` of the SR-IOV network
//! operator's `SriovNetworkNodeState`: the same field names, IDs as bare
//! lowercase hex (`"8086"`), link speed as `"10000 Mb/s"`, fields without a
//! value left out. Additions: `numaNode` on interfaces; `pfPciAddress`,
//! `pfName` and `netdevState` (`host`, `moved`, `noNetdev`, `userspace`,
//! `unbound`) on VFs.

use serde::ser::{SerializeMap, SerializeStruct, Serializer};
use serde::Serialize;

use crate::{Inventory, Netdev, Nic, PciAddr, Vf, VfNetdev};

/// A PCI ID the way the operator writes it: four lowercase hex digits.
struct PciId(u16);

impl Serialize for PciId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&format_args!("{:04x}", self.0))
    }
}

/// A map opened with the fields every PCI function has.
fn pci_map<S: Serializer>(
    serializer: S,
    addr: PciAddr,
    vendor_id: u16,
    device_id: u16,
) -> Result<S::SerializeMap, S::Error> {
    let mut map = serializer.serialize_map(None)?;
    map.serialize_entry("pciAddress", &addr)?;
    map.serialize_entry("vendor", &PciId(vendor_id))?;
    map.serialize_entry("deviceID", &PciId(device_id))?;
    Ok(map)
}

/// The fields a netdev contributes to an interface or VF object.
fn netdev_entries<M: SerializeMap>(map: &mut M, netdev: &Netdev) -> Result<(), M::Error> {
    map.serialize_entry("name", &netdev.name)?;
    if let Some(mac) = &netdev.mac {
        map.serialize_entry("mac", mac)?;
    }
    map.serialize_entry("mtu", &netdev.mtu)?;
    if let Some(speed) = netdev.speed_mbps {
        map.serialize_entry("linkSpeed", &format_args!("{speed} Mb/s").to_string())?;
    }
    Ok(())
}

impl Serialize for Nic {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = pci_map(serializer, self.addr, self.vendor_id, self.device_id)?;
        if let Some(driver) = &self.driver {
            map.serialize_entry("driver", driver)?;
        }
        if let Some(netdev) = &self.netdev {
            netdev_entries(&mut map, netdev)?;
        }
        if let Some(node) = self.numa_node {
            map.serialize_entry("numaNode", &node)?;
        }
        if self.is_sriov() {
            map.serialize_entry("totalvfs", &self.total_vfs)?;
            map.serialize_entry("numVfs", &self.num_vfs)?;
            map.serialize_entry("Vfs", &self.vfs)?;
        }
        map.end()
    }
}

impl Serialize for Vf {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = pci_map(serializer, self.addr, self.vendor_id, self.device_id)?;
        if let Some(driver) = &self.driver {
            map.serialize_entry("driver", driver)?;
        }
        if let Some(pf) = &self.pf {
            map.serialize_entry("vfID", &pf.index)?;
            map.serialize_entry("pfPciAddress", &pf.addr)?;
            if let Some(name) = &pf.name {
                map.serialize_entry("pfName", name)?;
            }
        }
        let state = match &self.netdev {
            VfNetdev::Host(netdev) => {
                netdev_entries(&mut map, netdev)?;
                "host"
            }
            VfNetdev::Moved => "moved",
            VfNetdev::NoNetdev => "noNetdev",
            VfNetdev::Userspace => "userspace",
            VfNetdev::Unbound => "unbound",
        };
        map.serialize_entry("netdevState", state)?;
        map.end()
    }
}

impl Serialize for Inventory {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut state = serializer.serialize_struct("Inventory", 1)?;
        state.serialize_field("interfaces", &self.interfaces)?;
        state.end()
    }
}
