//! Building a bond: look at the ports, check, record what release must put
//! back, then change the kernel step by step, undoing every step on failure.

use netplumb_netns::raw::netlink_packet_core::{NLM_F_CREATE, NLM_F_ECHO, NLM_F_EXCL};
use netplumb_netns::raw::netlink_packet_route::link::LinkAttribute;
use netplumb_netns::raw::netlink_packet_route::RouteNetlinkMessage;
use netplumb_netns::{LinkChange, LinkInfo, LinkRef};
use netplumb_types::IfName;

use crate::config::{BondConfig, PortFacts, Warning, MAX_MTU};
use crate::error::Step;
use crate::namespace::{Home, Pod};
use crate::nl;
use crate::record::{BondRecord, PortRecord};
use crate::release::restore;
use crate::Error;

/// A port to enslave, and what the caller knows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Its interface name, in the namespace it starts in.
    pub name: IfName,
    /// Whether it is an SR-IOV VF, for the [`Warning`]s. The caller knows:
    /// sysfs does not follow a pod's namespace.
    pub is_vf: bool,
}

impl Port {
    /// An SR-IOV VF named `name`.
    pub fn vf(name: IfName) -> Port {
        Port { name, is_vf: true }
    }

    /// A port that is not an SR-IOV VF.
    pub fn other(name: IfName) -> Port {
        Port { name, is_vf: false }
    }
}

/// A bond that has been checked against its ports and can be built.
///
/// Made by [`plan`], which changes nothing. Its [`record`](Plan::record) is
/// known before [`apply`](Plan::apply) changes anything, so a caller that
/// journals it first can always finish a [`release`](crate::release).
#[derive(Debug)]
#[must_use = "a plan changes nothing until it is applied"]
pub struct Plan<'a> {
    pod: &'a Pod<'a>,
    home: Option<&'a Home<'a>>,
    config: BondConfig,
    /// The MTU the bond is created with ([`BondConfig::bond_mtu`]).
    mtu: u32,
    ports: Vec<Planned>,
    record: BondRecord,
    warnings: Vec<Warning>,
}

/// One port as [`plan`] found it.
#[derive(Debug)]
struct Planned {
    name: IfName,
    /// Its index at home, when it is moved in first.
    home_index: Option<u32>,
    /// Its index in the pod, when it is there already.
    pod_index: Option<u32>,
    /// Up where it will be enslaved. Moving a link into another namespace
    /// sets it down, so a moved port never is.
    up_in_pod: bool,
}

/// A bond that was built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Created {
    /// The bond's interface index in the pod namespace.
    pub index: u32,
    /// What [`release`](crate::release) puts back: the plan's record with
    /// the bond's index, to write down in its place.
    pub record: BondRecord,
    /// Settings that are legal but probably not what was meant.
    pub warnings: Vec<Warning>,
}

/// Checks `config` and `ports` against each other and the kernel, and
/// records the ports' state, without changing anything.
///
/// The bond goes into `pod`. With `home`, the ports are looked up there and
/// moved into `pod` first, keeping their names (bond-cni's
/// `linksInContainer: false`); without it they are in `pod` already.
/// Every port must exist, have no controller and an MTU no smaller than the
/// bond's, and no link in `pod` may have the bond's name (or, with `home`,
/// a port's). Without a configured MTU the bond takes its ports' smallest
/// ([`BondConfig::bond_mtu`]), so enslaving them does not change theirs.
pub fn plan<'a>(
    pod: &'a Pod<'a>,
    home: Option<&'a Home<'a>>,
    config: &BondConfig,
    ports: &[Port],
) -> Result<Plan<'a>, Error> {
    // What can be checked without the kernel is, so bad input fails
    // before any lookup; MTUs are checked again once known.
    let unknown_mtu: Vec<PortFacts> = ports
        .iter()
        .map(|p| PortFacts {
            name: p.name,
            mtu: MAX_MTU,
            is_vf: p.is_vf,
        })
        .collect();
    config.check(&unknown_mtu)?;

    let bond = &config.name;
    let pod_links = pod
        .netlink()
        .links()
        .map_err(|e| Error::lookup(*bond, pod.ns(), e))?;
    let home_links = match home {
        Some(home) => {
            let links = home
                .netlink()
                .links()
                .map_err(|e| Error::lookup(*bond, home.ns(), e))?;
            Some(links)
        }
        None => None,
    };
    let found = check_ports(bond, ports, &pod_links, home_links.as_deref())?;
    let from_home = home.is_some();
    // What the VFs sit on, for release to find them by (free on kernels
    // that report parent devices; a veth sits on nothing).
    let where_ports_are = home.map_or(pod.netlink(), |home| home.netlink());
    let devices = ports
        .iter()
        .zip(&found)
        .map(|(port, link)| match port.is_vf {
            true => where_ports_are
                .device_of(link)
                .map_err(|e| Error::lookup(*bond, where_ports_are.namespace(), e)),
            false => Ok(None),
        })
        .collect::<Result<Vec<_>, _>>()?;

    let facts: Vec<PortFacts> = ports
        .iter()
        .zip(&found)
        .map(|(p, link)| PortFacts {
            name: p.name,
            mtu: link.mtu,
            is_vf: p.is_vf,
        })
        .collect();
    let warnings = config.check(&facts)?;
    let mtu = config.bond_mtu(&facts);

    let record = BondRecord::new(
        *bond,
        ports
            .iter()
            .zip(&found)
            .zip(devices)
            .map(|((port, link), device)| {
                let mut record = PortRecord::new(
                    port.name,
                    from_home,
                    link.mac.unwrap_or_default(),
                    link.mtu,
                    link.is_up(),
                );
                record.index = Some(link.index);
                record.permanent_mac = link.permanent_mac.filter(|mac| !mac.is_zero());
                record.device = device;
                record
            })
            .collect(),
    );
    let planned = ports
        .iter()
        .zip(found)
        .map(|(port, link)| Planned {
            up_in_pod: !from_home && link.is_up(),
            home_index: from_home.then_some(link.index),
            pod_index: (!from_home).then_some(link.index),
            name: port.name,
        })
        .collect();
    Ok(Plan {
        pod,
        home,
        config: config.clone(),
        mtu,
        ports: planned,
        record,
        warnings,
    })
}

/// Finds each port among the links plan read, and checks it can be
/// enslaved: in `home` when given (and its name free in `pod`, where it is
/// moved), else in `pod`; no controller; an Ethernet MAC. The bond's name
/// must be free in `pod`. Returns the ports' links, in order.
fn check_ports<'l>(
    bond: &IfName,
    ports: &[Port],
    pod: &'l [LinkInfo],
    home: Option<&'l [LinkInfo]>,
) -> Result<Vec<&'l LinkInfo>, Error> {
    let named = |links: &'l [LinkInfo], name: &IfName| links.iter().find(|l| l.name == *name);
    if named(pod, bond).is_some() {
        return Err(Error::NameTaken {
            bond: *bond,
            name: *bond,
        });
    }
    let mut found = Vec::with_capacity(ports.len());
    for port in ports {
        if home.is_some() && named(pod, &port.name).is_some() {
            return Err(Error::NameTaken {
                bond: *bond,
                name: port.name,
            });
        }
        let link = named(home.unwrap_or(pod), &port.name).ok_or(Error::PortNotFound {
            bond: *bond,
            port: port.name,
            namespace: if home.is_some() { "home" } else { "pod" },
        })?;
        if let Some(controller) = link.controller {
            return Err(Error::PortInUse {
                bond: *bond,
                port: port.name,
                controller,
            });
        }
        if link.mac.is_none() {
            return Err(Error::InvalidConfig {
                bond: *bond,
                reason: format!(
                    "port {:?} has no Ethernet MAC address; a bond port must be an Ethernet link",
                    port.name
                ),
            });
        }
        found.push(link);
    }
    Ok(found)
}

/// Plans and builds the bond in one go: [`plan`], then [`Plan::apply`].
pub fn create(
    pod: &Pod<'_>,
    home: Option<&Home<'_>>,
    config: &BondConfig,
    ports: &[Port],
) -> Result<Created, Error> {
    plan(pod, home, config, ports)?.apply()
}

impl Plan<'_> {
    /// What [`release`](crate::release) will put back: each port's MAC,
    /// MTU, up state and namespace from before.
    pub fn record(&self) -> &BondRecord {
        &self.record
    }

    /// Settings that are legal but probably not what was meant.
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Builds the bond: moves the ports in (with `home`), creates the bond
    /// with all its options in one message, enslaves the ports in order
    /// (each set down first, then given the bond as controller, which sets
    /// it up), and sets the bond up.
    ///
    /// If a step fails, every step before it is undone (ports released
    /// with their MACs, MTUs and up states, moved back home, the bond
    /// deleted) and the error names the step and port. A create request
    /// that fails for any reason but the name being taken may still have
    /// made the bond, so a bond of that name is deleted then too. If
    /// undoing fails, the error is [`Error::UndoFailed`].
    pub fn apply(self) -> Result<Created, Error> {
        let mut done = Done::default();
        match self.build(&mut done) {
            Ok(index) => Ok(Created {
                index,
                record: BondRecord {
                    index: Some(index),
                    ..self.record
                },
                warnings: self.warnings,
            }),
            Err(failure) => {
                let touched = BondRecord {
                    index: done.bond.index(),
                    ports: self.record.ports[..done.ports_touched].to_vec(),
                    ..self.record.clone()
                };
                let delete_bond = done.bond != BondState::NotCreated;
                if !delete_bond && touched.ports.is_empty() {
                    // Nothing was changed.
                    return Err(failure);
                }
                let left = restore(Some(self.pod), self.home, &touched, delete_bond);
                let mut undo = left.failures;
                // A port moved or enslaved that cannot be found again is
                // not put back either.
                undo.extend(left.missing.into_iter().map(|port| {
                    let from_home = touched.ports.iter().any(|p| p.name == port && p.from_home);
                    Error::PortNotFound {
                        bond: touched.bond,
                        port,
                        namespace: if from_home { "home" } else { "pod" },
                    }
                }));
                if undo.is_empty() {
                    Err(failure)
                } else {
                    Err(Error::UndoFailed {
                        failure: Box::new(failure),
                        undo,
                    })
                }
            }
        }
    }

    fn build(&self, done: &mut Done) -> Result<u32, Error> {
        let bond = &self.config.name;
        let fail = |step, port: Option<&IfName>| {
            let bond = *bond;
            let port = port.copied();
            move |source| Error::Netlink {
                bond,
                step,
                port,
                source: Box::new(source),
            }
        };
        let pod = self.pod.netlink();

        // Moved ports come first: the bond's options may name them.
        if let Some(home) = self.home {
            for (i, port) in self.ports.iter().enumerate() {
                done.ports_touched = i + 1;
                if let Some(index) = port.home_index {
                    home.netlink()
                        .move_link(index, self.pod.ns(), None)
                        .map_err(fail(Step::MovePortIn, Some(&port.name)))?;
                }
            }
        }

        let primary = match &self.config.options.primary {
            Some(name) => {
                let port = self.ports.iter().find(|p| &p.name == name);
                match port.and_then(|p| p.pod_index) {
                    Some(index) => Some(index),
                    None => Some(
                        pod.index_of(name)
                            .map_err(fail(Step::CreateBond, Some(name)))?,
                    ),
                }
            }
            None => None,
        };
        let target = LinkRef::from(bond);
        // The kernel echoes the new link, with its index, through
        // netlink-packet-route, which reads names as UTF-8 only: a bond
        // named otherwise is asked for its index instead.
        let echo = if bond.to_str().is_some() {
            NLM_F_ECHO
        } else {
            0
        };
        // From here until the kernel says otherwise, a bond may exist.
        done.bond = BondState::Maybe;
        let echoed = pod
            .raw_request(
                "create bond",
                Some(&target),
                nl::new_bond(&self.config, primary, self.mtu),
                NLM_F_CREATE | NLM_F_EXCL | echo,
            )
            .map_err(|e| {
                done.bond = after_failed_create(&e);
                fail(Step::CreateBond, None)(e)
            })?;
        // Kernels before 6.3 do not echo a new link; ask for its index then.
        let index = match echoed_index(&echoed, bond) {
            Some(index) => index,
            None => pod.index_of(bond).map_err(fail(Step::CreateBond, None))?,
        };
        done.bond = BondState::Created(index);

        for (i, port) in self.ports.iter().enumerate() {
            done.ports_touched = done.ports_touched.max(i + 1);
            let link = LinkRef::from(&port.name);
            // The kernel refuses to enslave a link that is up.
            if port.up_in_pod {
                pod.set_down(&link)
                    .map_err(fail(Step::PortDown, Some(&port.name)))?;
            }
            // The kernel sets the port up as it enslaves it.
            pod.change_link(&link, &LinkChange::new().controller(index))
                .map_err(fail(Step::Enslave, Some(&port.name)))?;
        }

        pod.set_up(index).map_err(fail(Step::BondUp, None))?;
        Ok(index)
    }
}

/// How far [`Plan::build`] got, for undoing.
#[derive(Debug, Default)]
struct Done {
    /// Ports `0..ports_touched` may have been changed.
    ports_touched: usize,
    bond: BondState,
}

/// Whether a build that failed left a bond behind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum BondState {
    /// Not asked for, or refused because the name is taken: any link of
    /// that name is someone else's.
    #[default]
    NotCreated,
    /// Asked for without a clear answer (a socket error, a lost reply, a
    /// failure after the kernel made it): a bond of that name, which plan
    /// found free, is ours.
    Maybe,
    /// Created, with this index.
    Created(u32),
}

impl BondState {
    /// The bond's index, when known.
    fn index(self) -> Option<u32> {
        match self {
            BondState::Created(index) => Some(index),
            BondState::NotCreated | BondState::Maybe => None,
        }
    }
}

/// What a create request that failed with `error` left: nothing when the
/// name was taken (`EEXIST`, so the link is someone else's), else maybe a
/// bond.
fn after_failed_create(error: &netplumb_netns::Error) -> BondState {
    if error.is_already_exists() {
        BondState::NotCreated
    } else {
        BondState::Maybe
    }
}

/// The index of the link named `name` among the messages the kernel echoed.
fn echoed_index(replies: &[RouteNetlinkMessage], name: &IfName) -> Option<u32> {
    replies.iter().find_map(|m| match m {
        RouteNetlinkMessage::NewLink(link)
            if link
                .attributes
                .iter()
                .any(|a| matches!(a, LinkAttribute::IfName(n) if *name == n.as_str())) =>
        {
            Some(link.header.index).filter(|&i| i != 0)
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::tests::link;
    use netplumb_netns::raw::netlink_packet_route::link::LinkMessage;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn new_link(index: u32, name: &str) -> RouteNetlinkMessage {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.attributes.push(LinkAttribute::IfName(name.into()));
        RouteNetlinkMessage::NewLink(m)
    }

    #[test]
    fn the_echoed_index_is_the_named_links() {
        let replies = [new_link(4, "net1"), new_link(9, "bond0")];
        assert_eq!(echoed_index(&replies, &name("bond0")), Some(9));
        assert_eq!(echoed_index(&replies, &name("bond1")), None);
        assert_eq!(echoed_index(&[new_link(0, "bond0")], &name("bond0")), None);
        assert_eq!(echoed_index(&[], &name("bond0")), None);
    }

    fn ports(names: &[&str]) -> Vec<Port> {
        names.iter().map(|n| Port::vf(name(n))).collect()
    }

    /// The indexes of the links `check_ports` found, or its error's text.
    fn checked(
        names: &[&str],
        pod: &[LinkInfo],
        home: Option<&[LinkInfo]>,
    ) -> Result<Vec<u32>, String> {
        check_ports(&name("bond0"), &ports(names), pod, home)
            .map(|found| found.iter().map(|l| l.index).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn ports_are_found_where_they_start() {
        let pod = [link(1, "lo", 1), link(4, "net1", 4), link(5, "net2", 5)];
        assert_eq!(checked(&["net2", "net1"], &pod, None), Ok(vec![5, 4]));
        let home = [link(7, "eth1", 7), link(8, "eth2", 8)];
        assert_eq!(
            checked(&["eth1", "eth2"], &pod, Some(&home)),
            Ok(vec![7, 8])
        );
    }

    #[test]
    fn links_of_any_name_are_passed_over() {
        let mut odd = link(3, "x", 3);
        odd.name = IfName::new(b"net\xff").unwrap();
        odd.kind = Some("brand-new-kind".into());
        let pod = [odd, link(4, "net1", 4), link(5, "net2", 5)];
        assert_eq!(checked(&["net1", "net2"], &pod, None), Ok(vec![4, 5]));
        let ports = [
            Port::vf(IfName::new(b"net\xff").unwrap()),
            Port::vf(name("net1")),
        ];
        let found = check_ports(&name("bond0"), &ports, &pod, None).unwrap();
        assert_eq!(found[0].index, 3);
    }

    #[test]
    fn a_missing_port_is_named_with_where_it_was_looked_for() {
        let pod = [link(4, "net1", 4)];
        let err = check_ports(&name("bond0"), &ports(&["net1", "net9"]), &pod, None).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::PortNotFound {
                    namespace: "pod",
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(err.port(), Some(&name("net9")));
        // With home, ports are looked for there only.
        let home = [link(4, "eth1", 4)];
        let err = checked(&["eth1", "net1"], &[link(1, "lo", 1)], Some(&home)).unwrap_err();
        assert_eq!(
            err,
            "bond bond0: port \"net1\" does not exist in the home namespace"
        );
    }

    #[test]
    fn a_port_with_a_controller_is_in_use() {
        let mut taken = link(5, "net2", 5);
        taken.controller = Some(9);
        let pod = [link(4, "net1", 4), taken];
        let err = check_ports(&name("bond0"), &ports(&["net1", "net2"]), &pod, None).unwrap_err();
        match &err {
            Error::PortInUse {
                port, controller, ..
            } => {
                assert_eq!((*port, *controller), (name("net2"), 9));
            }
            other => panic!("expected PortInUse, got {other:?}"),
        }
        assert!(err.to_string().contains("ifindex 9"), "{err}");
    }

    #[test]
    fn a_port_without_an_ethernet_mac_is_refused() {
        let mut tunnel = link(5, "net2", 5);
        tunnel.mac = None;
        let err = checked(&["net1", "net2"], &[link(4, "net1", 4), tunnel], None).unwrap_err();
        assert!(
            err.contains("port \"net2\" has no Ethernet MAC address"),
            "{err}"
        );
    }

    #[test]
    fn names_that_would_clash_in_the_pod_are_taken() {
        let pod = [link(3, "bond0", 3), link(4, "net1", 4), link(5, "net2", 5)];
        let err = check_ports(&name("bond0"), &ports(&["net1", "net2"]), &pod, None).unwrap_err();
        assert!(matches!(&err, Error::NameTaken { name: n, .. } if *n == "bond0"));
        // A port moved in from home keeps its name, which must be free.
        let pod = [link(1, "lo", 1), link(5, "eth2", 5)];
        let home = [link(7, "eth1", 7), link(8, "eth2", 8)];
        let err =
            check_ports(&name("bond0"), &ports(&["eth1", "eth2"]), &pod, Some(&home)).unwrap_err();
        assert!(matches!(&err, Error::NameTaken { name: n, .. } if *n == "eth2"));
        assert_eq!(
            err.to_string(),
            "bond bond0: a link named \"eth2\" already exists in the pod namespace"
        );
    }

    #[test]
    fn only_a_taken_name_says_no_bond_was_made() {
        let kernel = |errno| netplumb_netns::Error::Kernel {
            op: "create bond".into(),
            link: Some("bond0".into()),
            errno,
            ext_ack: None,
            attribute: None,
        };
        assert_eq!(after_failed_create(&kernel(17)), BondState::NotCreated); // EEXIST
        for errno in [95, 105, 16] {
            // EOPNOTSUPP, ENOBUFS, EBUSY
            assert_eq!(after_failed_create(&kernel(errno)), BondState::Maybe);
        }
        assert_eq!(BondState::Created(9).index(), Some(9));
        assert_eq!(BondState::Maybe.index(), None);
    }

    #[test]
    fn ports_say_whether_they_are_vfs() {
        assert_eq!(
            Port::vf(name("net1")),
            Port {
                name: name("net1"),
                is_vf: true
            }
        );
        assert!(!Port::other(name("eth1")).is_vf);
    }
}
