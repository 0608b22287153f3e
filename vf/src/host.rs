//! The host side of VF work, and the PF-side settings made through it.

use netplumb_netns::{LinkRef, NetNs, Netlink};

use crate::error::{kernel_error, namespace_error};
use crate::settings::{apply, set_vf_request, Refused, VfAttr, VfSink};
use crate::{Error, IfName, Step, Sysfs, VfConfig, VfId, VfSettings};

/// The host side of VF work: the sysfs tree VFs are discovered in, the
/// host network namespace (where VF netdevs live when no pod has them and
/// where their PFs are), and an rtnetlink client in that namespace.
///
/// ```no_run
/// use netplumb_vf::{Host, Sysfs, Vlan, VfSettings};
/// let host = Host::open(Sysfs::default())?;
/// let vf = host.sysfs().vf("0000:01:10.0".parse()?)?;
/// let undo = host.configure(&vf.id(), &VfSettings {
///     vlan: Some(Vlan::tag(100)?),
///     trust: Some(true),
///     ..Default::default()
/// })?;
/// // ... and later, or when a later step fails:
/// undo.undo(&host)?;
/// # Ok::<(), netplumb_vf::Error>(())
/// ```
#[derive(Debug)]
pub struct Host {
    sysfs: Sysfs,
    ns: NetNs,
    netlink: Netlink,
}

impl Host {
    /// The calling thread's network namespace as the host, with VFs found
    /// in `sysfs`.
    pub fn open(sysfs: Sysfs) -> Result<Host, Error> {
        let here = std::path::Path::new("/proc/thread-self/ns/net");
        let ns = NetNs::current().map_err(namespace_error(here))?;
        let netlink = ns.netlink().map_err(namespace_error(ns.path()))?;
        Ok(Host { sysfs, ns, netlink })
    }

    /// A host made of parts the caller already has; `netlink` must be a
    /// client in `ns`.
    pub fn new(sysfs: Sysfs, ns: NetNs, netlink: Netlink) -> Host {
        Host { sysfs, ns, netlink }
    }

    /// The sysfs tree.
    pub fn sysfs(&self) -> &Sysfs {
        &self.sysfs
    }

    /// The host namespace.
    pub fn ns(&self) -> &NetNs {
        &self.ns
    }

    /// The rtnetlink client in the host namespace; its
    /// [`round_trips`](Netlink::round_trips) count every request made here.
    pub fn netlink(&self) -> &Netlink {
        &self.netlink
    }

    /// The VF's PF-side configuration, read from its PF's VF table.
    ///
    /// A VF without a visible PF (one inside a VM) has none: that is an
    /// [`Error::NoPf`], not an empty configuration.
    pub fn vf_config(&self, vf: &VfId) -> Result<VfConfig, Error> {
        let (pf, index) = pf_of(vf, "read its PF-side settings")?;
        let table = self
            .netlink
            .vfs(pf)
            .map_err(kernel_error(vf, Step::ReadVfTable))?;
        table
            .iter()
            .find(|info| info.index == index)
            .map(VfConfig::from_info)
            .ok_or_else(|| Error::NotInVfTable {
                vf: vf.clone(),
                pf: *pf,
                index,
                entries: table.len(),
            })
    }

    /// Applies PF-side `settings` to the VF and returns what undoes them.
    ///
    /// Reads the VF's configuration first (one round trip), then sends only
    /// the settings that differ from it, all in one message where the
    /// driver takes it. When the kernel refuses the message, the settings
    /// go one per message so the error names the refused one
    /// ([`Error::VfSetting`]), and the ones applied before it are put back:
    /// a refusal leaves the VF as it was. Bad values are refused before
    /// anything is sent ([`Error::InvalidSetting`]). Empty settings change
    /// nothing and need no PF; any other settings on a VF without a visible
    /// PF are an [`Error::NoPf`].
    pub fn configure(&self, vf: &VfId, settings: &VfSettings) -> Result<SettingsUndo, Error> {
        if settings.is_empty() {
            return Ok(SettingsUndo::nothing(vf));
        }
        let current = self.vf_config(vf)?;
        self.configure_from(vf, &current, settings)
    }

    /// [`configure`](Self::configure) for a VF whose configuration the
    /// caller has just read (from a [`VfState`](crate::VfState), say), which
    /// saves reading it again.
    pub fn configure_from(
        &self,
        vf: &VfId,
        current: &VfConfig,
        settings: &VfSettings,
    ) -> Result<SettingsUndo, Error> {
        let changes = settings.changes_from(current)?;
        if changes.is_empty() {
            return Ok(SettingsUndo::nothing(vf));
        }
        let (pf, index) = pf_of(vf, "change its PF-side settings")?;
        let sink = PfSink {
            netlink: &self.netlink,
            pf: LinkRef::from(pf),
            index,
        };
        match apply(&sink, &changes) {
            Ok(()) => Ok(SettingsUndo {
                vf: vf.clone(),
                restore: VfSettings::undoing(&changes, current),
            }),
            Err(Refused { index, source }) => {
                let (revert, mut not_restored) = VfSettings::reverting(&changes[..index], current);
                // Nothing applied before the refused one: nothing to send.
                let reverted = match revert.is_empty() {
                    true => Ok(()),
                    false => apply(&sink, &revert),
                };
                if let Err(refused) = reverted {
                    not_restored.extend(revert[refused.index..].iter().map(VfAttr::attribute));
                }
                not_restored.sort();
                Err(Error::VfSetting {
                    vf: vf.clone(),
                    attribute: changes[index].attribute(),
                    value: changes[index].to_string(),
                    source: Box::new(source),
                    not_restored,
                })
            }
        }
    }
}

/// What undoes a [`Host::configure`]: the settings that were changed, with
/// the values they had. Serializes, so it can be journalled before the next
/// step and replayed after a crash.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct SettingsUndo {
    /// The VF.
    pub vf: VfId,
    /// The settings that put it back.
    pub restore: VfSettings,
}

impl SettingsUndo {
    fn nothing(vf: &VfId) -> SettingsUndo {
        SettingsUndo {
            vf: vf.clone(),
            restore: VfSettings::default(),
        }
    }

    /// Whether there is nothing to undo.
    pub fn is_empty(&self) -> bool {
        self.restore.is_empty()
    }

    /// Puts the settings back. Settings that already hold are not sent, so
    /// undoing twice is harmless.
    pub fn undo(&self, host: &Host) -> Result<(), Error> {
        host.configure(&self.vf, &self.restore).map(drop)
    }
}

/// The PF netdev and VF index that PF-side requests for `vf` go through.
pub(crate) fn pf_of<'a>(vf: &'a VfId, what: &'static str) -> Result<(&'a IfName, u32), Error> {
    let no_pf = |reason| Error::NoPf {
        vf: vf.clone(),
        what,
        reason,
    };
    let index = vf
        .index
        .ok_or_else(|| no_pf("it has no visible PF (a VF passed into a VM has none)"))?;
    let pf = vf.pf.as_ref().ok_or_else(|| {
        no_pf("its PF has no netdev in the host namespace to send the request to")
    })?;
    Ok((pf, index))
}

/// VF attribute changes sent to the PF.
struct PfSink<'a> {
    netlink: &'a Netlink,
    pf: LinkRef,
    index: u32,
}

impl VfSink for PfSink<'_> {
    fn send(&self, attrs: &[VfAttr]) -> Result<(), netplumb_netns::Error> {
        let request = set_vf_request(&self.pf, self.index, attrs)?;
        let what = format!("set VF {} settings", self.index);
        self.netlink
            .raw_request(&what, Some(&self.pf), request, 0)
            .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{VfAttribute, Vlan};
    use netplumb_netns::testing::{Answer, FakeKernel, Request};
    use netplumb_netns::{Errno, VfInfo};

    #[test]
    fn a_refused_setting_whose_revert_fails_names_what_was_not_restored() {
        let kernel = FakeKernel::new();
        kernel
            // All at once: refused.
            .expect(
                Request::SetLink,
                Answer::error(Errno::EINVAL, "bad combination"),
            )
            // One by one: VLAN and spoof check go through, trust is refused.
            .expect(Request::SetLink, Answer::Ack)
            .expect(Request::SetLink, Answer::Ack)
            .expect(
                Request::SetLink,
                Answer::error(Errno::EOPNOTSUPP, "no trust here"),
            )
            // Putting VLAN and spoof check back: together, then alone; the
            // spoof check will not go back.
            .expect(Request::SetLink, Answer::error(Errno::EIO, "PF busy"))
            .expect(Request::SetLink, Answer::Ack)
            .expect(Request::SetLink, Answer::error(Errno::EIO, "PF busy"));
        let host = Host::new(
            Sysfs::new("/nonexistent"),
            kernel.namespace("/proc/self/ns/net"),
            kernel.netlink(),
        );
        let vf = VfId::on_pf("0000:01:10.2".parse().unwrap(), "eth0".parse().unwrap(), 1);
        let mut before = VfInfo::new(1);
        before.spoofchk = Some(true);
        before.trust = Some(false);
        let current = VfConfig::from_info(&before);
        let settings = VfSettings {
            vlan: Some(Vlan::tag(100).unwrap()),
            spoofchk: Some(false),
            trust: Some(true),
            ..Default::default()
        };
        let err = host.configure_from(&vf, &current, &settings).unwrap_err();
        kernel.finish();
        let Error::VfSetting {
            attribute,
            not_restored,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(*attribute, VfAttribute::Trust);
        assert_eq!(not_restored, &[VfAttribute::SpoofChk]);
        assert_eq!(err.kind(), netplumb_types::ErrorKind::Refused);
        assert_eq!(
            err.netlink_error().and_then(|e| e.ext_ack()),
            Some("no trust here")
        );
        let text = err.to_string();
        assert!(text.ends_with("failed for spoofchk"), "{text}");
    }
}
