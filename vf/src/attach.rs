//! Moving a VF's netdev into a pod, and bringing it back.

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::time::Duration;

use netplumb_netns::{LinkChange, LinkInfo, MacAddr, NetNs, Netlink};

use crate::error::{kernel_error, namespace_error};
use crate::state::{drop_alt_names, remembering, restoring, Found};
use crate::{Error, Host, IfName, NetdevState, Returned, Step, VfId, VfSettings, VfState};

/// How long [`Host::detach`] waits for a netdev whose namespace was deleted
/// to show up in the host namespace: the kernel hands physical devices back
/// from a work queue, a little after the namespace's last user is gone.
pub const RETURN_WAIT: Duration = Duration::from_secs(10);

/// A network namespace as records name it: the path it was opened from and
/// the identity it had then.
///
/// A path like `/run/netns/pod` or `/proc/PID/ns/net` can outlive its
/// namespace or come to lead to another one; the identity tells.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct NsRef {
    /// The path it was opened from.
    pub path: PathBuf,
    /// Device number of its nsfs file.
    pub dev: u64,
    /// Inode number of its nsfs file.
    pub ino: u64,
}

impl NsRef {
    /// The reference to an open namespace.
    pub fn of(ns: &NetNs) -> NsRef {
        let id = ns.id();
        NsRef {
            path: ns.path().to_path_buf(),
            dev: id.dev,
            ino: id.ino,
        }
    }

    /// The namespace file at `path`, identified by its device and inode
    /// without opening it. Unlike [`NsRef::of`], nothing checks that it is
    /// a network namespace.
    pub fn stat(path: impl Into<PathBuf>) -> Result<NsRef, Error> {
        let path = path.into();
        let meta = std::fs::metadata(&path).map_err(|source| Error::State {
            action: "stat",
            path: path.clone(),
            source,
        })?;
        Ok(NsRef {
            dev: meta.dev(),
            ino: meta.ino(),
            path,
        })
    }

    /// Opens the namespace again; `None` when the path is gone or now
    /// leads to another namespace.
    pub fn reopen(&self) -> Result<Option<NetNs>, Error> {
        match NetNs::open(&self.path) {
            Ok(ns) if ns.id().dev == self.dev && ns.id().ino == self.ino => Ok(Some(ns)),
            Ok(_)
            | Err(netplumb_netns::Error::NamespaceGone { .. })
            | Err(netplumb_netns::Error::NotNamespace { .. }) => Ok(None),
            Err(e) => Err(namespace_error(&self.path)(e)),
        }
    }
}

/// How a VF's netdev is to appear in a pod.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttachSpec {
    /// Its name in the pod.
    pub name: IfName,
    /// Its MAC: set through the PF as the VF's administrative MAC (when a
    /// PF is visible) and on the netdev itself. `None` keeps the MAC.
    pub mac: Option<MacAddr>,
    /// Its MTU; `None` keeps the MTU.
    pub mtu: Option<u32>,
}

impl AttachSpec {
    /// Named `name` in the pod, MAC and MTU kept.
    pub fn new(name: IfName) -> AttachSpec {
        AttachSpec {
            name,
            mac: None,
            mtu: None,
        }
    }

    /// With MAC `mac`.
    pub fn mac(mut self, mac: MacAddr) -> AttachSpec {
        self.mac = Some(mac);
        self
    }

    /// With MTU `mtu`.
    pub fn mtu(mut self, mtu: u32) -> AttachSpec {
        self.mtu = Some(mtu);
        self
    }
}

/// What undoes a [`Host::attach`]: where the netdev went, and how it was
/// before. Serializes, so it can be journalled before the move and replayed
/// by a later DEL, even after a crash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct AttachUndo {
    /// The VF.
    pub vf: VfId,
    /// The pod's namespace.
    pub pod: NsRef,
    /// The netdev's name in the pod.
    pub pod_name: IfName,
    /// The netdev as it was in the host namespace.
    pub host: NetdevState,
    /// The PF-side settings to put back: the administrative MAC, when a
    /// PF is visible.
    pub pf_side: VfSettings,
}

impl AttachUndo {
    /// What [`Host::attach`] of these arguments will hand back, for
    /// journalling before the move. Fails as attach does for a VF without a
    /// netdev ([`Error::NoNetdev`]) or a multicast or zero MAC
    /// ([`Error::InvalidSetting`]).
    pub fn new(state: &VfState, pod: &NetNs, spec: &AttachSpec) -> Result<AttachUndo, Error> {
        let vf = &state.vf;
        let host = state.netdev.as_ref().ok_or_else(|| Error::NoNetdev {
            vf: vf.clone(),
            what: "move it into a pod",
            reason: "it has no netdev (a userspace driver or no driver holds it)".into(),
        })?;
        if let Some(mac) = spec.mac.filter(|m| !m.is_valid_unicast()) {
            return Err(Error::InvalidSetting {
                field: "mac",
                value: mac.to_string(),
                expected: "a unicast MAC (first octet even) that is not all zeros",
            });
        }
        // The administrative MAC is put back even when attach leaves it: a
        // VF that sets its own MAC shows it in its PF's table (igb does),
        // and bringing the netdev back sets its MAC. What goes back is what
        // VfState::admin_mac_to_restore says.
        let pf_side = match &state.config {
            Some(_) => VfSettings {
                mac: Some(state.admin_mac_to_restore()),
                ..Default::default()
            },
            None => VfSettings::default(),
        };
        Ok(AttachUndo {
            vf: vf.clone(),
            pod: NsRef::of(pod),
            pod_name: spec.name,
            host: host.clone(),
            pf_side,
        })
    }
}

impl Host {
    /// Moves the VF's netdev into `pod` as `spec.name`, with `spec`'s MAC
    /// and MTU, and brings it up.
    ///
    /// `state` is the VF's [`snapshot`](Self::snapshot), taken before. The
    /// netdev moves, is renamed, gets its MAC, MTU and an alias naming its
    /// host name, and comes up, all in one `RTM_SETLINK`; then the MAC goes
    /// to the PF as the VF's administrative MAC (when a PF is visible and
    /// the MAC differs). So an attach costs two round trips, or one without
    /// a new MAC. What it returns is [`AttachUndo::new`] of the same
    /// arguments, which a caller can journal before calling.
    ///
    /// On failure everything done is undone (the netdev is brought back if
    /// it moved) before the error is returned. A VF without a netdev (a
    /// DPDK VF) is not moved: [`Error::NoNetdev`]; its PF-side settings
    /// still work through [`configure`](Self::configure).
    pub fn attach(
        &self,
        state: &VfState,
        pod: &NetNs,
        spec: &AttachSpec,
    ) -> Result<AttachUndo, Error> {
        let undo = AttachUndo::new(state, pod, spec)?;
        let vf = &state.vf;
        let host = &undo.host;
        let mut change = LinkChange::new()
            .namespace(pod)
            .name(spec.name)
            .alias(remembering(&host.name))
            .up(true);
        if let Some(mac) = spec.mac.filter(|m| *m != host.mac) {
            change = change.mac(mac);
        }
        if let Some(mtu) = spec.mtu.filter(|m| *m != host.mtu) {
            change = change.mtu(mtu);
        }
        // By index: the request's name slot carries the new name.
        let moved = self
            .netlink()
            .change_link(host.index, &change)
            .map_err(kernel_error(
                vf,
                Step::MoveIntoPod {
                    netdev: host.name,
                    pod: pod.path().to_path_buf(),
                    name: spec.name,
                },
            ));
        // The VF sets its own MAC (in the move) before the PF sets it as
        // the administrative one: igb refuses a VF's own MAC change once
        // the PF has set one for it, while this order suits both.
        let pf_side = moved.and_then(|_| match (spec.mac, &state.config) {
            (Some(mac), Some(config)) => {
                let settings = VfSettings {
                    mac: Some(mac),
                    ..Default::default()
                };
                self.configure_from(vf, config, &settings).map(drop)
            }
            _ => Ok(()),
        });
        match pf_side {
            Ok(()) => Ok(undo),
            // The kernel moves the netdev before anything else in the
            // message, so a later refusal (MTU, MAC, name) leaves it in the
            // pod; bring it back, and say so when that fails too.
            Err(failure) => match self.detach_in(&undo, Some(pod)) {
                Ok(_) => Err(failure),
                Err(undo_error) => Err(Error::AttachUndoFailed {
                    failure: Box::new(failure),
                    undo_error: Box::new(undo_error),
                    undo: Box::new(undo),
                }),
            },
        }
    }

    /// Puts back the PF-side settings attach changed, and brings the VF's
    /// netdev back from the pod into the host namespace under its original
    /// name, with its MAC, MTU, alias and up/down state as before.
    ///
    /// The netdev is looked for in the pod (by its pod name, else by PCI
    /// address among the pod's links), else in the host namespace by PCI
    /// address: when the pod's namespace was deleted, the kernel has already
    /// handed it back, possibly as `devN`, and this waits up to
    /// [`RETURN_WAIT`] for that to happen. When the original name is taken,
    /// the netdev comes back under another and the outcome says so
    /// ([`Returned::NameTaken`]); detaching again later takes the name back
    /// once it is free. Detaching a VF that is already back is harmless.
    pub fn detach(&self, undo: &AttachUndo) -> Result<Returned, Error> {
        let pod = undo.pod.reopen()?;
        self.detach_in(undo, pod.as_ref())
    }

    fn detach_in(&self, undo: &AttachUndo, pod: Option<&NetNs>) -> Result<Returned, Error> {
        // PF-side first, as in `restore`.
        let pf_side = self.configure(&undo.vf, &undo.pf_side);
        let returned = self.bring_back(undo, pod)?;
        pf_side?;
        self.settle_pf_side(&undo.vf, &undo.pf_side, Some(&undo.host))?;
        Ok(returned)
    }

    /// Brings the netdev back to the host namespace and restores it.
    fn bring_back(&self, undo: &AttachUndo, pod: Option<&NetNs>) -> Result<Returned, Error> {
        let vf = &undo.vf;
        let in_pod = match pod {
            Some(pod) => {
                let find_in_pod = || {
                    let netlink = pod.netlink()?;
                    let found = find_netdev(&netlink, vf, &undo.pod_name)?;
                    Ok(found.map(|found| (netlink, found)))
                };
                find_in_pod().map_err(kernel_error(
                    vf,
                    Step::FindInPod {
                        pod: pod.path().to_path_buf(),
                    },
                ))?
            }
            None => None,
        };
        match in_pod {
            Some((netlink, found)) => self.move_back(&netlink, undo, &found),
            None => {
                let wait = if pod.is_some() {
                    Duration::ZERO
                } else {
                    RETURN_WAIT
                };
                let found = self.wait_in_host(vf, wait)?;
                self.fix_up_in_host(vf, &undo.host, &found)
            }
        }
    }

    /// Moves the netdev `found` in the pod (`netlink`) back to the host.
    fn move_back(
        &self,
        netlink: &Netlink,
        undo: &AttachUndo,
        found: &Found,
    ) -> Result<Returned, Error> {
        let host = &undo.host;
        // Alternative names the pod added go while the netdev is still in
        // the pod: a kernel that keeps a moved netdev's alternative names in
        // the namespace they were added in (5.10) finds them nowhere else.
        drop_alt_names(netlink, &undo.vf, host, found, false)?;
        let name_free = self.name_is_free(&undo.vf, &host.name, None)?;
        let change = restoring(host, name_free).namespace(self.ns());
        // Without its own name, the kernel picks a free devN, as it does
        // for devices of a deleted namespace.
        let (change, name) = if name_free {
            (change.name(host.name), host.name)
        } else {
            (change.numbered_name(dev_prefix()), dev_prefix())
        };
        netlink
            .change_link(found.index, &change)
            .map_err(kernel_error(
                &undo.vf,
                Step::MoveToHost {
                    netdev: found.name,
                    name,
                },
            ))?;
        let now = self.wait_in_host(&undo.vf, Duration::ZERO)?;
        self.restore_alt_names(&undo.vf, host, &now)?;
        if name_free {
            return Ok(Returned::AsBefore);
        }
        Ok(Returned::NameTaken {
            wanted: host.name,
            got: now.name,
        })
    }
}

/// `dev`, the prefix the kernel names homeless devices with.
fn dev_prefix() -> IfName {
    IfName::new("dev").expect("a valid name")
}

/// The VF's netdev among the links `netlink` sees: the link named `name`
/// if it is the VF's, else any link that is. A link is the VF's when the
/// device it sits on ([`Netlink::device_of`]) is the VF's PCI function:
/// never by its name, alias or MAC, which the pod can give any link.
fn find_netdev(
    netlink: &Netlink,
    vf: &VfId,
    name: &IfName,
) -> Result<Option<Found>, netplumb_netns::Error> {
    let addr = vf.addr.to_string();
    // A link that went while it was looked at is not the VF's.
    let ours = |link: &LinkInfo| match netlink.device_of(link) {
        Ok(device) => Ok(device.as_deref() == Some(addr.as_str())),
        Err(e) if e.is_no_such_link() => Ok(false),
        Err(e) => Err(e),
    };
    match netlink.link(name) {
        Ok(link) if ours(&link)? => return Ok(Some(Found::from_link(&link))),
        Ok(_) => {}
        Err(e) if e.is_no_such_link() => {}
        Err(e) => return Err(e),
    }
    let links = netlink.links()?;
    let devices = netlink.devices_of(&links)?;
    Ok(links
        .iter()
        .zip(devices)
        .find(|(_, device)| device.as_deref() == Some(addr.as_str()))
        .map(|(link, _)| Found::from_link(link)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alias;
    use crate::VfConfig;
    use netplumb_netns::testing::{Answer, FakeKernel, Request};
    use netplumb_netns::LinkInfo;

    fn link(index: u32, name: &str, up: bool) -> LinkInfo {
        let mut link = LinkInfo::new(index, name.parse().unwrap());
        link.flags = if up { libc_iff_up() } else { 0 };
        link
    }

    fn libc_iff_up() -> u32 {
        1
    }

    fn on_pci(mut link: LinkInfo, addr: &str) -> LinkInfo {
        link.parent_bus = Some("pci".into());
        link.parent_device = Some(addr.into());
        link
    }

    fn vf() -> VfId {
        VfId::on_pf("0000:01:10.2".parse().unwrap(), "eth0".parse().unwrap(), 1)
    }

    #[test]
    fn the_vf_is_known_by_the_device_under_it_not_by_its_name() {
        let named = on_pci(link(9, "net1", true), "0000:01:10.2");
        let kernel = FakeKernel::new();
        kernel.expect(Request::GetLink, Answer::link(named.clone()));
        let found = find_netdev(&kernel.netlink(), &vf(), &name("net1")).unwrap();
        assert_eq!(
            found,
            Some(Found {
                index: 9,
                name: "net1".parse().unwrap(),
                up: true,
                alt_names: Vec::new(),
            })
        );
        kernel.finish();

        // The pod renamed the VF and gave its name, the alias attach set
        // and the VF's permanent MAC to a veth: the veth is passed over.
        let mut forged = link(12, "net1", true);
        forged.alias = Some(Alias::new("netplumb-host-name:eth4").unwrap());
        forged.permanent_mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
        let mut other_vf = on_pci(link(10, "net2", true), "0000:01:10.4");
        other_vf.alias = forged.alias.clone();
        let renamed = on_pci(link(9, "hidden", true), "0000:01:10.2");
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::GetLink, Answer::link(forged.clone()))
            .expect(Request::BusInfo, Answer::BusInfo(String::new()))
            .expect(Request::GetLink, Answer::link(forged.clone()))
            .expect(
                Request::DumpLinks,
                Answer::Links(vec![forged, other_vf, renamed]),
            );
        let found = find_netdev(&kernel.netlink(), &vf(), &name("net1")).unwrap();
        assert_eq!(found.map(|f| (f.index, f.name)), Some((9, name("hidden"))));
        kernel.finish();
    }

    #[test]
    fn on_a_kernel_without_parents_the_driver_names_the_device() {
        // Before 5.16 no link reports a parent: each link is asked, and
        // only the one whose driver names the VF's function is taken.
        let veth = link(12, "net1", true);
        let vf_link = link(9, "dev3", false);
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::GetLink, Answer::link(veth.clone()))
            .expect(Request::BusInfo, Answer::BusInfo(String::new()))
            .expect(Request::GetLink, Answer::link(veth.clone()))
            .expect(
                Request::DumpLinks,
                Answer::Links(vec![veth.clone(), vf_link.clone()]),
            )
            .expect(Request::BusInfo, Answer::BusInfo(String::new()))
            .expect(Request::GetLink, Answer::link(veth))
            .expect(Request::BusInfo, Answer::BusInfo("0000:01:10.2".into()))
            .expect(Request::GetLink, Answer::link(vf_link));
        let found = find_netdev(&kernel.netlink(), &vf(), &name("net1")).unwrap();
        assert_eq!(found.map(|f| (f.index, f.name)), Some((9, name("dev3"))));
        kernel.finish();

        // Nothing there is the VF's.
        let kernel = FakeKernel::new();
        kernel
            .expect(
                Request::GetLink,
                Answer::error(netplumb_netns::Errno::ENODEV, "no such device"),
            )
            .expect(Request::DumpLinks, Answer::Links(vec![link(1, "lo", true)]))
            .expect(Request::BusInfo, Answer::BusInfo(String::new()))
            .expect(Request::GetLink, Answer::link(link(1, "lo", true)));
        assert_eq!(
            find_netdev(&kernel.netlink(), &vf(), &name("net1")).unwrap(),
            None
        );
        kernel.finish();
    }

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn state(config: bool, netdev: bool) -> VfState {
        let config = config.then_some(VfConfig {
            mac: MacAddr([2, 0, 0, 0, 0, 7]),
            vlan: crate::Vlan::NONE,
            spoofchk: Some(true),
            trust: Some(false),
            link_state: crate::VfLinkState::Auto,
            min_tx_rate: 0,
            max_tx_rate: 0,
        });
        let netdev = netdev.then_some(NetdevState {
            name: "eth4".parse().unwrap(),
            index: 7,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            permanent_mac: None,
            mtu: 1500,
            up: false,
            alias: None,
            promisc: false,
            allmulti: false,
            alt_names: Vec::new(),
        });
        VfState {
            vf: VfId::on_pf("0000:01:10.2".parse().unwrap(), "eth0".parse().unwrap(), 1),
            config,
            netdev,
        }
    }

    #[test]
    fn the_undo_is_known_before_the_move() {
        let pod = NetNs::current().unwrap();
        let spec = AttachSpec::new("net1".parse().unwrap()).mac(MacAddr([2, 0, 0, 0, 0, 9]));
        let undo = AttachUndo::new(&state(true, true), &pod, &spec).unwrap();
        assert_eq!(undo.pod, NsRef::of(&pod));
        assert_eq!(undo.pod_name, "net1");
        assert_eq!(undo.host.name, "eth4");
        assert_eq!(undo.pf_side.mac, Some(MacAddr([2, 0, 0, 0, 0, 7])));
        let in_a_vm = AttachUndo::new(&state(false, true), &pod, &spec).unwrap();
        assert!(in_a_vm.pf_side.is_empty());
    }

    #[test]
    fn dpdk_vfs_and_bad_macs_are_refused_before_anything_moves() {
        let pod = NetNs::current().unwrap();
        let spec = AttachSpec::new("net1".parse().unwrap());
        let err = AttachUndo::new(&state(true, false), &pod, &spec).unwrap_err();
        assert!(matches!(err, Error::NoNetdev { .. }), "{err}");
        for mac in [MacAddr([1, 0, 0x5e, 0, 0, 1]), MacAddr::default()] {
            let err =
                AttachUndo::new(&state(true, true), &pod, &spec.clone().mac(mac)).unwrap_err();
            assert!(
                matches!(err, Error::InvalidSetting { field: "mac", .. }),
                "{err}"
            );
        }
    }

    #[test]
    fn undo_records_round_trip_through_json() {
        let undo = AttachUndo {
            vf: VfId::on_pf("0000:01:10.2".parse().unwrap(), "eth0".parse().unwrap(), 1),
            pod: NsRef {
                path: "/run/netns/pod".into(),
                dev: 4,
                ino: 4026532,
            },
            pod_name: "net1".parse().unwrap(),
            host: NetdevState {
                alias: Some(Alias::new("uplink").unwrap()),
                ..state(true, true).netdev.unwrap()
            },
            pf_side: VfSettings {
                mac: Some(MacAddr::default()),
                ..Default::default()
            },
        };
        let json = serde_json::to_string(&undo).unwrap();
        assert_eq!(serde_json::from_str::<AttachUndo>(&json).unwrap(), undo);
        let bad = json.replace("\"eth4\"", "\"eth/4\"");
        assert!(serde_json::from_str::<AttachUndo>(&bad).is_err());
    }

    #[test]
    fn an_attach_whose_undo_fails_too_says_the_netdev_may_be_in_the_pod() {
        use netplumb_netns::{Errno, VfInfo};
        let kernel = FakeKernel::new();
        let before = state(true, true);
        let mut pf = LinkInfo::new(2, "eth0".parse().unwrap());
        pf.vfs = vec![VfInfo::new(0), {
            let mut vf1 = VfInfo::new(1);
            vf1.mac = before.config.as_ref().unwrap().mac;
            vf1
        }];
        kernel
            // The move into the pod, with the MAC, in one message.
            .expect(Request::SetLink, Answer::Ack)
            // The PF refuses the administrative MAC.
            .expect(
                Request::SetLink,
                Answer::error(Errno::EPERM, "admin MAC refused"),
            )
            // Undo: the PF side is still as it was ...
            .expect(Request::GetLink, Answer::link(pf))
            // ... but the pod cannot be read to find the netdev in.
            .expect(
                Request::GetLink,
                Answer::error(Errno::EIO, "pod unreadable"),
            );
        let host = Host::new(
            crate::Sysfs::new("/nonexistent"),
            kernel.namespace("/proc/self/ns/net"),
            kernel.netlink(),
        );
        let pod = kernel.namespace("/run/netns/pod");
        let spec = AttachSpec::new("net1".parse().unwrap()).mac(MacAddr([2, 0, 0, 0, 0, 9]));
        let err = host.attach(&before, &pod, &spec).unwrap_err();
        kernel.finish();
        let Error::AttachUndoFailed {
            failure,
            undo_error,
            undo,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(failure.attribute(), Some(crate::VfAttribute::Mac));
        assert!(matches!(
            undo_error.step(),
            Some(Step::FindInPod { pod }) if pod.as_os_str() == "/run/netns/pod"
        ));
        assert_eq!(undo.pod_name, "net1");
        assert_eq!(
            err.attribute(),
            Some(crate::VfAttribute::Mac),
            "looks through"
        );
        let text = err.to_string();
        assert!(text.contains("admin MAC refused"), "{text}");
        assert!(text.contains("pod unreadable"), "{text}");
        assert!(
            text.ends_with("its netdev may still be in /run/netns/pod"),
            "{text}"
        );
    }
}
