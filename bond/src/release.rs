//! Taking a bond apart and putting its ports back as they were, as far as
//! is still possible, however far the bond got and whatever is gone since.

use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

use netplumb_netns::{IfName, LinkRef, NetNs, Netlink};

use crate::error::Step;
use crate::namespace::{Home, Pod};
use crate::nl::PortChange;
use crate::record::{BondRecord, PortRecord};
use crate::view::{self, LinkView};
use crate::Error;

/// How long [`release`] waits for the ports of a pod that is gone: the
/// kernel hands a dead namespace's devices back to the initial namespace
/// in the background, some time after the namespace is unreachable.
pub const PORT_RETURN_WAIT: Duration = Duration::from_secs(2);

/// How often a port still on its way back is looked for.
const PORT_RETURN_POLL: Duration = Duration::from_millis(100);

/// Where the kernel returns the devices of a namespace that is deleted.
const INITIAL_NAMESPACE: &str = "/proc/1/ns/net";

/// What [`release`] did not find.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
#[must_use = "ports release did not find are left where they are"]
pub struct Released {
    /// Ports of the record that were nowhere to be found, so nothing was
    /// put back on them: not in the pod, and (for ports from home) neither
    /// at home nor in the initial namespace, where the kernel returns the
    /// devices of a deleted pod. Empty when every port was found.
    pub missing: Vec<IfName>,
}

/// Deletes the bond and puts every port of `record` back: no controller,
/// its own name, MAC, MTU and up state, and (for ports moved in from
/// `home`) back in `home`.
///
/// Idempotent: a bond that is already gone is skipped, and releasing twice
/// is the same as once. Only a link of kind bond with the recorded name
/// (and index, when the record has it) is deleted. Ports are told apart by
/// their permanent MAC where the driver has one, else by their MAC, or by
/// name and index together; a name alone is never enough.
///
/// Pass `pod: None` when the pod's namespace is gone (its bond went with
/// it). The kernel then returns the pod's devices to the initial
/// namespace, renaming one to `devN` when its name is taken there, and
/// does so in the background: ports that came from `home` are looked for
/// in `home` and in the initial namespace, for up to
/// [`PORT_RETURN_WAIT`], and are moved into `home` and renamed back as
/// needed. Ports that started in the pod went with it and are not looked
/// for.
///
/// Ports nowhere to be found are listed in [`Released::missing`]. Every
/// step that can be done is done; when some fail the error is
/// [`Error::ReleaseIncomplete`], listing each, and the missing ports too.
pub fn release(
    pod: Option<&Pod<'_>>,
    home: Option<&Home<'_>>,
    record: &BondRecord,
) -> Result<Released, Error> {
    let outcome = restore(pod, home, record, true);
    if outcome.failures.is_empty() {
        Ok(Released {
            missing: outcome.missing,
        })
    } else {
        Err(Error::ReleaseIncomplete {
            bond: record.bond.clone(),
            failures: outcome.failures,
            missing: outcome.missing,
        })
    }
}

/// What undoing a bond left undone.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// The steps that failed.
    pub failures: Vec<Error>,
    /// The ports not found.
    pub missing: Vec<IfName>,
}

/// Undoes a bond as far as `record` goes, deleting the bond only when
/// `delete_bond`.
pub(crate) fn restore(
    pod: Option<&Pod<'_>>,
    home: Option<&Home<'_>>,
    record: &BondRecord,
    delete_bond: bool,
) -> Outcome {
    let mut r = Restorer {
        bond: &record.bond,
        home,
        initial: Initial::NotOpened,
        outcome: Outcome::default(),
    };
    let from_home = || record.ports.iter().filter(|p| p.from_home).collect();
    let Some(pod) = pod else {
        r.elsewhere(from_home(), Search::PodGone);
        return r.outcome;
    };
    let Some((links, bond_index)) = r.pod_links(pod, record, delete_bond) else {
        r.elsewhere(from_home(), Search::PodUnreadable);
        return r.outcome;
    };
    let mut elsewhere = Vec::new();
    // A bond still there wears a port's MAC, but is none of them.
    let mut claimed: Vec<u32> = bond_index.into_iter().collect();
    for port in &record.ports {
        let place = if port.from_home {
            Where::Elsewhere
        } else {
            Where::Origin
        };
        match find_port(port, &links, bond_index, &claimed, place) {
            Some(now) => {
                claimed.push(now.index);
                r.in_pod(pod, port, now, bond_index);
            }
            None if port.from_home => elsewhere.push(port),
            None => r.outcome.missing.push(port.name.clone()),
        }
    }
    r.elsewhere(elsewhere, Search::NotInPod);
    r.outcome
}

/// Why ports from home are looked for outside the pod, which decides where
/// and how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Search {
    /// The pod is gone: its devices are on their way to the initial
    /// namespace, and may take a while.
    PodGone,
    /// The pod could not be read: ports may still be in it, so none counts
    /// as missing.
    PodUnreadable,
    /// They are not in the pod, which is alive (and holds its devices).
    NotInPod,
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

/// Whether a namespace is the one the port's recorded index is from (the
/// one it started in), or another: indexes are per namespace, and the same
/// number names unrelated links in two of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Origin,
    Elsewhere,
}

/// The link among `links` that is the port `port` records, other than
/// those `claimed` already.
///
/// The link must have the recorded permanent MAC, or wear the recorded MAC
/// (deleting a bond gives its ports theirs back), or be enslaved to the
/// bond (`bond_index`, while it still exists), or, in the namespace the
/// port started in, have both the recorded name and index: a name alone
/// may belong to anything. A different permanent MAC does not rule a link
/// out, as some drivers (igbvf) make the MAC in use at a reset their
/// permanent one. Among several, the one with the permanent MAC wins, then
/// the MAC, then the name, then the index.
fn find_port<'l>(
    port: &PortRecord,
    links: &'l [LinkView],
    bond_index: Option<u32>,
    claimed: &[u32],
    place: Where,
) -> Option<&'l LinkView> {
    let likeness = |l: &LinkView| {
        let permanent = port.permanent_mac.is_some() && l.permanent_mac == port.permanent_mac;
        let mac = l.mac == Some(port.mac);
        let name = l.name == port.name.as_str();
        let index = place == Where::Origin && Some(l.index) == port.index;
        (permanent, mac, name, index)
    };
    links
        .iter()
        .filter(|l| !claimed.contains(&l.index))
        .filter(|l| {
            let (permanent, mac, name, index) = likeness(l);
            let enslaved = bond_index.is_some() && l.controller == bond_index;
            permanent || mac || enslaved || (name && index)
        })
        .max_by_key(|l| likeness(l))
}

/// The changes that give a port seen as `now` its recorded name, MAC, MTU
/// and up state. `closed` says the kernel closes it before these apply
/// (moving a link to another namespace does), so its up state is set
/// whatever `now` says.
///
/// The MAC is only sent when it differs: a VF whose PF set its MAC refuses
/// any change, even to the MAC it has.
fn back_to(port: &PortRecord, now: &LinkView, closed: bool) -> PortChange {
    PortChange {
        name: (now.name != port.name.as_str()).then(|| port.name.clone()),
        mac: (now.mac != Some(port.mac)).then_some(port.mac),
        mtu: (now.mtu != port.mtu).then_some(port.mtu),
        up: (closed || now.up != port.up).then_some(port.up),
        ..PortChange::default()
    }
}

struct Restorer<'a> {
    bond: &'a IfName,
    home: Option<&'a Home<'a>>,
    initial: Initial,
    outcome: Outcome,
}

/// The initial namespace, as far as it was needed.
#[derive(Debug)]
enum Initial {
    NotOpened,
    /// Home is the initial namespace.
    IsHome,
    Open(Netlink),
    /// It could not be opened (not in the initial PID namespace, or not
    /// allowed): a failure once a port turns out missing.
    Unreachable(netplumb_netns::Error),
}

impl Restorer<'_> {
    fn fail(&mut self, step: Step, port: Option<&IfName>, source: netplumb_netns::Error) {
        self.outcome.failures.push(Error::Netlink {
            bond: self.bond.clone(),
            step,
            port: port.cloned(),
            source: Box::new(source),
        });
    }

    fn lookup_failed(&mut self, ns: &NetNs, source: netplumb_netns::Error) {
        self.outcome
            .failures
            .push(Error::lookup(self.bond, ns, source));
    }

    fn home_needed(&mut self, port: &PortRecord) {
        self.outcome.failures.push(Error::HomeNeeded {
            bond: self.bond.clone(),
            port: port.name.clone(),
        });
    }

    /// The pod's links once the bond is out of the way, and the bond's
    /// index while it is still there (not to be deleted, or not deleted).
    /// `None` when the pod cannot be read.
    fn pod_links(
        &mut self,
        pod: &Pod<'_>,
        record: &BondRecord,
        delete_bond: bool,
    ) -> Option<(Vec<LinkView>, Option<u32>)> {
        let read = |r: &mut Self| {
            view::links(pod.netlink())
                .map_err(|e| r.lookup_failed(pod.ns(), e))
                .ok()
        };
        let links = read(self)?;
        let Some(bond) = our_bond(&links, record).map(|b| b.index) else {
            return Some((links, None));
        };
        if !delete_bond {
            return Some((links, Some(bond)));
        }
        // Deleting the bond releases every port at once, closing it and
        // giving back its MTU and, in most modes, its MAC. What is still
        // to do is read again after that.
        match pod.netlink().delete_link(bond) {
            Ok(()) => {}
            Err(e) if e.is_no_such_link() => {}
            Err(e) => {
                self.fail(Step::DeleteBond, None, e);
                return Some((links, Some(bond)));
            }
        }
        Some((read(self)?, None))
    }

    /// Puts back `port`, seen in the pod as `now`, and sends it home if it
    /// came from there. While the bond still holds it, it is released
    /// first, on its own.
    fn in_pod(&mut self, pod: &Pod<'_>, port: &PortRecord, now: &LinkView, bond: Option<u32>) {
        let mut now = now.clone();
        if bond.is_some() && now.controller == bond {
            let release = PortChange {
                controller: Some(0),
                ..PortChange::default()
            };
            if let Err(e) = send(pod.netlink(), "release from the bond", now.index, &release) {
                return self.fail(Step::RestorePort, Some(&port.name), e);
            }
            // Releasing changed it (closed, MTU and maybe MAC back).
            match pod.netlink().link(now.index) {
                Ok(link) => now = link.into(),
                Err(e) => return self.fail(Step::LookUp, Some(&port.name), e),
            }
        }
        let home = match (port.from_home, self.home) {
            (true, Some(home)) => Some(home),
            (true, None) => {
                self.home_needed(port);
                None
            }
            (false, _) => None,
        };
        self.put_back(pod.netlink(), port, &now, home);
    }

    /// Looks for ports from home that are not in the pod: at home and,
    /// when the pod is gone, in the initial namespace (unless that is home)
    /// until all are found or [`PORT_RETURN_WAIT`] has passed.
    fn elsewhere(&mut self, mut ports: Vec<&PortRecord>, search: Search) {
        if ports.is_empty() {
            return;
        }
        let Some(home) = self.home else {
            for port in ports {
                self.home_needed(port);
            }
            return;
        };
        let wait = match search {
            Search::PodGone => PORT_RETURN_WAIT,
            Search::PodUnreadable | Search::NotInPod => Duration::ZERO,
        };
        let deadline = Instant::now() + wait;
        loop {
            let links = match view::links(home.netlink()) {
                Ok(links) => links,
                Err(e) => return self.lookup_failed(home.ns(), e),
            };
            let mut claimed = Vec::new();
            ports.retain(
                |port| match find_port(port, &links, None, &claimed, Where::Origin) {
                    Some(now) => {
                        claimed.push(now.index);
                        self.put_back(home.netlink(), port, now, None);
                        false
                    }
                    None => true,
                },
            );
            if search == Search::PodGone && !ports.is_empty() {
                self.bring_from_initial(home, &mut ports);
            }
            if ports.is_empty() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(PORT_RETURN_POLL);
        }
        if ports.is_empty() || search == Search::PodUnreadable {
            return;
        }
        self.outcome
            .missing
            .extend(ports.iter().map(|p| p.name.clone()));
        // Where they may be could not be looked at.
        if let Initial::Unreachable(e) = std::mem::replace(&mut self.initial, Initial::IsHome) {
            self.outcome.failures.push(Error::LookUp {
                bond: self.bond.clone(),
                namespace: INITIAL_NAMESPACE.into(),
                source: Box::new(e),
            });
        }
    }

    /// Moves `ports` found in the initial namespace into `home`, putting
    /// them back there, and keeps in `ports` those not found.
    fn bring_from_initial(&mut self, home: &Home<'_>, ports: &mut Vec<&PortRecord>) {
        if let Initial::NotOpened = self.initial {
            self.initial = open_initial(home);
        }
        let Initial::Open(initial) = std::mem::replace(&mut self.initial, Initial::NotOpened)
        else {
            return;
        };
        match view::links(&initial) {
            Ok(links) => {
                let mut claimed = Vec::new();
                ports.retain(|port| {
                    match find_port(port, &links, None, &claimed, Where::Elsewhere) {
                        Some(now) => {
                            claimed.push(now.index);
                            self.put_back(&initial, port, now, Some(home));
                            false
                        }
                        None => true,
                    }
                });
            }
            Err(e) => self.lookup_failed(initial.namespace(), e),
        }
        self.initial = Initial::Open(initial);
    }

    /// Gives `port`, seen as `now` through `netlink`, its recorded name,
    /// MAC, MTU and up state, moving it into `home` first when given.
    fn put_back(
        &mut self,
        netlink: &Netlink,
        port: &PortRecord,
        now: &LinkView,
        home: Option<&Home<'_>>,
    ) {
        let change = PortChange {
            netns_fd: home.map(|h| h.ns().as_fd().as_raw_fd()),
            ..back_to(port, now, home.is_some())
        };
        if change.is_empty() {
            return;
        }
        let error = match send(netlink, "restore port", now.index, &change) {
            Ok(()) => return,
            Err(e) => e,
        };
        if error.is_no_such_link() {
            return self.outcome.missing.push(port.name.clone());
        }
        // Part by part instead, so that everything that can be put back is
        // and each failure names what it was about. The kernel moves a link
        // before the rest, so the whole may have failed after the move.
        let mut index = now.index;
        let mut netlink = netlink;
        if let Some(home) = home {
            if netlink.link(now.index).is_err_and(|e| e.is_no_such_link()) {
                let Some(there) = self.relocate(home, port) else {
                    return;
                };
                return self.put_back(home.netlink(), port, &there, None);
            }
        }
        for (what, part) in change.split() {
            match send(netlink, what, index, &part) {
                Ok(()) => {}
                Err(e) if e.is_no_such_link() => {
                    return self.outcome.missing.push(port.name.clone());
                }
                Err(e) => {
                    self.fail(Step::RestorePort, Some(&port.name), e);
                    continue;
                }
            }
            if let (Some(_), Some(home)) = (part.netns_fd, home) {
                // Moved: the rest happens at home, where its index may differ.
                let Some(there) = self.relocate(home, port) else {
                    return;
                };
                index = there.index;
                netlink = home.netlink();
            }
        }
    }

    /// `port` at home after it was moved there.
    fn relocate(&mut self, home: &Home<'_>, port: &PortRecord) -> Option<LinkView> {
        let links = match view::links(home.netlink()) {
            Ok(links) => links,
            Err(e) => {
                self.lookup_failed(home.ns(), e);
                return None;
            }
        };
        let found = find_port(port, &links, None, &[], Where::Origin).cloned();
        if found.is_none() {
            self.outcome.missing.push(port.name.clone());
        }
        found
    }
}

/// The initial namespace, unless that is `home`.
fn open_initial(home: &Home<'_>) -> Initial {
    let opened = NetNs::open(INITIAL_NAMESPACE).and_then(|ns| {
        if ns.id() == home.ns().id() {
            Ok(Initial::IsHome)
        } else {
            ns.netlink().map(Initial::Open)
        }
    });
    opened.unwrap_or_else(Initial::Unreachable)
}

fn send(
    netlink: &Netlink,
    what: &str,
    index: u32,
    change: &PortChange,
) -> Result<(), netplumb_netns::Error> {
    let link = LinkRef::Index(index);
    netlink
        .raw_request(what, Some(&link), change.message(&link)?, 0)
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::tests::link;
    use netplumb_netns::MacAddr;
    use proptest::prelude::*;

    fn mac(last: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, last])
    }

    fn record(mac_last: u8, mtu: u32, up: bool) -> PortRecord {
        PortRecord::new("net1".parse().unwrap(), false, mac(mac_last), mtu, up)
    }

    fn seen(mac_last: u8, mtu: u32, up: bool) -> LinkView {
        LinkView {
            mtu,
            up,
            ..link(4, "net1", mac_last)
        }
    }

    /// A port recorded at `index` as `name`, MAC `mac_last`, and permanent
    /// MAC `permanent` when given.
    fn port_at(index: u32, name: &str, mac_last: u8, permanent: Option<u8>) -> PortRecord {
        let mut port = PortRecord::new(name.parse().unwrap(), true, mac(mac_last), 1500, true);
        port.index = Some(index);
        port.permanent_mac = permanent.map(mac);
        port
    }

    fn with_permanent(mut l: LinkView, permanent: u8) -> LinkView {
        l.permanent_mac = Some(mac(permanent));
        l
    }

    fn found(
        port: &PortRecord,
        links: &[LinkView],
        bond: Option<u32>,
        place: Where,
    ) -> Option<(u32, String)> {
        find_port(port, links, bond, &[], place).map(|l| (l.index, l.name.clone()))
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
    fn a_port_back_under_another_name_is_found_by_its_permanent_mac() {
        let port = port_at(7, "eth1", 1, Some(0x71));
        let links = [
            // Another device took the name; the port came back as dev3,
            // wearing another MAC.
            with_permanent(link(3, "eth1", 1), 0x99),
            with_permanent(link(12, "dev3", 0x55), 0x71),
        ];
        for place in [Where::Origin, Where::Elsewhere] {
            assert_eq!(found(&port, &links, None, place), Some((12, "dev3".into())));
        }
        // A driver that took its MAC as permanent: the MAC still tells.
        let reset = with_permanent(link(12, "eth1", 1), 1);
        assert_eq!(
            found(&port, &[reset], None, Where::Origin),
            Some((12, "eth1".into()))
        );
    }

    #[test]
    fn without_a_permanent_mac_the_mac_tells() {
        let port = port_at(7, "eth1", 1, None);
        let links = [link(3, "eth1", 9), link(12, "dev3", 1)];
        assert_eq!(
            found(&port, &links, None, Where::Origin),
            Some((12, "dev3".into()))
        );
        // Of two with the MAC, the one with the name.
        let links = [link(3, "dev3", 1), link(12, "eth1", 1)];
        assert_eq!(
            found(&port, &links, None, Where::Origin),
            Some((12, "eth1".into()))
        );
        // Claimed links are skipped.
        assert_eq!(
            find_port(&port, &links, None, &[12], Where::Origin).map(|l| l.index),
            Some(3)
        );
    }

    #[test]
    fn a_name_alone_is_not_enough() {
        let port = port_at(7, "eth1", 1, None);
        // Same name, another MAC and index: another device.
        assert_eq!(
            found(&port, &[link(3, "eth1", 9)], None, Where::Origin),
            None
        );
        // Name and index together, in the namespace the index is from: the
        // port, wearing another MAC.
        assert_eq!(
            found(&port, &[link(7, "eth1", 9)], None, Where::Origin),
            Some((7, "eth1".into()))
        );
        // But not in another namespace, where index 7 is something else.
        assert_eq!(
            found(&port, &[link(7, "eth1", 9)], None, Where::Elsewhere),
            None
        );
        // Enslaved to the bond, it is one of its ports.
        let mut enslaved = link(8, "eth1", 9);
        enslaved.controller = Some(5);
        assert_eq!(
            found(&port, &[enslaved.clone()], Some(5), Where::Origin),
            Some((8, "eth1".into()))
        );
        assert_eq!(found(&port, &[enslaved], None, Where::Origin), None);
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
                mac: Some(mac(1)),
                mtu: Some(1500),
                ..PortChange::default()
            }
        );
        // A link without a MAC gets the recorded one.
        let no_mac = LinkView {
            mac: None,
            ..seen(1, 1500, true)
        };
        assert!(back_to(&record(1, 1500, true), &no_mac, false)
            .mac
            .is_some());
        // A port back as devN gets its name again.
        let renamed = LinkView {
            name: "dev3".into(),
            ..seen(1, 1500, true)
        };
        assert_eq!(
            back_to(&record(1, 1500, true), &renamed, false),
            PortChange {
                name: Some("net1".parse().unwrap()),
                ..PortChange::default()
            }
        );
    }

    proptest! {
        #[test]
        fn the_change_leads_back_to_the_record(
            rec in (any::<u8>(), 68u32..9216, any::<bool>()),
            now in (any::<u8>(), 68u32..9216, any::<bool>(), "net[0-9]"),
            closed: bool,
        ) {
            let port = record(rec.0, rec.1, rec.2);
            let now = LinkView { name: now.3, ..seen(now.0, now.1, now.2) };
            let change = back_to(&port, &now, closed);
            prop_assert_eq!(change.controller, None);
            prop_assert_eq!(change.netns_fd, None);
            // Applying the change to what was seen gives what was recorded.
            let after = (
                change.name.as_ref().map_or(now.name.as_str(), |n| n.as_str()),
                change.mac.or(now.mac),
                change.mtu.unwrap_or(now.mtu),
                change.up.unwrap_or(if closed { false } else { now.up }),
            );
            prop_assert_eq!(after, (port.name.as_str(), Some(port.mac), port.mtu, port.up));
        }
    }
}
