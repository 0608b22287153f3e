//! A PCI function's netdevs as sysfs lists them: which of several is the
//! function's own (a switchdev PF's uplink, not one of its representors),
//! and reading one.
//!
//! A function can have several netdevs in its `net/` directory: one per
//! port (mlx4 puts both ports of a card on one function), and in switchdev
//! mode (since Linux 5.8) a PF's directory also holds the representors of
//! its VFs. `phys_port_name` tells them apart: `p0` for an uplink,
//! `pf0vf3` for the representor of VF 3.

use std::path::{Path, PathBuf};

use crate::{Device, Error, HwAddr, IfName, Netdev, PciAddr, Sysfs};

/// What a function's `net/` directory shows.
#[derive(Debug)]
pub(crate) enum Netdevs {
    /// There is no `net/` directory: no netdev has been made for it.
    NoDir,
    /// `net/` is there and empty: its netdev is in another namespace.
    Empty,
    /// The netdev asked for (else the function's primary one), and the
    /// names of the others, in name order.
    Host { netdev: Netdev, others: Vec<IfName> },
}

/// What a netdev's `phys_port_name` says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PortRole {
    /// A physical port: `p<N>` (a switchdev PF's uplink).
    Uplink,
    /// A representor: of a PF (`pf<N>`), a VF (`pf<N>vf<M>`) or a
    /// subfunction (`pf<N>sf<M>`), with a `c<K>` controller prefix when it
    /// stands for a function of another host.
    Representor,
    /// Anything else, or no port name at all.
    Other,
}

/// Whether `text` is one or more ASCII digits.
fn is_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The role a `phys_port_name` gives its netdev, by the names the kernel's
/// devlink gives each port flavour.
pub(crate) fn port_role(port_name: &str) -> PortRole {
    if port_name.strip_prefix('p').is_some_and(is_number) {
        return PortRole::Uplink;
    }
    let local = match port_name.strip_prefix('c') {
        Some(rest) => match rest.find("pf") {
            Some(at) if is_number(&rest[..at]) => &rest[at..],
            _ => return PortRole::Other,
        },
        None => port_name,
    };
    let Some(rest) = local.strip_prefix("pf") else {
        return PortRole::Other;
    };
    let pf_digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (pf, function) = rest.split_at(pf_digits);
    let function_ok = function.is_empty()
        || function
            .strip_prefix("vf")
            .or_else(|| function.strip_prefix("sf"))
            .is_some_and(is_number);
    if is_number(pf) && function_ok {
        PortRole::Representor
    } else {
        PortRole::Other
    }
}

/// How often a netdev that vanished while it was read is looked for again
/// before it counts as moved away.
const NETDEV_READ_ATTEMPTS: u32 = 3;

impl Sysfs {
    /// The directory holding a device's netdevs: `net/`, or for virtio-pci
    /// `virtioN/net/`. `None` when there is none.
    pub(crate) fn net_dir(&self, device: &Device, dir: &Path) -> Result<Option<PathBuf>, Error> {
        let net = dir.join("net");
        if self.exists(device, &net)? {
            return Ok(Some(net));
        }
        let entries = self
            .read_dir_raw(dir)
            .map_err(|e| self.read_error(device, dir, e))?;
        for entry in entries
            .iter()
            .filter(|e| e.to_str().is_some_and(is_virtio_child))
        {
            let net = dir.join(entry).join("net");
            if self.exists(device, &net)? {
                return Ok(Some(net));
            }
        }
        Ok(None)
    }

    /// The netdev names in a `net/` directory, in name order.
    fn netdev_names(&self, device: &Device, net_dir: &Path) -> Result<Vec<IfName>, Error> {
        let names = self
            .read_dir_raw(net_dir)
            .map_err(|e| self.read_error(device, net_dir, e))?;
        names
            .iter()
            .map(|name| {
                use std::os::unix::ffi::OsStrExt;
                IfName::new(name.as_bytes()).map_err(|_| {
                    let text = name.to_string_lossy();
                    self.malformed(device, &net_dir.join(name), &text, "a valid interface name")
                })
            })
            .collect()
    }

    /// The netdev's role by its `phys_port_name`, read at `rel`. Drivers
    /// without port names refuse the read (EOPNOTSUPP): that, and any other
    /// failure, is `Other`.
    fn port_role_at(&self, rel: &Path) -> (PortRole, Option<String>) {
        match self.read_raw(rel) {
            Ok(text) => {
                let text = text.trim();
                (port_role(text), Some(text.to_owned()))
            }
            Err(_) => (PortRole::Other, None),
        }
    }

    /// Which of `names` (in `net_dir`) is the function's own netdev: the
    /// uplink, else the first that is not a representor, else the first.
    /// A lone netdev is taken as it is, without reading anything.
    fn primary(&self, net_dir: &Path, names: &[IfName]) -> usize {
        if names.len() < 2 {
            return 0;
        }
        let roles: Vec<PortRole> = names
            .iter()
            .map(|name| {
                self.port_role_at(&net_dir.join(name_path(name)).join("phys_port_name"))
                    .0
            })
            .collect();
        roles
            .iter()
            .position(|role| *role == PortRole::Uplink)
            .or_else(|| roles.iter().position(|role| *role != PortRole::Representor))
            .unwrap_or(0)
    }

    /// The name of the function's own netdev (see [`Sysfs::primary`]),
    /// when it has one in the host namespace.
    pub(crate) fn primary_netdev_name(
        &self,
        device: &Device,
        dir: &Path,
    ) -> Result<Option<IfName>, Error> {
        let Some(net_dir) = self.net_dir(device, dir)? else {
            return Ok(None);
        };
        let mut names = self.netdev_names(device, &net_dir)?;
        if names.is_empty() {
            return Ok(None);
        }
        let primary = self.primary(&net_dir, &names);
        Ok(Some(names.swap_remove(primary)))
    }

    /// The device's netdevs: `want` when it is one of them, else its
    /// primary one, read in full; the others by name.
    pub(crate) fn read_netdevs(
        &self,
        device: &Device,
        dir: &Path,
        want: Option<&IfName>,
    ) -> Result<Netdevs, Error> {
        let Some(net_dir) = self.net_dir(device, dir)? else {
            return Ok(Netdevs::NoDir);
        };
        // A netdev that leaves the namespace (or is renamed) between the
        // listing and the reading is looked for again: it is on the move,
        // not broken. One still listed but never readable is broken.
        let mut vanished = None;
        for _ in 0..NETDEV_READ_ATTEMPTS {
            let mut names = self.netdev_names(device, &net_dir)?;
            if names.is_empty() {
                return Ok(Netdevs::Empty);
            }
            let chosen = want
                .and_then(|want| names.iter().position(|name| name == want))
                .unwrap_or_else(|| self.primary(&net_dir, &names));
            let name = names.remove(chosen);
            match self.read_netdev(device, &net_dir, name) {
                Ok(netdev) => {
                    return Ok(Netdevs::Host {
                        netdev,
                        others: names,
                    })
                }
                Err(Error::Read {
                    device,
                    path,
                    source,
                }) if source.kind() == std::io::ErrorKind::NotFound => {
                    vanished = Some(Error::Read {
                        device,
                        path,
                        source,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Err(vanished.expect("an attempt was made"))
    }

    /// The attributes of netdev `name` in `net_dir`.
    fn read_netdev(&self, device: &Device, net_dir: &Path, name: IfName) -> Result<Netdev, Error> {
        let dir = net_dir.join(name_path(&name));
        let address = dir.join("address");
        let text = self.read_attr(device, &address)?;
        let mac = if text.is_empty() {
            None
        } else {
            Some(text.parse::<HwAddr>().map_err(|_| {
                self.malformed(
                    device,
                    &address,
                    &text,
                    "a hardware address like 02:00:5e:10:00:01, or nothing",
                )
            })?)
        };
        let mtu = self.read_u32(device, &dir.join("mtu"))?;
        let speed = dir.join("speed");
        // The kernel refuses to read `speed` (EINVAL) for some drivers while
        // the link is down, and writes -1 when it does not know the speed.
        let speed_mbps = match self.read_raw(&speed) {
            Ok(text) => {
                let text = text.trim();
                let mbps = text
                    .parse::<i64>()
                    .map_err(|_| self.malformed(device, &speed, text, "a speed in Mb/s, or -1"))?;
                u32::try_from(mbps).ok().filter(|m| *m != u32::MAX)
            }
            Err(_) => None,
        };
        Ok(Netdev {
            name,
            mac,
            mtu,
            speed_mbps,
        })
    }

    /// The PCI function behind `name`, which must be a PF's own netdev: a
    /// switchdev representor sits in its PF's `net/` too, but changing "its"
    /// PF through it would change a PF the caller never named.
    pub(crate) fn pf_netdev_pci_addr(&self, name: &IfName) -> Result<PciAddr, Error> {
        let addr = self.netdev_pci_addr(name)?;
        let rel = PathBuf::from(format!("class/net/{name}/phys_port_name"));
        let (PortRole::Representor, Some(port_name)) = self.port_role_at(&rel) else {
            return Ok(addr);
        };
        // Only on the way to an error: say which netdev to use instead.
        let pf_dir = PathBuf::from(format!("bus/pci/devices/{addr}"));
        let uplink = self
            .primary_netdev_name(&Device::Pf(addr), &pf_dir)
            .ok()
            .flatten()
            .filter(|uplink| uplink != name);
        Err(Error::Representor {
            name: *name,
            path: self.full(&rel),
            port_name,
            uplink,
        })
    }
}

/// A netdev's name as a path component: its bytes, which need not be
/// UTF-8.
fn name_path(name: &IfName) -> &std::path::Path {
    use std::os::unix::ffi::OsStrExt;
    std::path::Path::new(std::ffi::OsStr::from_bytes(name.as_bytes()))
}

/// `virtio` followed by digits: the virtio device under a virtio-pci function.
fn is_virtio_child(name: &str) -> bool {
    name.strip_prefix("virtio").is_some_and(is_number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn port_names_are_told_apart_as_devlink_writes_them() {
        for uplink in ["p0", "p1", "p12"] {
            assert_eq!(port_role(uplink), PortRole::Uplink, "{uplink}");
        }
        for representor in ["pf0vf0", "pf1vf127", "pf0", "pf0sf88", "c1pf0vf3", "c12pf2"] {
            assert_eq!(
                port_role(representor),
                PortRole::Representor,
                "{representor}"
            );
        }
        for other in [
            "", "p", "p0s1", "pf", "pfvf1", "pf0vf", "pf0xf1", "c1", "cpf0vf1", "c1p0", "eth0",
            "p0 ", "pf0vf1x",
        ] {
            assert_eq!(port_role(other), PortRole::Other, "{other:?}");
        }
    }

    #[test]
    fn virtio_children_are_recognised() {
        assert!(is_virtio_child("virtio2"));
        assert!(!is_virtio_child("virtio"));
        assert!(!is_virtio_child("virtio-ports"));
        assert!(!is_virtio_child("net"));
    }

    proptest! {
        #[test]
        fn generated_port_names_get_their_role(
            controller in proptest::option::of(0u32..100),
            pf in 0u32..8,
            function in proptest::option::of((prop_oneof![Just("vf"), Just("sf")], 0u32..256)),
            port in 0u32..8,
        ) {
            let prefix = controller.map(|c| format!("c{c}")).unwrap_or_default();
            let suffix = function.map(|(kind, n)| format!("{kind}{n}")).unwrap_or_default();
            let representor = format!("{prefix}pf{pf}{suffix}");
            prop_assert_eq!(port_role(&representor), PortRole::Representor);
            prop_assert_eq!(port_role(&format!("p{port}")), PortRole::Uplink);
        }

        #[test]
        fn port_role_never_panics(text in "\\PC{0,16}") {
            let _ = port_role(&text);
        }
    }
}
