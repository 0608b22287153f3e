//! What a VF was before anything changed, and putting it back in the host
//! namespace.

use std::time::{Duration, Instant};

use netplumb_netns::{Errno, LinkChange, LinkInfo, MacAddr, Netlink};

use crate::error::kernel_error;
use crate::{Alias, AltName, Error, Host, IfName, Step, Vf, VfConfig, VfId, VfNetdev, VfSettings};

/// How often a netdev expected back in the host namespace is looked for.
const RETURN_POLL: Duration = Duration::from_millis(20);

/// Why a VF bound to a netdev driver has no netdev to work on.
const NOT_MADE_YET: &str = "its driver has not made a netdev for it (it has no net/ in sysfs)";

/// The alias a VF netdev carries while a pod has it: this prefix and the
/// netdev's name in the host namespace. It travels with the netdev, so the
/// original name is known even for a netdev the kernel hands back under
/// another name (`devN`) after its namespace is deleted.
pub const HOST_NAME_ALIAS_PREFIX: &str = "netplumb-host-name:";

/// A VF netdev as it was in the host namespace.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NetdevState {
    /// Its name.
    pub name: IfName,
    /// Its interface index in the host namespace when it was recorded
    /// (it may differ once the netdev has been in another namespace).
    pub index: u32,
    /// Its (effective) MAC address.
    pub mac: MacAddr,
    /// Its permanent MAC, when the driver reports one. It helps recognise
    /// the netdev in a pod on kernels that do not report a netdev's parent
    /// device (before 5.16); it is not restored, and drivers may change it
    /// (igbvf takes an administrative MAC as its permanent one when it
    /// resets).
    pub permanent_mac: Option<MacAddr>,
    /// Its MTU.
    pub mtu: u32,
    /// Whether it was administratively up.
    pub up: bool,
    /// Its alias, if it had one.
    pub alias: Option<Alias>,
    /// Whether it was in promiscuous mode.
    #[serde(default)]
    pub promisc: bool,
    /// Whether it took all multicast.
    #[serde(default)]
    pub allmulti: bool,
    /// Its alternative names (a pod may add or remove some, and they travel
    /// with the netdev).
    #[serde(default)]
    pub alt_names: Vec<AltName>,
}

/// Everything about a VF that putting it back restores: its PF-side
/// configuration and its netdev in the host namespace. Taken by
/// [`Host::snapshot`] before any change; serializes, so a plugin can
/// journal it and restore after a crash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VfState {
    /// The VF.
    pub vf: VfId,
    /// Its PF-side configuration; `None` when no PF is visible (a VF inside
    /// a VM) or the PF has no netdev to ask.
    pub config: Option<VfConfig>,
    /// Its netdev; `None` when it has none (bound to a userspace driver
    /// such as vfio-pci, or to no driver).
    pub netdev: Option<NetdevState>,
}

impl VfState {
    /// The PF-side settings that put the VF back: its configuration, with
    /// the administrative MAC as [`VfState::admin_mac_to_restore`] says.
    pub fn pf_side_to_restore(&self) -> Option<VfSettings> {
        self.config.as_ref().map(|config| VfSettings {
            mac: Some(self.admin_mac_to_restore()),
            ..config.to_settings()
        })
    }

    /// The MAC to write through the PF as the VF's administrative MAC when
    /// putting it back.
    ///
    /// A PF's VF table does not say whether its MAC was set by an
    /// administrator: igb fills each new VF's entry with the VF's own MAC,
    /// and a VF that sets its own MAC shows it there too, but writing any
    /// non-zero MAC through the PF, even the one shown, marks it
    /// administrative, and the VF can no longer change its MAC (until the PF
    /// writes zero). So an entry equal to the netdev's own MAC is taken for
    /// the VF's own, not an administrator's: what goes back through the PF
    /// is zero, which clears the mark, and the netdev's MAC, set when its
    /// netdev is put back, fills the entry again, unmarked. An entry with
    /// another MAC, or of a VF without a netdev to set its own (a DPDK VF),
    /// is taken as set by an administrator, and written back as it was.
    pub fn admin_mac_to_restore(&self) -> MacAddr {
        let Some(config) = &self.config else {
            return MacAddr::default();
        };
        match &self.netdev {
            Some(netdev) if netdev.mac == config.mac => MacAddr::default(),
            _ => config.mac,
        }
    }
}

/// Where a netdev ended up when it came back to the host namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Returned {
    /// Under its original name, with MAC, MTU, alias and up/down state as
    /// before.
    AsBefore,
    /// With MAC, MTU and up/down state as before, but its original name was
    /// taken, so it carries another one; its alias remembers the original
    /// (see [`HOST_NAME_ALIAS_PREFIX`]). Detaching again once the name is
    /// free takes it back.
    NameTaken {
        /// The name it had.
        wanted: IfName,
        /// The name it has now.
        got: IfName,
    },
    /// It has no netdev (a userspace driver holds it): only its PF-side
    /// settings were put back.
    NoNetdev,
}

impl Host {
    /// Records everything about the VF that must be put back later: its
    /// PF-side configuration (one round trip to its PF) and its netdev's
    /// name, MAC, MTU, up/down state and alias (one more).
    ///
    /// A VF whose netdev is in another namespace cannot be recorded (it is
    /// in use): that is an [`Error::NoNetdev`].
    pub fn snapshot(&self, vf: &Vf) -> Result<VfState, Error> {
        let id = vf.id();
        let config = match (&id.pf, id.index) {
            (Some(_), Some(_)) => Some(self.vf_config(&id)?),
            _ => None,
        };
        let netdev = match &vf.netdev {
            VfNetdev::Host(netdev) => {
                let link = self
                    .netlink()
                    .link(netdev.name)
                    .map_err(kernel_error(&id, Step::ReadNetdev(netdev.name)))?;
                Some(netdev_state(&id, &link)?)
            }
            VfNetdev::Moved => {
                return Err(Error::NoNetdev {
                    vf: id,
                    what: "record its state",
                    reason: "its netdev is in another network namespace".into(),
                })
            }
            // Recording "no netdev" would be wrong as soon as the driver
            // makes one, so this is refused rather than recorded.
            VfNetdev::NoNetdev => {
                return Err(Error::NoNetdev {
                    vf: id,
                    what: "record its state",
                    reason: NOT_MADE_YET.into(),
                })
            }
            VfNetdev::Userspace | VfNetdev::Unbound => None,
        };
        Ok(VfState {
            vf: id,
            config,
            netdev,
        })
    }

    /// Puts a VF back as `state` has it, wherever its netdev is in the host
    /// namespace: its PF-side configuration, and its netdev's name, MAC,
    /// MTU, alias and up/down state. For a VF that was never moved into a
    /// pod (a DPDK VF, or one whose attach was not reached), or to finish a
    /// restore a crash interrupted.
    pub fn restore(&self, state: &VfState) -> Result<Returned, Error> {
        // PF-side first: a PF may refuse a VF's own MAC change while it has
        // an administrative MAC set for the VF (igb does, once the VF has
        // reset), so the administrative MAC goes back before the netdev's.
        let pf_side = state.pf_side_to_restore();
        let config = match &pf_side {
            Some(settings) => self.configure(&state.vf, settings).map(drop),
            None => Ok(()),
        };
        let returned = match &state.netdev {
            Some(netdev) => {
                let found = self.wait_in_host(&state.vf, Duration::ZERO)?;
                self.fix_up_in_host(&state.vf, netdev, &found)?
            }
            None => Returned::NoNetdev,
        };
        config?;
        if let Some(settings) = &pf_side {
            self.settle_pf_side(&state.vf, settings, state.netdev.as_ref())?;
        }
        Ok(returned)
    }

    /// Settles the VF's entry in its PF's table after its netdev was put
    /// back as `netdev` records it, by the administrative MAC `settings`
    /// put back.
    ///
    /// An administrator's MAC is written again: a VF that sets its own MAC
    /// shows it in its PF's table (igb does), so restoring the netdev's MAC
    /// can change the one just put back. A zero MAC made way for the VF's
    /// own, which the VF registers with its PF when it sets it; but the
    /// kernel does not pass a netdev a MAC it already has, so when the
    /// entry is still not the VF's own, the netdev takes another MAC for a
    /// moment and then its own again. Costs one round trip when nothing
    /// is left to do.
    pub(crate) fn settle_pf_side(
        &self,
        vf: &VfId,
        settings: &VfSettings,
        netdev: Option<&NetdevState>,
    ) -> Result<(), Error> {
        match (settings.mac, netdev) {
            (Some(mac), _) if !mac.is_zero() => self.configure(vf, settings).map(drop),
            (Some(_), Some(netdev)) => {
                if self.vf_config(vf)?.mac == netdev.mac {
                    return Ok(());
                }
                let found = self.wait_in_host(vf, Duration::ZERO)?;
                for mac in [other_mac(netdev.mac), netdev.mac] {
                    self.netlink()
                        .change_link(found.index, &LinkChange::new().mac(mac))
                        .map_err(kernel_error(vf, Step::RestoreNetdev(found.name)))?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The VF's netdev in the host namespace, found through sysfs by PCI
    /// address, waiting up to `wait` for it to appear there.
    pub(crate) fn wait_in_host(&self, vf: &VfId, wait: Duration) -> Result<Found, Error> {
        let deadline = Instant::now() + wait;
        loop {
            let current = self.sysfs().vf(vf.addr)?;
            match &current.netdev {
                VfNetdev::Host(netdev) => {
                    let link = self
                        .netlink()
                        .link(netdev.name)
                        .map_err(kernel_error(vf, Step::ReadNetdev(netdev.name)))?;
                    return Ok(Found::from_link(&link));
                }
                // Both can end by themselves: the netdev's namespace goes
                // away, or its driver finishes making it.
                VfNetdev::Moved | VfNetdev::NoNetdev if Instant::now() < deadline => {
                    std::thread::sleep(RETURN_POLL);
                }
                other => {
                    let reason = match other {
                        VfNetdev::Moved if wait.is_zero() => {
                            "its netdev is in another network namespace".to_owned()
                        }
                        VfNetdev::Moved => format!(
                            "its netdev is in another network namespace, and did not come \
                             back within {} ms",
                            wait.as_millis()
                        ),
                        VfNetdev::NoNetdev if wait.is_zero() => NOT_MADE_YET.to_owned(),
                        VfNetdev::NoNetdev => format!(
                            "{NOT_MADE_YET}; none appeared within {} ms",
                            wait.as_millis()
                        ),
                        VfNetdev::Userspace => format!(
                            "it is bound to {} now, which makes no netdev",
                            current.driver.as_deref().unwrap_or("a userspace driver")
                        ),
                        _ => "no driver is bound to it now".to_owned(),
                    };
                    return Err(Error::NoNetdev {
                        vf: vf.clone(),
                        what: "bring its netdev back",
                        reason,
                    });
                }
            }
        }
    }

    /// Puts a netdev that is in the host namespace back as `host` was: name
    /// (when free), MAC, MTU, alias, up/down.
    pub(crate) fn fix_up_in_host(
        &self,
        vf: &VfId,
        host: &NetdevState,
        found: &Found,
    ) -> Result<Returned, Error> {
        let rename = found.name != host.name;
        let name_free = !rename || self.name_is_free(vf, &host.name, Some(found.index))?;
        if rename && name_free && found.up {
            // The kernel renames only a netdev that is down.
            self.netlink()
                .set_down(found.index)
                .map_err(kernel_error(vf, Step::SetDown(found.name)))?;
        }
        let mut change = restoring(host, name_free);
        if rename && name_free {
            change = change.name(host.name);
        }
        self.netlink()
            .change_link(found.index, &change)
            .map_err(kernel_error(vf, Step::RestoreNetdev(found.name)))?;
        self.restore_alt_names(vf, host, found)?;
        if name_free {
            Ok(Returned::AsBefore)
        } else {
            Ok(Returned::NameTaken {
                wanted: host.name,
                got: found.name,
            })
        }
    }

    /// Whether `name` is free in the host namespace (or held by the link
    /// `ours` itself).
    pub(crate) fn name_is_free(
        &self,
        vf: &VfId,
        name: &IfName,
        ours: Option<u32>,
    ) -> Result<bool, Error> {
        match self.netlink().link(name) {
            Ok(link) => Ok(Some(link.index) == ours),
            Err(e) if e.is_no_such_link() => Ok(true),
            Err(e) => Err(kernel_error(vf, Step::LookUpName(*name))(e)),
        }
    }
}

/// The saved state of a VF netdev read as `link`.
pub(crate) fn netdev_state(vf: &VfId, link: &LinkInfo) -> Result<NetdevState, Error> {
    let mac = link.mac.ok_or_else(|| Error::NoNetdev {
        vf: vf.clone(),
        what: "record its state",
        reason: format!("netdev {} has no 6-byte Ethernet MAC", link.name),
    })?;
    Ok(NetdevState {
        name: link.name,
        index: link.index,
        mac,
        permanent_mac: link.permanent_mac,
        mtu: link.mtu,
        up: link.is_up(),
        alias: link.alias.clone(),
        promisc: link.is_promisc(),
        allmulti: link.is_allmulti(),
        alt_names: link.alt_names.clone(),
    })
}

/// The change that gives a netdev in the host namespace the MAC, MTU,
/// alias, flags and up state `host` records (its name aside).
pub(crate) fn restoring(host: &NetdevState, name_free: bool) -> LinkChange<'static> {
    LinkChange::new()
        .mac(host.mac)
        .mtu(host.mtu)
        .alias(host_alias(host, name_free))
        .promisc(host.promisc)
        .allmulti(host.allmulti)
        .up(host.up)
}

impl Host {
    /// Gives the netdev `found` the alternative names `host` records:
    /// removes those a pod added, adds back those it removed. One request
    /// per name, none when they match.
    pub(crate) fn restore_alt_names(
        &self,
        vf: &VfId,
        host: &NetdevState,
        found: &Found,
    ) -> Result<(), Error> {
        // A kernel that keeps a moved netdev's alternative names in the
        // namespace they were added in (5.10) cannot find one added in a
        // pod that is gone; nothing here can remove it.
        drop_alt_names(self.netlink(), vf, host, found, true)?;
        for missing in host
            .alt_names
            .iter()
            .filter(|a| !found.alt_names.contains(a))
        {
            self.netlink()
                .add_altname(found.index, missing)
                .map_err(kernel_error(vf, Step::RestoreNetdev(found.name)))?;
        }
        Ok(())
    }
}

/// Removes, through `netlink` (the namespace `found` is in), the
/// alternative names of `found` that `host` does not record; one the
/// kernel cannot find is skipped when `missing_ok`.
pub(crate) fn drop_alt_names(
    netlink: &Netlink,
    vf: &VfId,
    host: &NetdevState,
    found: &Found,
    missing_ok: bool,
) -> Result<(), Error> {
    for extra in found
        .alt_names
        .iter()
        .filter(|a| !host.alt_names.contains(a))
    {
        match netlink.delete_altname(found.index, extra) {
            Err(e) if missing_ok && e.errno() == Some(Errno::ENOENT) => {}
            other => other.map_err(kernel_error(vf, Step::RestoreNetdev(found.name)))?,
        }
    }
    Ok(())
}

/// The alias a netdev gets when it comes back: its own, or, when it comes
/// back under another name, one that remembers its name.
pub(crate) fn host_alias(host: &NetdevState, name_free: bool) -> Alias {
    if name_free {
        host.alias.clone().unwrap_or_default()
    } else {
        remembering(&host.name)
    }
}

/// A MAC other than `mac`, unicast and locally administered, for a netdev
/// to wear for a moment.
fn other_mac(mac: MacAddr) -> MacAddr {
    let mut octets = mac.octets();
    octets[0] = (octets[0] | 0x02) & !0x01;
    octets[5] ^= 0x01;
    MacAddr(octets)
}

/// The alias that remembers the host name `name` ([`HOST_NAME_ALIAS_PREFIX`]).
pub(crate) fn remembering(name: &IfName) -> Alias {
    let alias = [HOST_NAME_ALIAS_PREFIX.as_bytes(), name.as_bytes()].concat();
    // The prefix and at most 15 bytes of a name without NUL fit in 255.
    Alias::new(alias).expect("prefix and name fit an alias")
}

/// A VF netdev found in some namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Found {
    pub index: u32,
    pub name: IfName,
    pub up: bool,
    pub alt_names: Vec<AltName>,
}

impl Found {
    pub(crate) fn from_link(link: &LinkInfo) -> Found {
        Found {
            index: link.index,
            name: link.name,
            up: link.is_up(),
            alt_names: link.alt_names.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_netdev_back_under_another_name_remembers_its_own() {
        let host = NetdevState {
            name: "enp1s0f0v3".parse().unwrap(),
            index: 7,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            permanent_mac: None,
            mtu: 1500,
            up: false,
            alias: Some(Alias::new("uplink").unwrap()),
            promisc: false,
            allmulti: false,
            alt_names: Vec::new(),
        };
        assert_eq!(host_alias(&host, true), Alias::new("uplink").unwrap());
        assert_eq!(
            host_alias(&host, false),
            Alias::new("netplumb-host-name:enp1s0f0v3").unwrap()
        );
        let bare = NetdevState {
            alias: None,
            ..host
        };
        assert!(
            host_alias(&bare, true).is_empty(),
            "an empty alias clears the pod's"
        );
    }

    fn state(table: MacAddr, netdev: Option<MacAddr>) -> VfState {
        let mut info = netplumb_netns::VfInfo::new(1);
        info.mac = table;
        VfState {
            vf: VfId::on_pf("0000:01:10.2".parse().unwrap(), "eth0".parse().unwrap(), 1),
            config: Some(VfConfig::from_info(&info)),
            netdev: netdev.map(|mac| NetdevState {
                name: "eth4".parse().unwrap(),
                index: 7,
                mac,
                permanent_mac: None,
                mtu: 1500,
                up: false,
                alias: None,
                promisc: false,
                allmulti: false,
                alt_names: Vec::new(),
            }),
        }
    }

    #[test]
    fn the_passing_mac_is_another_unicast_one() {
        for mac in [
            MacAddr([0x5a, 1, 2, 3, 4, 5]),
            MacAddr([0, 0, 0, 0, 0, 0xff]),
            MacAddr([0xff; 6]),
        ] {
            let other = other_mac(mac);
            assert_ne!(other, mac);
            assert!(other.is_valid_unicast(), "{other}");
        }
    }

    #[test]
    fn a_table_mac_that_is_the_vfs_own_goes_back_as_zero() {
        let own = MacAddr([0x5a, 0, 0, 0, 0, 1]);
        let admin = MacAddr([2, 0, 0, 0, 0, 9]);
        let zero = MacAddr::default();
        // igb's own fill, or the VF's own MAC: not an administrator's.
        assert_eq!(state(own, Some(own)).admin_mac_to_restore(), zero);
        assert_eq!(state(zero, Some(own)).admin_mac_to_restore(), zero);
        // Another MAC than the netdev's: an administrator set it.
        assert_eq!(state(admin, Some(own)).admin_mac_to_restore(), admin);
        // No netdev to set its own: kept as it was.
        assert_eq!(state(own, None).admin_mac_to_restore(), own);
        let restore = state(own, Some(own)).pf_side_to_restore().unwrap();
        assert_eq!(restore.mac, Some(zero));
        assert!(
            restore.vlan.is_some(),
            "the rest of the configuration goes back too"
        );
        let in_a_vm = VfState {
            config: None,
            ..state(own, Some(own))
        };
        assert_eq!(in_a_vm.pf_side_to_restore(), None);
    }
}
