//! Taking a bond apart and putting its ports back as they were, as far as
//! is still possible, however far the bond got and whatever is gone since.

use std::os::fd::{AsFd, AsRawFd};

use netplumb_netns::{LinkInfo, LinkRef, Netlink};

use crate::create::Namespace;
use crate::error::Step;
use crate::nl::PortChange;
use crate::record::{BondRecord, PortRecord};
use crate::Error;

/// Deletes the bond and puts every port of `record` back: no controller,
/// its own MAC, its MTU and up state, and (for ports moved in from `home`)
/// back in `home` under its name.
///
/// Idempotent: a bond or port that is already gone is skipped, and
/// releasing twice is the same as once. Pass `pod: None` when the pod's
/// namespace is gone (its bond went with it); ports that came from `home`
/// are then looked for there, where the kernel returns physical devices of
/// a dead namespace. Only a link of kind bond is deleted.
///
/// Every step that can be done is done; when some fail the error is
/// [`Error::ReleaseIncomplete`], listing each.
pub fn release(
    pod: Option<Namespace<'_>>,
    home: Option<Namespace<'_>>,
    record: &BondRecord,
) -> Result<(), Error> {
    let failures = restore(pod, home, record, true);
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::ReleaseIncomplete {
            bond: record.bond.clone(),
            failures,
        })
    }
}

/// Undoes a bond as far as `record` goes, deleting the bond only when
/// `delete_bond`. Returns the steps that failed.
pub(crate) fn restore(
    pod: Option<Namespace<'_>>,
    home: Option<Namespace<'_>>,
    record: &BondRecord,
    delete_bond: bool,
) -> Vec<Error> {
    let mut r = Restorer {
        bond: &record.bond,
        home,
        failures: Vec::new(),
    };
    let Some(pod) = pod else {
        for port in record.ports.iter().filter(|p| p.from_home) {
            r.at_home(port);
        }
        return r.failures;
    };
    let links = match pod.netlink.links() {
        Ok(links) => links,
        Err(e) => {
            r.fail(Step::LookUp, None, e);
            return r.failures;
        }
    };

    // Deleting the bond releases every port at once; the kernel puts back
    // each port's MTU, and its MAC in most modes.
    let mut bond_index = None;
    let mut bond_gone = true;
    if let Some(bond) = links.iter().find(|l| l.name == r.bond) {
        if delete_bond && bond.kind.as_deref() == Some("bond") {
            bond_index = Some(bond.index);
            match pod.netlink.delete_link(bond.index) {
                Ok(()) => {}
                Err(e) if e.is_no_such_link() => {}
                Err(e) => {
                    bond_gone = false;
                    r.fail(Step::DeleteBond, None, e);
                }
            }
        }
    }

    for port in &record.ports {
        match links.iter().find(|l| l.name == port.name) {
            Some(now) => {
                let enslaved = now.controller.is_some() && now.controller == bond_index;
                r.in_pod(pod.netlink, port, now, enslaved, enslaved && !bond_gone);
            }
            // A port from home that is not in the pod is back home already,
            // perhaps not yet as it was.
            None if port.from_home => r.at_home(port),
            None => {}
        }
    }
    r.failures
}

struct Restorer<'a> {
    bond: &'a str,
    home: Option<Namespace<'a>>,
    failures: Vec<Error>,
}

impl<'a> Restorer<'a> {
    fn fail(&mut self, step: Step, port: Option<&str>, source: netplumb_netns::Error) {
        self.failures.push(Error::Netlink {
            bond: self.bond.to_string(),
            step,
            port: port.map(String::from),
            source: Box::new(source),
        });
    }

    fn home_needed(&mut self, port: &PortRecord) {
        self.failures.push(Error::HomeNeeded {
            bond: self.bond.to_string(),
            port: port.name.clone(),
        });
    }

    /// `now` is the port as it was before the bond was deleted. When it was
    /// `enslaved`, deleting the bond has since released it, closed it and
    /// given it back its MTU and (in most modes) its MAC.
    fn in_pod(
        &mut self,
        pod: &'a Netlink,
        port: &PortRecord,
        now: &LinkInfo,
        enslaved: bool,
        still_enslaved: bool,
    ) {
        let home_fd = match (port.from_home, self.home) {
            (true, Some(home)) => Some(home.ns.as_fd().as_raw_fd()),
            (true, None) => {
                self.home_needed(port);
                None
            }
            (false, _) => None,
        };
        if still_enslaved {
            // On its own and first: the kernel applies up/down before the
            // controller, and releasing a port closes it.
            let release = PortChange {
                controller: Some(0),
                ..PortChange::default()
            };
            self.change(pod, LinkRef::Index(now.index), port, release);
        }
        let change = PortChange {
            netns_fd: home_fd,
            mac: wanted_mac(port, now),
            mtu: (now.mtu != port.mtu).then_some(port.mtu),
            // Releasing or moving a port closes it, whatever `now` says.
            up: (enslaved || home_fd.is_some() || now.is_up() != port.up).then_some(port.up),
            controller: None,
        };
        self.change(pod, LinkRef::Index(now.index), port, change);
    }

    fn at_home(&mut self, port: &PortRecord) {
        let Some(home) = self.home else {
            self.home_needed(port);
            return;
        };
        let now = match home.netlink.link(port.name.as_str()) {
            Ok(now) => now,
            Err(e) if e.is_no_such_link() => return,
            Err(e) => return self.fail(Step::LookUp, Some(&port.name), e),
        };
        let change = PortChange {
            mac: wanted_mac(port, &now),
            mtu: (now.mtu != port.mtu).then_some(port.mtu),
            up: (now.is_up() != port.up).then_some(port.up),
            ..PortChange::default()
        };
        self.change(home.netlink, LinkRef::Index(now.index), port, change);
    }

    /// Sends `change` as one message. When the kernel refuses it, sends each
    /// part on its own instead, so that everything that can be put back is
    /// and each failure names what it was about.
    fn change(
        &mut self,
        netlink: &'a Netlink,
        link: LinkRef,
        port: &PortRecord,
        change: PortChange,
    ) {
        if change.is_empty() {
            return;
        }
        match send(netlink, "restore port", &link, &change) {
            Ok(()) => return,
            Err(e) if e.is_no_such_link() => return,
            Err(_) => {}
        }
        let (mut netlink, mut link, mut change) = (netlink, link, change);
        // The kernel moves a link before it makes the other changes, so a
        // message that failed halfway may have moved the port home.
        if let (Some(_), Some(home)) = (change.netns_fd, self.home) {
            if netlink.link(&link).is_err_and(|e| e.is_no_such_link()) {
                netlink = home.netlink;
                link = LinkRef::Name(port.name.clone());
                change.netns_fd = None;
            }
        }
        for (what, part) in change.split() {
            match send(netlink, what, &link, &part) {
                Ok(()) => {
                    // Moved home: the rest happens there, under its name.
                    if let (Some(_), Some(home)) = (part.netns_fd, self.home) {
                        netlink = home.netlink;
                        link = LinkRef::Name(port.name.clone());
                    }
                }
                Err(e) if e.is_no_such_link() => return,
                Err(e) => self.fail(Step::RestorePort, Some(&port.name), e),
            }
        }
    }
}

/// The recorded MAC, when the port does not have it now.
///
/// Never sent when unchanged: a VF whose MAC its PF set refuses any MAC
/// change, even to the MAC it has.
fn wanted_mac(port: &PortRecord, now: &LinkInfo) -> Option<netplumb_netns::MacAddr> {
    (now.mac != Some(port.mac)).then_some(port.mac)
}

fn send(
    netlink: &Netlink,
    what: &str,
    link: &LinkRef,
    change: &PortChange,
) -> Result<(), netplumb_netns::Error> {
    netlink
        .raw_request(what, Some(link), change.message(link)?, 0)
        .map(drop)
}
