//! The `bond` plugin: two or more links of a pod (VFs, usually one from
//! each PF) bonded inside it, so that losing a port does not lose the pod's
//! network; bond-cni's configuration, and more of the kernel's options.

use std::path::Path;

use netplumb_bond::{inspect, plan, BondInfo, BondMode, BondRecord, Home, Pod, Port, PortRecord};
use netplumb_cniconf::skel::{Plugin, Request};
use netplumb_cniconf::{BondConf, CniResult, Command, ErrorReply, Interface};
use netplumb_netns::{NetNs, Netlink};
use netplumb_types::{Chain, IfName, PciAddr};
use netplumb_vf::NsRef;

use crate::attachment::{self, Attach, Invocation, Node};
use crate::journal::{Record, Step};
use crate::{bond_config, ipam, Error};

/// The `bond` plugin. Stateless between invocations: the journal holds
/// what each bond's DEL puts back.
#[derive(Debug, Clone, Default)]
pub struct Bond {
    node: Node,
}

impl Bond {
    /// A plugin telling VFs among ports as `node`'s sysfs shows them.
    pub fn new(node: Node) -> Bond {
        Bond { node }
    }

    /// Each of `names` as a port to enslave, VF or not: a link on a PCI
    /// function with a PF is a VF (sysfs does not follow the pod's
    /// namespace, but the device does). The device is the one the kernel
    /// reports, or before 5.16 the one the driver names
    /// ([`Netlink::device_of`]).
    fn ports(&self, netlink: &Netlink, names: &[IfName]) -> Result<Vec<Port>, Error> {
        let links = netlink
            .links()
            .map_err(Error::at("reading the links of the ports' namespace"))?;
        // A kernel that reports any link's parent reports them all (5.16
        // on): a link without one then sits on no device, and its driver
        // need not be asked.
        let kernel_reports = links.iter().any(|l| l.parent_device.is_some());
        let mut ports = Vec::with_capacity(names.len());
        for name in names {
            let device = match links.iter().find(|l| l.name == *name) {
                Some(link) if kernel_reports => link.parent_device.clone(),
                Some(link) => match netlink.device_of(link) {
                    Ok(device) => device,
                    // Gone meanwhile: planning the bond says so.
                    Err(e) if e.is_no_such_link() => None,
                    Err(e) => return Err(Error::step("asking which device a port sits on", e)),
                },
                None => None,
            };
            let is_vf = device
                .and_then(|d| d.parse::<PciAddr>().ok())
                .and_then(|addr| self.node.sysfs.vf(addr).ok())
                .is_some_and(|vf| vf.pf.is_some());
            ports.push(if is_vf {
                Port::vf(*name)
            } else {
                Port::other(*name)
            });
        }
        Ok(ports)
    }
}

impl Plugin for Bond {
    fn add(&mut self, req: &Request<'_>) -> Result<CniResult, ErrorReply> {
        attachment::add(self, req)
    }

    fn del(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::del(self, req)
    }

    fn check(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::check(self, req)
    }

    fn status(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::status::<BondConf>(req)
    }

    fn gc(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::gc(self, req)
    }
}

impl Attach for Bond {
    type Conf = BondConf;
    const NAME: &'static str = "bond";

    fn node(&self) -> &Node {
        &self.node
    }

    fn attach(
        &self,
        inv: &Invocation<'_, BondConf>,
        netns: &Path,
        record: &mut Record,
    ) -> Result<CniResult, Error> {
        let conf = &inv.conf;
        let pod_ns =
            NetNs::open(netns).map_err(Error::at("opening the pod's network namespace"))?;
        let pod = Pod::open(&pod_ns).map_err(Error::at("opening the pod's network namespace"))?;
        let home_ns;
        let home = if conf.links_in_container {
            None
        } else {
            home_ns =
                NetNs::current().map_err(Error::at("opening the host's network namespace"))?;
            Some(Home::open(&home_ns).map_err(Error::at("opening the host's network namespace"))?)
        };
        let config = bond_config(conf, inv.ifname());
        let bond_name = config.name;
        let ports_netlink = home.as_ref().map_or(pod.netlink(), Home::netlink);
        let ports = self.ports(ports_netlink, &conf.links)?;
        let planned = plan(&pod, home.as_ref(), &config, &ports)
            .map_err(Error::at("checking the bond against its ports"))?;
        for warning in planned.warnings() {
            inv.log.warning(format!("bond {bond_name}: {warning}"));
        }
        let pod_ref = NsRef::of(&pod_ns);
        inv.note(
            record,
            Step::Bond {
                record: Box::new(planned.record().clone()),
                pod: pod_ref.clone(),
            },
        )?;
        let created = planned.apply().map_err(Error::at("building the bond"))?;
        inv.renote(
            record,
            Step::Bond {
                record: Box::new(created.record.clone()),
                pod: pod_ref,
            },
        )?;
        inv.log.info(format!(
            "bond {bond_name} built over {}",
            names(&conf.links)
        ));

        let answer = match &conf.net.ipam {
            Some(ipam_conf) => {
                inv.note(
                    record,
                    Step::Ipam {
                        plugin: ipam_conf.plugin_type.clone(),
                    },
                )?;
                let answer = ipam::run(inv.req, Command::Add)?.ok_or_else(|| Error::Ipam {
                    plugin: ipam_conf.plugin_type.clone(),
                    problem: "it printed no result".into(),
                })?;
                let config = ipam::ip_config(&answer);
                pod_ns
                    .configure_ip(&bond_name, &config)
                    .map_err(Error::at("configuring the bond's addresses and routes"))?;
                Some(answer)
            }
            None => None,
        };

        let info = inspect(pod.netlink(), &bond_name).map_err(Error::at("reading the bond"))?;
        if let Some(answer) = &answer {
            ipam::announce(&inv.log, &pod_ns, bond_name, answer);
        }
        let sandbox = netns.display().to_string();
        let bond_interface = Interface {
            name: bond_name.to_string(),
            mac: info.link.mac.map(|m| m.to_string()),
            mtu: Some(info.link.mtu),
            sandbox: Some(sandbox.clone()),
            ..Interface::default()
        };
        let mut result = ipam::result(
            inv.req.conf.prev_result()?,
            bond_interface,
            answer.as_ref(),
            conf.net.dns.as_ref(),
        );
        result
            .interfaces
            .extend(info.ports.iter().map(|port| Interface {
                name: port.link.name.to_string(),
                mac: port.link.mac.map(|m| m.to_string()),
                mtu: Some(port.link.mtu),
                sandbox: Some(sandbox.clone()),
                ..Interface::default()
            }));
        Ok(result)
    }

    fn check(
        &self,
        inv: &Invocation<'_, BondConf>,
        _record: &Record,
        expected: &CniResult,
        differences: &mut Vec<String>,
    ) -> Result<(), Error> {
        let netns = inv.req.env.netns.clone().expect("CHECK has CNI_NETNS");
        let pod_ns =
            NetNs::open(&netns).map_err(Error::at("opening the pod's network namespace"))?;
        let netlink = pod_ns
            .netlink()
            .map_err(Error::at("opening the pod's network namespace"))?;
        let config = bond_config(&inv.conf, inv.ifname());
        let info = match inspect(&netlink, &config.name) {
            Ok(info) => info,
            Err(e) => {
                differences.push(Chain(&e).to_string());
                return Ok(());
            }
        };
        compare(&inv.conf, &config.name, &info, differences);
        let bond_name = config.name.to_string();
        let index = expected
            .interfaces
            .iter()
            .position(|i| i.name == bond_name)
            .and_then(|i| u32::try_from(i).ok());
        let have = netlink
            .addresses(info.link.index)
            .map_err(Error::at("reading the bond's addresses"))?;
        for ip in expected.ips.iter().filter(|ip| ip.interface == index) {
            if !have.iter().any(|a| a.address == ip.address) {
                differences.push(format!("bond {bond_name} does not have {}", ip.address));
            }
        }
        Ok(())
    }

    /// Without a record, the bond of the configuration's name in the pod
    /// is taken apart as it is, when it looks like this attachment's
    /// ([`not_ours`]): its ports released where they are (the configured
    /// links moved home when they came from there), the bond deleted. What
    /// they were before the bond is not known.
    fn del_unrecorded(&self, inv: &Invocation<'_, BondConf>) -> Result<(), Error> {
        let Some(netns) = inv.req.env.netns.as_ref() else {
            return Ok(());
        };
        let pod_ns = match NetNs::open(netns) {
            Ok(ns) => ns,
            Err(e) if e.is_gone() => return Ok(()),
            Err(e) => return Err(Error::step("opening the pod's network namespace", e)),
        };
        let pod = Pod::open(&pod_ns).map_err(Error::at("opening the pod's network namespace"))?;
        let name = inv.conf.ifname.unwrap_or(inv.ifname());
        let info = match inspect(pod.netlink(), &name) {
            Ok(info) => info,
            Err(e) if e.kind() == netplumb_types::ErrorKind::NotFound => {
                inv.log.info(format!("no bond {name} in the pod"));
                return Ok(());
            }
            Err(e) => return Err(Error::step("reading the bond", e)),
        };
        if let Some(why) = not_ours(&inv.conf, &info) {
            inv.log.warning(format!(
                "bond {name} in the pod is left as it is: {why}, so it is not this \
                 attachment's"
            ));
            return Ok(());
        }
        let record = as_found(&inv.conf, &info);
        let home_ns;
        let home = if record.ports.iter().any(|p| p.from_home) {
            home_ns =
                NetNs::current().map_err(Error::at("opening the host's network namespace"))?;
            Some(Home::open(&home_ns).map_err(Error::at("opening the host's network namespace"))?)
        } else {
            None
        };
        let released = netplumb_bond::release(Some(&pod), home.as_ref(), &record)
            .map_err(Error::at("taking the bond apart"))?;
        inv.log.info(format!(
            "bond {name} taken apart as found, without a journal record"
        ));
        if !released.missing.is_empty() {
            inv.log.warning(format!(
                "bond {name}: ports not found: {}",
                names(&released.missing)
            ));
        }
        Ok(())
    }
}

/// Why the bond `info` shows cannot be the one `conf` built, if it cannot:
/// another mode, no port, or a port that is none of the configured links.
/// A DEL without a record comes after an ADD that failed too (its record
/// goes with what it undid), as when the pod had a bond of that name
/// already: that bond is the pod's, not this attachment's to take apart.
fn not_ours(conf: &BondConf, info: &BondInfo) -> Option<String> {
    if info.mode != conf.options.mode {
        return Some(format!(
            "its mode is {}, not {}",
            info.mode, conf.options.mode
        ));
    }
    if info.ports.is_empty() {
        return Some("it has no port".into());
    }
    info.ports
        .iter()
        .find(|port| !conf.links.contains(&port.link.name))
        .map(|port| format!("its port {} is not one of the links", port.link.name))
}

/// A record of the bond `info` shows, as DEL can take it apart without the
/// one ADD wrote: each port as it is now (the MAC it had when it was
/// enslaved, its MTU, up), from home when the configuration says the links
/// came from there.
fn as_found(conf: &BondConf, info: &BondInfo) -> BondRecord {
    let ports = info
        .ports
        .iter()
        .map(|port| {
            let from_home = !conf.links_in_container && conf.links.contains(&port.link.name);
            let mac = port.permanent_mac.or(port.link.mac).unwrap_or_default();
            let mut record = PortRecord::new(port.link.name, from_home, mac, port.link.mtu, true);
            record.index = Some(port.link.index);
            record.permanent_mac = port.link.permanent_mac;
            record
        })
        .collect();
    let mut record = BondRecord::new(info.link.name, ports);
    record.index = Some(info.link.index);
    record
}

/// Each way `info` differs from what `conf` asks for.
fn compare(conf: &BondConf, name: &IfName, info: &BondInfo, differences: &mut Vec<String>) {
    let options = &conf.options;
    let mut differ = |what: &str, have: String, want: String| {
        if have != want {
            differences.push(format!("bond {name}: {what} is {have}, not {want}"));
        }
    };
    differ("mode", info.mode.to_string(), options.mode.to_string());
    differ(
        "miimon",
        info.miimon.to_string(),
        options.effective_miimon().to_string(),
    );
    if let Some(ms) = options.updelay {
        differ("updelay", info.updelay.to_string(), ms.to_string());
    }
    if let Some(ms) = options.downdelay {
        differ("downdelay", info.downdelay.to_string(), ms.to_string());
    }
    if let Some(policy) = options.fail_over_mac {
        differ(
            "fail_over_mac",
            info.fail_over_mac.to_string(),
            policy.to_string(),
        );
    }
    if let Some(policy) = options.xmit_hash_policy {
        differ(
            "xmit_hash_policy",
            info.xmit_hash_policy.to_string(),
            policy.to_string(),
        );
    }
    if let Some(on) = options.all_slaves_active {
        differ(
            "all_slaves_active",
            info.all_slaves_active.to_string(),
            on.to_string(),
        );
    }
    if let Some(on) = options.tlb_dynamic_lb {
        differ(
            "tlb_dynamic_lb",
            info.tlb_dynamic_lb.to_string(),
            on.to_string(),
        );
    }
    if let Some(primary) = options.primary {
        differ(
            "primary",
            info.primary.map_or("none".into(), |p| p.to_string()),
            primary.to_string(),
        );
    }
    for link in &conf.links {
        if !info.ports.iter().any(|p| p.link.name == *link) {
            differences.push(format!("bond {name}: {link} is not one of its ports"));
        }
    }
    if options.mode == BondMode::ActiveBackup && info.active_port.is_none() {
        differences.push(format!("bond {name}: no port is active"));
    }
}

fn names(links: &[IfName]) -> String {
    links
        .iter()
        .map(IfName::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(extra: &str) -> BondConf {
        BondConf::from_slice(
            format!(
                r#"{{"cniVersion": "1.0.0", "name": "bond-net", "type": "bond",
                    "mode": "active-backup", "miimon": "100", "failOverMac": 1,
                    "links": [{{"name": "net1"}}, {{"name": "net2"}}] {extra}}}"#
            )
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_bond_as_built_has_no_differences_and_each_difference_is_named() {
        let conf = conf("");
        // The bond the kernel reports for the configuration, as the fake
        // kernel's bond_info would read it.
        let mut info = BondInfo::new(
            netplumb_netns::LinkInfo::new(10, "bond0".parse().unwrap()),
            BondMode::ActiveBackup,
        );
        info.miimon = 100;
        info.fail_over_mac = netplumb_types::FailOverMac::Active;
        info.active_port = Some("net1".parse().unwrap());
        for (index, name) in [(11, "net1"), (12, "net2")] {
            info.ports
                .push(netplumb_bond::PortInfo::new(netplumb_netns::LinkInfo::new(
                    index,
                    name.parse().unwrap(),
                )));
        }
        let bond0: IfName = "bond0".parse().unwrap();
        let mut differences = Vec::new();
        compare(&conf, &bond0, &info, &mut differences);
        assert!(differences.is_empty(), "{differences:?}");

        info.miimon = 200;
        info.active_port = None;
        info.ports.pop();
        compare(&conf, &bond0, &info, &mut differences);
        assert_eq!(
            differences,
            [
                "bond bond0: miimon is 200, not 100",
                "bond bond0: net2 is not one of its ports",
                "bond bond0: no port is active",
            ]
        );
    }

    #[test]
    fn only_a_bond_that_may_be_the_configured_one_is_taken_apart_without_a_record() {
        let conf = conf("");
        let port = |index, name: &str| {
            netplumb_bond::PortInfo::new(netplumb_netns::LinkInfo::new(
                index,
                name.parse().unwrap(),
            ))
        };
        let mut info = BondInfo::new(
            netplumb_netns::LinkInfo::new(10, "bond0".parse().unwrap()),
            BondMode::ActiveBackup,
        );
        assert_eq!(not_ours(&conf, &info).as_deref(), Some("it has no port"));
        info.ports.push(port(11, "net1"));
        assert_eq!(not_ours(&conf, &info), None, "one of its ports may be gone");
        info.ports.push(port(12, "eth7"));
        assert_eq!(
            not_ours(&conf, &info).as_deref(),
            Some("its port eth7 is not one of the links")
        );
        info.ports.pop();
        info.mode = BondMode::BalanceXor;
        assert_eq!(
            not_ours(&conf, &info).as_deref(),
            Some("its mode is balance-xor, not active-backup")
        );
    }

    #[test]
    fn a_bond_found_without_a_record_is_released_as_it_is() {
        let mut info = BondInfo::new(
            netplumb_netns::LinkInfo::new(10, "bond0".parse().unwrap()),
            BondMode::ActiveBackup,
        );
        let mut port = netplumb_netns::LinkInfo::new(11, "net1".parse().unwrap());
        port.mac = Some(netplumb_types::MacAddr([2, 0, 0, 0, 0, 1]));
        port.mtu = 9000;
        info.ports.push(netplumb_bond::PortInfo::new(port));
        let record = as_found(&conf(r#", "linksInContainer": true"#), &info);
        assert_eq!(record.index, Some(10));
        assert_eq!(record.ports[0].mtu, 9000);
        assert_eq!(record.ports[0].index, Some(11));
        assert!(!record.ports[0].from_home);
        let moved_in = as_found(&conf(""), &info);
        assert!(moved_in.ports[0].from_home, "links came from the host");
    }
}
