//! Taking a bond apart and putting its ports back as they were, as far as
//! is still possible, however far the bond got and whatever is gone since.

use std::time::{Duration, Instant};

use netplumb_netns::{LinkChange, LinkInfo, NetNs, Netlink};
use netplumb_types::IfName;

use crate::error::Step;
use crate::namespace::{Home, Pod};
use crate::record::{BondRecord, PortRecord};
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
            bond: record.bond,
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
    let all: Vec<&PortRecord> = record.ports.iter().collect();
    let devices = r.devices(pod.netlink(), &links, &all);
    for port in &record.ports {
        let place = if port.from_home {
            Where::Elsewhere
        } else {
            Where::Origin
        };
        match find_port(port, &links, &devices, bond_index, &claimed, place) {
            Some(now) => {
                claimed.push(now.index);
                r.in_pod(pod, port, now, bond_index);
            }
            None if port.from_home => elsewhere.push(port),
            None => r.outcome.missing.push(port.name),
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
fn our_bond<'l>(links: &'l [LinkInfo], record: &BondRecord) -> Option<&'l LinkInfo> {
    links.iter().find(|l| {
        l.name == record.bond
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
/// those `claimed` already; `devices` are what the links sit on, in order
/// ([`Netlink::devices_of`]).
///
/// A port recorded with a device is the link on that device, and nothing
/// else: a name, MAC or index is what the pod can give any link, a device
/// is not. A port without one (a veth) must have the recorded permanent
/// MAC, or wear the recorded MAC (deleting a bond gives its ports theirs
/// back), or be enslaved to the bond, or, in the namespace the port
/// started in, have both the recorded name and index: a name alone may
/// belong to anything. A different permanent MAC does not rule a link out,
/// as some drivers (igbvf) make the MAC in use at a reset their permanent
/// one. Among several, the one with the permanent MAC wins, then the MAC,
/// then the name, then the index.
fn find_port<'l>(
    port: &PortRecord,
    links: &'l [LinkInfo],
    devices: &[Option<String>],
    bond_index: Option<u32>,
    claimed: &[u32],
    place: Where,
) -> Option<&'l LinkInfo> {
    let unclaimed = links
        .iter()
        .zip(devices.iter().chain(std::iter::repeat(&None)))
        .filter(|(l, _)| !claimed.contains(&l.index));
    if let Some(device) = &port.device {
        return unclaimed
            .filter(|(_, on)| on.as_ref() == Some(device))
            .map(|(l, _)| l)
            .next();
    }
    let likeness = |l: &LinkInfo| {
        let permanent = port.permanent_mac.is_some() && l.permanent_mac == port.permanent_mac;
        let mac = l.mac == Some(port.mac);
        let name = l.name == port.name;
        let index = place == Where::Origin && Some(l.index) == port.index;
        (permanent, mac, name, index)
    };
    unclaimed
        .map(|(l, _)| l)
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
fn back_to<'a>(port: &PortRecord, now: &LinkInfo, closed: bool) -> LinkChange<'a> {
    let mut change = LinkChange::new();
    if now.name != port.name {
        change = change.name(port.name);
    }
    if now.mac != Some(port.mac) {
        change = change.mac(port.mac);
    }
    if now.mtu != port.mtu {
        change = change.mtu(port.mtu);
    }
    if closed || now.is_up() != port.up {
        change = change.up(port.up);
    }
    change
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
            bond: *self.bond,
            step,
            port: port.copied(),
            source: Box::new(source),
        });
    }

    /// What `links`, read through `netlink`, sit on, when one of `ports` is
    /// known by its device (none otherwise: asking costs a request per link
    /// on kernels that do not report parents).
    fn devices(
        &mut self,
        netlink: &Netlink,
        links: &[LinkInfo],
        ports: &[&PortRecord],
    ) -> Vec<Option<String>> {
        if ports.iter().all(|p| p.device.is_none()) {
            return Vec::new();
        }
        netlink.devices_of(links).unwrap_or_else(|e| {
            self.lookup_failed(netlink.namespace(), e);
            Vec::new()
        })
    }

    fn lookup_failed(&mut self, ns: &NetNs, source: netplumb_netns::Error) {
        self.outcome
            .failures
            .push(Error::lookup(*self.bond, ns, source));
    }

    fn home_needed(&mut self, port: &PortRecord) {
        self.outcome.failures.push(Error::HomeNeeded {
            bond: *self.bond,
            port: port.name,
        });
    }

    /// The pod's links once the bond is out of the way, and the bond's
    /// index while it is still there (not deleted). `None` when the pod
    /// cannot be read.
    ///
    /// Without `delete_bond` the bond was never made: a bond of its name
    /// is someone else's, and the links it holds are not our ports.
    fn pod_links(
        &mut self,
        pod: &Pod<'_>,
        record: &BondRecord,
        delete_bond: bool,
    ) -> Option<(Vec<LinkInfo>, Option<u32>)> {
        let read = |r: &mut Self| {
            pod.netlink()
                .links()
                .map_err(|e| r.lookup_failed(pod.ns(), e))
                .ok()
        };
        let links = read(self)?;
        if !delete_bond {
            return Some((links, None));
        }
        let Some(bond) = our_bond(&links, record).map(|b| b.index) else {
            return Some((links, None));
        };
        // Deleting the bond releases every port at once, closing it and
        // giving back its MTU and, in most modes, its MAC. What is still
        // to do is read again after that, when there is any.
        match pod.netlink().delete_link(bond) {
            Ok(()) => {}
            Err(e) if e.is_no_such_link() => {}
            Err(e) => {
                self.fail(Step::DeleteBond, None, e);
                return Some((links, Some(bond)));
            }
        }
        if record.ports.is_empty() {
            return Some((Vec::new(), None));
        }
        Some((read(self)?, None))
    }

    /// Puts back `port`, seen in the pod as `now`, and sends it home if it
    /// came from there. While the bond still holds it, it is released
    /// first, on its own.
    fn in_pod(&mut self, pod: &Pod<'_>, port: &PortRecord, now: &LinkInfo, bond: Option<u32>) {
        let mut now = now.clone();
        if bond.is_some() && now.controller == bond {
            let release = LinkChange::new().no_controller();
            if let Err(e) = pod.netlink().change_link(now.index, &release) {
                return self.fail(Step::RestorePort, Some(&port.name), e);
            }
            // Releasing changed it (closed, MTU and maybe MAC back).
            match pod.netlink().link(now.index) {
                Ok(link) => now = link,
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
            let links = match home.netlink().links() {
                Ok(links) => links,
                Err(e) => return self.lookup_failed(home.ns(), e),
            };
            let mut claimed = Vec::new();
            let devices = self.devices(home.netlink(), &links, &ports);
            ports.retain(|port| {
                match find_port(port, &links, &devices, None, &claimed, Where::Origin) {
                    Some(now) => {
                        claimed.push(now.index);
                        self.put_back(home.netlink(), port, now, None);
                        false
                    }
                    None => true,
                }
            });
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
        self.outcome.missing.extend(ports.iter().map(|p| p.name));
        // Where they may be could not be looked at.
        if let Initial::Unreachable(e) = std::mem::replace(&mut self.initial, Initial::IsHome) {
            self.outcome.failures.push(Error::LookUp {
                bond: *self.bond,
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
        match initial.links() {
            Ok(links) => {
                let mut claimed = Vec::new();
                let devices = self.devices(&initial, &links, ports);
                ports.retain(|port| {
                    match find_port(port, &links, &devices, None, &claimed, Where::Elsewhere) {
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
        now: &LinkInfo,
        home: Option<&Home<'_>>,
    ) {
        let mut change = back_to(port, now, home.is_some());
        if let Some(home) = home {
            change = change.namespace(home.ns());
        }
        if change.is_empty() {
            return;
        }
        let error = match netlink.change_link(now.index, &change) {
            Ok(()) => return,
            Err(e) => e,
        };
        if error.is_no_such_link() {
            return self.outcome.missing.push(port.name);
        }
        let parts = change.parts();
        // One part was tried already, as the whole.
        if parts.len() == 1 {
            return self.fail(Step::RestorePort, Some(&port.name), error);
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
        for part in parts {
            match netlink.change_link(index, &part) {
                Ok(()) => {}
                Err(e) if e.is_no_such_link() => {
                    return self.outcome.missing.push(port.name);
                }
                Err(e) => {
                    self.fail(Step::RestorePort, Some(&port.name), e);
                    continue;
                }
            }
            if let Some(home) = home.filter(|_| part.moves()) {
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
    fn relocate(&mut self, home: &Home<'_>, port: &PortRecord) -> Option<LinkInfo> {
        let links = match home.netlink().links() {
            Ok(links) => links,
            Err(e) => {
                self.lookup_failed(home.ns(), e);
                return None;
            }
        };
        let devices = self.devices(home.netlink(), &links, &[port]);
        let found = find_port(port, &links, &devices, None, &[], Where::Origin).cloned();
        if found.is_none() {
            self.outcome.missing.push(port.name);
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netplumb_types::MacAddr;
    use proptest::prelude::*;

    /// `IFF_UP`.
    const UP: u32 = 0x1;

    /// A down Ethernet link `name` at `index` with MAC `02:00:00:00:00:<mac>`,
    /// MTU 1500, no controller and no permanent MAC, as netns reports it.
    pub(crate) fn link(index: u32, name: &str, mac: u8) -> LinkInfo {
        let mut l = LinkInfo::new(index, name.parse().unwrap());
        l.mac = Some(MacAddr([2, 0, 0, 0, 0, mac]));
        l
    }

    fn mac(last: u8) -> MacAddr {
        MacAddr([2, 0, 0, 0, 0, last])
    }

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn record(mac_last: u8, mtu: u32, up: bool) -> PortRecord {
        PortRecord::new(name("net1"), false, mac(mac_last), mtu, up)
    }

    fn seen(mac_last: u8, mtu: u32, up: bool) -> LinkInfo {
        let mut l = link(4, "net1", mac_last);
        l.mtu = mtu;
        l.flags = if up { UP } else { 0 };
        l
    }

    /// A port recorded at `index` as `name`, MAC `mac_last`, and permanent
    /// MAC `permanent` when given.
    fn port_at(index: u32, name: &str, mac_last: u8, permanent: Option<u8>) -> PortRecord {
        let mut port = PortRecord::new(name.parse().unwrap(), true, mac(mac_last), 1500, true);
        port.index = Some(index);
        port.permanent_mac = permanent.map(mac);
        port
    }

    fn with_permanent(mut l: LinkInfo, permanent: u8) -> LinkInfo {
        l.permanent_mac = Some(mac(permanent));
        l
    }

    fn found(
        port: &PortRecord,
        links: &[LinkInfo],
        bond: Option<u32>,
        place: Where,
    ) -> Option<(u32, IfName)> {
        find_port(port, links, &[], bond, &[], place).map(|l| (l.index, l.name))
    }

    /// The name, MAC, MTU and up state of a link seen as `now` once
    /// `change` is made to it, after the kernel closed it when `closed`;
    /// read from what the change says it does, one part at a time.
    fn applied(
        change: &LinkChange<'_>,
        now: &LinkInfo,
        closed: bool,
    ) -> (IfName, Option<MacAddr>, u32, bool) {
        let mut after = (now.name, now.mac, now.mtu, now.is_up() && !closed);
        for part in change.parts() {
            let text = part.to_string();
            if let Some(new_name) = text.strip_prefix("rename to ") {
                after.0 = name(new_name);
            } else if let Some(new_mac) = text.strip_prefix("set MAC address ") {
                after.1 = Some(new_mac.parse().unwrap());
            } else if let Some(mtu) = text.strip_prefix("set MTU ") {
                after.2 = mtu.parse().unwrap();
            } else if text == "set link up" || text == "set link down" {
                after.3 = text == "set link up";
            } else {
                panic!("a port gets back its name, MAC, MTU and up state only, not {text:?}");
            }
        }
        after
    }

    #[test]
    fn only_the_recorded_bond_is_ours() {
        let bond = |index, name: &str, kind: Option<&str>| {
            let mut l = link(index, name, index as u8);
            l.kind = kind.map(String::from);
            l
        };
        let links = [
            bond(3, "bond0", Some("veth")),
            bond(4, "bond1", Some("bond")),
            bond(5, "bond0", Some("bond")),
        ];
        let mut record = BondRecord::new(name("bond0"), vec![]);
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
            assert_eq!(found(&port, &links, None, place), Some((12, name("dev3"))));
        }
        // A driver that took its MAC as permanent: the MAC still tells.
        let reset = with_permanent(link(12, "eth1", 1), 1);
        assert_eq!(
            found(&port, &[reset], None, Where::Origin),
            Some((12, name("eth1")))
        );
    }

    #[test]
    fn without_a_permanent_mac_the_mac_tells() {
        let port = port_at(7, "eth1", 1, None);
        let links = [link(3, "eth1", 9), link(12, "dev3", 1)];
        assert_eq!(
            found(&port, &links, None, Where::Origin),
            Some((12, name("dev3")))
        );
        // Of two with the MAC, the one with the name.
        let links = [link(3, "dev3", 1), link(12, "eth1", 1)];
        assert_eq!(
            found(&port, &links, None, Where::Origin),
            Some((12, name("eth1")))
        );
        // Claimed links are skipped.
        assert_eq!(
            find_port(&port, &links, &[], None, &[12], Where::Origin).map(|l| l.index),
            Some(3)
        );
    }

    #[test]
    fn a_port_on_a_device_is_that_device_and_nothing_that_looks_like_it() {
        // The pod gave a veth the port's name, index, MAC and permanent
        // MAC, and renamed the VF: the VF is the port.
        let mut port = port_at(7, "eth1", 1, Some(0x71));
        port.device = Some("0000:01:10.2".into());
        let forged = with_permanent(link(7, "eth1", 1), 0x71);
        let other_vf = link(9, "eth2", 1);
        let vf = link(12, "hidden", 0x33);
        let links = [forged.clone(), other_vf.clone(), vf];
        let devices = [
            None,
            Some("0000:01:10.4".into()),
            Some("0000:01:10.2".into()),
        ];
        let now = find_port(&port, &links, &devices, None, &[], Where::Origin).unwrap();
        assert_eq!(now.index, 12);
        // Without the VF there, the port is missing, whatever else matches.
        let links = [forged, other_vf];
        let devices = [None, Some("0000:01:10.4".into())];
        for place in [Where::Origin, Where::Elsewhere] {
            assert_eq!(
                find_port(&port, &links, &devices, Some(7), &[], place),
                None
            );
        }
        // Nor is a VF taken twice.
        let links = [link(12, "hidden", 0x33)];
        let devices = [Some("0000:01:10.2".into())];
        assert_eq!(
            find_port(&port, &links, &devices, None, &[12], Where::Origin),
            None
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
            Some((7, name("eth1")))
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
            Some((8, name("eth1")))
        );
        assert_eq!(found(&port, &[enslaved], None, Where::Origin), None);
    }

    #[test]
    fn a_port_under_a_name_that_is_not_utf8_is_found_and_renamed() {
        let port = port_at(7, "eth1", 1, Some(0x71));
        let mut odd = with_permanent(link(12, "x", 0x55), 0x71);
        odd.name = IfName::new(b"dev\xff").unwrap();
        let links = [odd];
        let now = find_port(&port, &links, &[], None, &[], Where::Elsewhere).unwrap();
        assert_eq!(now.index, 12);
        let change = back_to(&port, now, false);
        assert_eq!(applied(&change, now, false).0, name("eth1"));
    }

    #[test]
    fn a_port_as_recorded_needs_nothing() {
        assert!(back_to(&record(1, 1500, true), &seen(1, 1500, true), false).is_empty());
    }

    #[test]
    fn a_closed_port_always_gets_its_up_state() {
        let change = back_to(&record(1, 1500, true), &seen(1, 1500, true), true);
        assert_eq!(change.to_string(), "set link up");
        let change = back_to(&record(1, 1500, false), &seen(1, 1500, true), true);
        assert_eq!(change.to_string(), "set link down");
    }

    #[test]
    fn only_what_differs_is_sent() {
        // After fail_over_mac none: the bond's MAC and MTU on the port.
        let change = back_to(&record(1, 1500, true), &seen(9, 9000, true), false);
        assert_eq!(
            change.to_string(),
            "set MAC address 02:00:00:00:00:01, set MTU 1500"
        );
        // A link without a MAC gets the recorded one.
        let mut no_mac = seen(1, 1500, true);
        no_mac.mac = None;
        assert_eq!(
            back_to(&record(1, 1500, true), &no_mac, false).to_string(),
            "set MAC address 02:00:00:00:00:01"
        );
        // A port back as devN gets its name again.
        let mut renamed = seen(1, 1500, true);
        renamed.name = name("dev3");
        assert_eq!(
            back_to(&record(1, 1500, true), &renamed, false).to_string(),
            "rename to net1"
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
            let mut seen = seen(now.0, now.1, now.2);
            seen.name = name(&now.3);
            let change = back_to(&port, &seen, closed);
            prop_assert!(!change.moves());
            // Making the change to what was seen gives what was recorded.
            prop_assert_eq!(
                applied(&change, &seen, closed),
                (port.name, Some(port.mac), port.mtu, port.up)
            );
        }
    }
}
