//! Taking a bond apart and putting its ports back as they were, as far as
//! is still possible, however far the bond got and whatever is gone since.

use std::os::fd::{AsFd, AsRawFd};

use netplumb_netns::{IfName, LinkRef, MacAddr, Netlink};

use crate::error::Step;
use crate::namespace::{Home, Pod};
use crate::nl::PortChange;
use crate::record::{BondRecord, PortRecord};
use crate::view::{self, LinkView};
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
    pod: Option<&Pod<'_>>,
    home: Option<&Home<'_>>,
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
    pod: Option<&Pod<'_>>,
    home: Option<&Home<'_>>,
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
    let links = match view::links(pod.netlink()) {
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
    if let Some(bond) = our_bond(&links, record).filter(|_| delete_bond) {
        bond_index = Some(bond.index);
        match pod.netlink().delete_link(bond.index) {
            Ok(()) => {}
            Err(e) if e.is_no_such_link() => {}
            Err(e) => {
                bond_gone = false;
                r.fail(Step::DeleteBond, None, e);
            }
        }
    }

    for port in &record.ports {
        match links.iter().find(|l| l.name == port.name.as_str()) {
            Some(now) => {
                let enslaved = now.controller.is_some() && now.controller == bond_index;
                r.in_pod(pod.netlink(), port, now, enslaved, enslaved && !bond_gone);
            }
            // A port from home that is not in the pod is back home already,
            // perhaps not yet as it was.
            None if port.from_home => r.at_home(port),
            None => {}
        }
    }
    r.failures
}

/// The bond `record` describes among `links`: a link of kind bond with its
/// name and, when the record knows it, its index. Anything else with that
/// name is not ours to delete.
fn our_bond<'l>(links: &'l [LinkView], record: &BondRecord) -> Option<&'l LinkView> {
    links.iter().find(|l| {
        l.name == record.bond.as_str()
            && l.kind.as_deref() == Some("bond")
            && record.index.is_none_or(|index| index == l.index)
    })
}

struct Restorer<'a> {
    bond: &'a IfName,
    home: Option<&'a Home<'a>>,
    failures: Vec<Error>,
}

impl<'a> Restorer<'a> {
    fn fail(&mut self, step: Step, port: Option<&IfName>, source: netplumb_netns::Error) {
        self.failures.push(Error::Netlink {
            bond: self.bond.clone(),
            step,
            port: port.cloned(),
            source: Box::new(source),
        });
    }

    fn home_needed(&mut self, port: &PortRecord) {
        self.failures.push(Error::HomeNeeded {
            bond: self.bond.clone(),
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
        now: &LinkView,
        enslaved: bool,
        still_enslaved: bool,
    ) {
        let home_fd = match (port.from_home, self.home) {
            (true, Some(home)) => Some(home.ns().as_fd().as_raw_fd()),
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
            ..back_to(port, &Seen::of(now), enslaved || home_fd.is_some())
        };
        self.change(pod, LinkRef::Index(now.index), port, change);
    }

    fn at_home(&mut self, port: &PortRecord) {
        let Some(home) = self.home else {
            self.home_needed(port);
            return;
        };
        let now = match home.netlink().link(&port.name) {
            Ok(now) => LinkView::from(now),
            Err(e) if e.is_no_such_link() => return,
            Err(e) => return self.fail(Step::LookUp, Some(&port.name), e),
        };
        let change = back_to(port, &Seen::of(&now), false);
        self.change(home.netlink(), LinkRef::Index(now.index), port, change);
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
                netlink = home.netlink();
                link = LinkRef::from(&port.name);
                change.netns_fd = None;
            }
        }
        for (what, part) in change.split() {
            match send(netlink, what, &link, &part) {
                Ok(()) => {
                    // Moved home: the rest happens there, under its name.
                    if let (Some(_), Some(home)) = (part.netns_fd, self.home) {
                        netlink = home.netlink();
                        link = LinkRef::from(&port.name);
                    }
                }
                Err(e) if e.is_no_such_link() => return,
                Err(e) => self.fail(Step::RestorePort, Some(&port.name), e),
            }
        }
    }
}

/// What a port looked like when it was last read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    mac: Option<MacAddr>,
    mtu: u32,
    up: bool,
}

impl Seen {
    fn of(link: &LinkView) -> Seen {
        Seen {
            mac: link.mac,
            mtu: link.mtu,
            up: link.up,
        }
    }
}

/// The changes that give a port seen as `now` its recorded MAC, MTU and up
/// state. `closed` says the kernel has closed it since it was seen
/// (releasing or moving a link does), so its up state is set whatever
/// `now` says.
///
/// The MAC is only sent when it differs: a VF whose PF set its MAC refuses
/// any change, even to the MAC it has.
fn back_to(port: &PortRecord, now: &Seen, closed: bool) -> PortChange {
    PortChange {
        mac: (now.mac != Some(port.mac)).then_some(port.mac),
        mtu: (now.mtu != port.mtu).then_some(port.mtu),
        up: (closed || now.up != port.up).then_some(port.up),
        ..PortChange::default()
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests::link;
    use proptest::prelude::*;

    fn record(mac: u8, mtu: u32, up: bool) -> PortRecord {
        PortRecord::new(
            "net1".parse().unwrap(),
            false,
            MacAddr([2, 0, 0, 0, 0, mac]),
            mtu,
            up,
        )
    }

    fn seen(mac: u8, mtu: u32, up: bool) -> Seen {
        Seen {
            mac: Some(MacAddr([2, 0, 0, 0, 0, mac])),
            mtu,
            up,
        }
    }

    #[test]
    fn only_the_recorded_bond_is_ours() {
        let bond = |index, name: &str, kind: Option<&str>| LinkView {
            kind: kind.map(String::from),
            ..link(index, name, index as u8)
        };
        let links = [
            bond(3, "bond0", Some("veth")),
            bond(4, "bond1", Some("bond")),
            bond(5, "bond0", Some("bond")),
        ];
        let mut record = BondRecord::new("bond0".parse().unwrap(), vec![]);
        // Without an index, any bond of that name; never a link of another kind.
        assert_eq!(our_bond(&links, &record).map(|l| l.index), Some(5));
        assert_eq!(our_bond(&links[..2], &record), None);
        record.index = Some(5);
        assert_eq!(our_bond(&links, &record).map(|l| l.index), Some(5));
        // A bond of that name that is another one is left alone.
        record.index = Some(9);
        assert_eq!(our_bond(&links, &record), None);
    }

    #[test]
    fn a_port_as_recorded_needs_nothing() {
        assert!(back_to(&record(1, 1500, true), &seen(1, 1500, true), false).is_empty());
    }

    #[test]
    fn a_closed_port_always_gets_its_up_state() {
        let change = back_to(&record(1, 1500, true), &seen(1, 1500, true), true);
        assert_eq!(
            change,
            PortChange {
                up: Some(true),
                ..PortChange::default()
            }
        );
        let change = back_to(&record(1, 1500, false), &seen(1, 1500, true), true);
        assert_eq!(change.up, Some(false));
    }

    #[test]
    fn only_what_differs_is_sent() {
        // After fail_over_mac none: the bond's MAC and MTU on the port.
        let change = back_to(&record(1, 1500, true), &seen(9, 9000, true), false);
        assert_eq!(
            change,
            PortChange {
                mac: Some(MacAddr([2, 0, 0, 0, 0, 1])),
                mtu: Some(1500),
                ..PortChange::default()
            }
        );
        // A link without a MAC gets the recorded one.
        let no_mac = Seen {
            mac: None,
            ..seen(1, 1500, true)
        };
        assert!(back_to(&record(1, 1500, true), &no_mac, false)
            .mac
            .is_some());
    }

    proptest! {
        #[test]
        fn the_change_leads_back_to_the_record(
            rec in (any::<u8>(), 68u32..9216, any::<bool>()),
            now in (any::<u8>(), 68u32..9216, any::<bool>()),
            closed: bool,
        ) {
            let port = record(rec.0, rec.1, rec.2);
            let now = seen(now.0, now.1, now.2);
            let change = back_to(&port, &now, closed);
            prop_assert_eq!(change.controller, None);
            prop_assert_eq!(change.netns_fd, None);
            // Applying the change to what was seen gives what was recorded.
            let after = Seen {
                mac: change.mac.or(now.mac),
                mtu: change.mtu.unwrap_or(now.mtu),
                up: change.up.unwrap_or(if closed { false } else { now.up }),
            };
            prop_assert_eq!(after, Seen { mac: Some(port.mac), mtu: port.mtu, up: port.up });
        }
    }
}
