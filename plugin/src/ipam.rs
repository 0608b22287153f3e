//! IPAM: asking the delegated plugin, and what its answer means for the
//! pod's interface.

use std::time::{Duration, Instant};

use netplumb_cniconf::skel::{delegate, Limits, Request};
use netplumb_cniconf::{CniResult, Command, Dns, Interface};
use netplumb_netns::{IpConfig, NetNs};
use netplumb_types::{Chain, IfName};

use crate::{Error, Log};

/// How long ADD waits for the pod's interface to have carrier before it
/// announces its addresses. Some VF drivers notice their link only in a
/// periodic watchdog (igbvf's runs every 2 s; on 5.10 a VF set up in a pod
/// has no carrier for over 500 ms), and an announcement sent before that
/// is lost.
const CARRIER_WAIT: Duration = Duration::from_secs(3);

/// Carrier seen within this long was there at the first look.
const CARRIER_SEEN_AT_ONCE: Duration = Duration::from_millis(20);

/// When a link whose carrier just came up is announced again.
const ANNOUNCE_AGAIN_AFTER: Duration = Duration::from_millis(250);

/// Runs the configuration's IPAM plugin for `command`, with the
/// invocation's environment and configuration otherwise. `None` for a
/// command that gives no result, or a configuration without IPAM.
///
/// A DEL for an IPAM plugin that is not in `CNI_PATH` has nothing to
/// release (no ADD of it can have run): it is done, not an error that
/// would keep every later DEL of the attachment, and the cleanup of an ADD
/// that failed for that very reason, from ever succeeding.
pub fn run(req: &Request<'_>, command: Command) -> Result<Option<CniResult>, Error> {
    let Some(ipam) = &req.conf.ipam else {
        return Ok(None);
    };
    let mut env = req.env.clone();
    env.command = command;
    match delegate(
        &ipam.plugin_type,
        "ipam.type",
        &env,
        req.stdin,
        &Limits::default(),
    ) {
        Err(netplumb_cniconf::Error::InvalidEnv {
            var: "CNI_PATH", ..
        }) if command == Command::Del => Ok(None),
        answer => Ok(answer?),
    }
}

/// The addresses and routes of `ipam`'s answer, as they go on one
/// interface: every address (IPAM plugins answer for the one interface
/// they were asked about) with its prefix, and every route, each with its
/// own gateway, or the first gateway an address of its family gives.
pub fn ip_config(ipam: &CniResult) -> IpConfig {
    let gateway_of = |v4: bool| {
        ipam.ips
            .iter()
            .filter(|ip| ip.address.is_ipv4() == v4)
            .find_map(|ip| ip.gateway)
    };
    let routes: Vec<netplumb_netns::Route> = ipam
        .routes
        .iter()
        .map(|route| {
            let mut r = netplumb_netns::Route::new(route.dst);
            if let Some(gw) = route.gw.or_else(|| gateway_of(route.dst.is_ipv4())) {
                r = r.via(gw);
            }
            if let Some(metric) = route.priority {
                r = r.metric(metric);
            }
            if let Some(table) = route.table {
                r = r.table(table);
            }
            r
        })
        .collect();
    let mut config = IpConfig::new();
    for ip in &ipam.ips {
        config = config.address(ip.address);
        if let Some(gateway) = ip.gateway {
            config = config.gateway(gateway);
        }
    }
    routes.into_iter().fold(config, IpConfig::route)
}

/// The result of an ADD that attached `interface`: the previous plugin's
/// result when there is one (a plugin later in a list), with `interface`
/// added and `ipam`'s addresses pointing at it, its routes, and its DNS
/// (else the configuration's `dns`).
pub fn result(
    prev: Option<CniResult>,
    interface: Interface,
    ipam: Option<&CniResult>,
    dns: Option<&Dns>,
) -> CniResult {
    let mut result = prev.unwrap_or_else(|| CniResult::new(netplumb_cniconf::CniVersion::LATEST));
    let index = u32::try_from(result.interfaces.len()).unwrap_or(u32::MAX);
    result.interfaces.push(interface);
    if let Some(ipam) = ipam {
        result.ips.extend(ipam.ips.iter().cloned().map(|mut ip| {
            ip.interface = Some(index);
            ip
        }));
        result.routes.extend(ipam.routes.iter().cloned());
        if !ipam.dns.is_empty() {
            result.dns = ipam.dns.clone();
        }
    }
    if result.dns.is_empty() {
        if let Some(dns) = dns {
            result.dns = dns.clone();
        }
    }
    result
}

/// Announces `answer`'s addresses from `link` in `pod`, once it has
/// carrier (waiting three seconds at most; when the carrier only just came
/// up, once more 250 ms later), so that peers learn its MAC at once. Best effort, as the kernel's own announcements are: a peer
/// that misses it learns the MAC when it next asks.
pub fn announce(log: &Log, pod: &NetNs, link: IfName, answer: &CniResult) {
    let looking = Instant::now();
    let carrier = pod
        .netlink()
        .and_then(|nl| nl.wait_for_carrier(link, CARRIER_WAIT));
    // Carrier that came during the wait is new, and a link whose carrier
    // has only just come up may lose the first frames it sends (seen with
    // igbvf on 5.10): those get the announcement once more, a moment later.
    let just_up = matches!(carrier, Ok(true)) && looking.elapsed() >= CARRIER_SEEN_AT_ONCE;
    match carrier {
        Ok(true) => {}
        Ok(false) => log.info(format!(
            "{link} has no carrier after {} ms; announcing anyway",
            CARRIER_WAIT.as_millis()
        )),
        Err(e) => log.warning(format!("reading {link}'s carrier: {}", Chain(&e))),
    }
    let ips: Vec<_> = answer.ips.iter().map(|ip| ip.address.ip()).collect();
    match pod.announce(&link, &ips) {
        Ok(()) => log.info(format!("announced {ips:?} from {link}")),
        Err(e) => log.warning(format!("announcing {ips:?} from {link}: {}", Chain(&e))),
    }
    if just_up {
        std::thread::sleep(ANNOUNCE_AGAIN_AFTER);
        match pod.announce(&link, &ips) {
            Ok(()) => log.debug(format!("announced {ips:?} from {link} again")),
            Err(e) => log.warning(format!(
                "announcing {ips:?} from {link} again: {}",
                Chain(&e)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netplumb_cniconf::{Env, NetConf};

    fn request<'a>(command: &str, path: &str, stdin: &'a [u8]) -> Request<'a> {
        let env = Env::from_vars([
            ("CNI_COMMAND", command),
            ("CNI_CONTAINERID", "c1"),
            ("CNI_NETNS", "/run/netns/p"),
            ("CNI_IFNAME", "net1"),
            ("CNI_PATH", path),
        ])
        .unwrap();
        let conf = NetConf::from_slice(stdin).unwrap();
        let version = conf.result_version();
        Request {
            env,
            stdin,
            conf,
            version,
        }
    }

    #[test]
    fn a_missing_ipam_plugin_fails_add_and_has_nothing_to_release() {
        let stdin = br#"{"cniVersion": "1.0.0", "name": "n", "type": "sriov",
                         "ipam": {"type": "netplumb-no-such-ipam"}}"#;
        let nowhere = "/nonexistent/netplumb-cni";
        let err = run(&request("ADD", nowhere, stdin), Command::Add).unwrap_err();
        assert!(err.to_string().contains("netplumb-no-such-ipam"), "{err}");
        assert_eq!(
            run(&request("DEL", nowhere, stdin), Command::Del).unwrap(),
            None
        );
        // An IPAM plugin that runs and fails its DEL still fails it.
        let failing = br#"{"cniVersion": "1.0.0", "name": "n", "type": "sriov",
                           "ipam": {"type": "false"}}"#;
        assert!(run(&request("DEL", "/bin:/usr/bin", failing), Command::Del).is_err());
    }

    fn ipam_answer() -> CniResult {
        CniResult::from_slice(
            br#"{
                "cniVersion": "1.0.0",
                "ips": [
                    {"address": "192.0.2.10/24", "gateway": "192.0.2.1"},
                    {"address": "2001:db8::10/64", "gateway": "2001:db8::1"}
                ],
                "routes": [{"dst": "0.0.0.0/0"}, {"dst": "::/0"}, {"dst": "198.51.100.0/24", "gw": "192.0.2.254"}],
                "dns": {"nameservers": ["192.0.2.53"]}
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn routes_without_a_gateway_take_their_family_s_and_addresses_go_on_the_link() {
        let config = ip_config(&ipam_answer());
        assert_eq!(
            config.addresses,
            vec![
                "192.0.2.10/24".parse().unwrap(),
                "2001:db8::10/64".parse().unwrap()
            ]
        );
        let gateways: Vec<_> = config.routes.iter().map(|r| r.gateway).collect();
        assert_eq!(
            gateways,
            vec![
                Some("192.0.2.1".parse().unwrap()),
                Some("2001:db8::1".parse().unwrap()),
                Some("192.0.2.254".parse().unwrap())
            ]
        );
    }

    #[test]
    fn the_result_adds_the_interface_and_points_the_addresses_at_it() {
        let iface = Interface {
            name: "net1".into(),
            sandbox: Some("/run/netns/pod".into()),
            ..Interface::default()
        };
        let first = result(None, iface.clone(), Some(&ipam_answer()), None);
        assert_eq!(first.interfaces, vec![iface.clone()]);
        assert!(first.ips.iter().all(|ip| ip.interface == Some(0)));
        assert_eq!(first.dns.nameservers, vec!["192.0.2.53".to_owned()]);

        // Later in a list: what came before is kept.
        let mut prev = CniResult::new(netplumb_cniconf::CniVersion::LATEST);
        prev.interfaces.push(Interface {
            name: "eth0".into(),
            ..Interface::default()
        });
        let second = result(Some(prev), iface, Some(&ipam_answer()), None);
        assert_eq!(second.interfaces.len(), 2);
        assert!(second.ips.iter().all(|ip| ip.interface == Some(1)));

        let dns = Dns {
            nameservers: vec!["198.51.100.53".into()],
            ..Dns::default()
        };
        let without_ipam = result(None, Interface::default(), None, Some(&dns));
        assert_eq!(without_ipam.dns, dns);
        assert!(without_ipam.ips.is_empty());
    }
}
