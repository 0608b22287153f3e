//! Properties: serialize then parse is the identity; converting results
//! between versions keeps what both versions hold; no input panics a parser.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::IpNetwork;
use netplumb_cniconf::{
    BondConf, BondMode, BondOptions, CniArgs, CniResult, CniVersion, Dns, Env, ErrorReply,
    FailOverMac, GcAttachment, IfName, Interface, IpConfig, Ipam, LogLevel, MacAddr, NetConf,
    NetConfList, PciAddr, PluginOptions, Route, RuntimeConfig, SriovConf, VfLinkState, VlanProto,
    XmitHashPolicy,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Map, Value};

// ---- strategies ----

fn ifname() -> impl Strategy<Value = IfName> {
    "[a-z][a-z0-9._-]{0,14}".prop_map(|s| s.parse().unwrap())
}

fn identifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9_.-]{0,20}"
}

fn version() -> impl Strategy<Value = CniVersion> {
    prop::sample::select(CniVersion::ALL.to_vec())
}

fn ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))),
        any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))),
    ]
}

/// An address of the same family as `like`.
fn ip_like(like: IpAddr) -> impl Strategy<Value = IpAddr> {
    ip().prop_map(move |ip| match (like, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => IpAddr::V4(Ipv4Addr::from(v6.to_bits() as u32)),
        (IpAddr::V6(_), IpAddr::V4(v4)) => IpAddr::V6(Ipv6Addr::from(u128::from(v4.to_bits()))),
        (_, ip) => ip,
    })
}

fn cidr() -> impl Strategy<Value = IpNetwork> {
    ip().prop_flat_map(|ip| {
        let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
        (Just(ip), 0..=max).prop_map(|(ip, p)| IpNetwork::new(ip, p).unwrap())
    })
}

fn text() -> impl Strategy<Value = String> {
    "[ -~]{0,12}"
}

/// JSON without floats, whose text form may not round-trip exactly.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Unknown fields: names no parser knows, values that are not null (null
/// reads as absent).
fn extra() -> impl Strategy<Value = Map<String, Value>> {
    btree_map(
        "x-[a-z]{1,6}",
        json_value().prop_filter("not null", |v| !v.is_null()),
        0..3,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn dns() -> impl Strategy<Value = Dns> {
    (
        vec(text(), 0..3),
        option::of(text()),
        vec(text(), 0..3),
        vec(text(), 0..3),
        extra(),
    )
        .prop_map(|(nameservers, domain, search, options, extra)| Dns {
            nameservers,
            domain,
            search,
            options,
            extra,
        })
}

fn net_conf() -> impl Strategy<Value = NetConf> {
    let ipam = option::of(
        ("[a-z][a-z-]{0,10}", extra()).prop_map(|(plugin_type, extra)| Ipam { plugin_type, extra }),
    );
    let runtime = option::of(
        (
            option::of(any::<[u8; 6]>().prop_map(MacAddr::new)),
            vec(cidr(), 0..3),
            option::of(text()),
            option::of("/var/run/k8s.cni.cncf.io/devinfo/cni/[a-z0-9_-]{1,20}"),
            extra(),
        )
            .prop_map(
                |(mac, ips, device_id, device_info_file, extra)| RuntimeConfig {
                    mac,
                    ips,
                    device_id,
                    device_info_file: device_info_file.map(Into::into),
                    extra,
                },
            ),
    );
    let attachments = option::of(vec(
        (identifier(), ifname()).prop_map(|(c, ifname)| GcAttachment {
            container_id: c.parse().unwrap(),
            ifname,
        }),
        0..3,
    ));
    (
        (
            option::of(version()),
            identifier(),
            "[a-z][a-z-]{0,10}",
            ipam,
            option::of(dns()),
        ),
        (
            option::of(extra()),
            runtime,
            option::of(json_value().prop_filter("not null", |v| !v.is_null())),
        ),
        (
            btree_map("[a-z]{1,8}", any::<bool>(), 0..3),
            attachments,
            extra(),
        ),
    )
        .prop_map(
            |(
                (cni_version, name, plugin_type, ipam, dns),
                (args, runtime_config, prev_result),
                (capabilities, valid_attachments, extra),
            )| {
                NetConf {
                    cni_version,
                    name,
                    plugin_type,
                    ipam,
                    dns,
                    args,
                    runtime_config,
                    prev_result,
                    capabilities,
                    valid_attachments,
                    extra,
                }
            },
        )
}

/// The shared fields of a config for one of this crate's plugins, whose
/// IPAM plugin is never the plugin itself.
fn plugin_net_conf() -> impl Strategy<Value = NetConf> {
    net_conf().prop_map(|mut net| {
        if let Some(ipam) = net
            .ipam
            .as_mut()
            .filter(|i| i.plugin_type == net.plugin_type)
        {
            ipam.plugin_type.push_str("-ipam");
        }
        net
    })
}

fn pci() -> impl Strategy<Value = PciAddr> {
    (any::<u32>(), any::<u8>(), 0u8..32, 0u8..8).prop_map(|(domain, bus, device, function)| {
        PciAddr::new(domain, bus, device, function).unwrap()
    })
}

fn sriov_conf() -> impl Strategy<Value = SriovConf> {
    let vlan = option::of((
        0u16..=4094,
        option::of(0u8..=7),
        option::of(prop::sample::select(vec![
            VlanProto::Dot1Q,
            VlanProto::Dot1Ad,
        ])),
    ));
    let rates = (option::of(any::<u32>()), option::of(any::<u32>()));
    (
        (
            plugin_net_conf(),
            option::of(pci()),
            option::of(ifname()),
            vlan,
            option::of(any::<[u8; 6]>().prop_map(MacAddr::new)),
        ),
        (
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            option::of(prop::sample::select(vec![
                VfLinkState::Auto,
                VfLinkState::Enable,
                VfLinkState::Disable,
            ])),
        ),
        (
            rates,
            option::of(prop::sample::select(vec![
                LogLevel::Panic,
                LogLevel::Error,
                LogLevel::Warning,
                LogLevel::Info,
                LogLevel::Debug,
            ])),
            // Levels sriov-cni does not know either.
            option::of("[a-z]{1,8}".prop_filter("not a known level", |s| {
                !["panic", "error", "warning", "info", "debug"].contains(&s.as_str())
            })),
        ),
        (
            option::of("(/[a-z0-9_-]{1,8}){1,3}\\.log"),
            option::of("/[a-z/]{0,12}"),
        ),
    )
        .prop_map(
            |(
                (mut net, device_id, master, vlan, mac),
                (spoofchk, trust, link_state),
                ((min, max), log_level, unknown_log_level),
                (log_file, data_dir),
            )| {
                if let Some(rc) = &mut net.runtime_config {
                    rc.device_id = device_id.map(|d| d.to_string());
                }
                let (vlan, vlan_qos, vlan_proto) = match vlan {
                    // A zero VLAN takes neither a priority nor 802.1ad.
                    Some((0, _, _)) => (Some(0), Some(0), Some(VlanProto::Dot1Q)),
                    Some((v, q, p)) => (Some(v), q, p),
                    None => (None, None, None),
                };
                let (min_tx_rate, max_tx_rate) = match (min, max) {
                    (Some(a), Some(b)) if b != 0 => (Some(a.min(b)), Some(a.max(b))),
                    other => other,
                };
                SriovConf {
                    net,
                    device_id,
                    // The same address, as Multus writes both.
                    pci_bus_id: device_id,
                    master,
                    vlan,
                    vlan_qos,
                    vlan_proto,
                    mac,
                    spoofchk,
                    trust,
                    link_state,
                    min_tx_rate,
                    max_tx_rate,
                    plugin: PluginOptions {
                        log_level: if unknown_log_level.is_some() {
                            Some(LogLevel::Info)
                        } else {
                            log_level
                        },
                        unknown_log_level,
                        log_file,
                        data_dir: data_dir.map(Into::into),
                    },
                }
            },
        )
}

fn bond_conf() -> impl Strategy<Value = BondConf> {
    (
        (
            plugin_net_conf(),
            option::of(ifname()),
            prop::sample::select(BondMode::ALL.to_vec()),
            0u32..=10_000,
        ),
        (
            option::of(prop::sample::select(FailOverMac::ALL.to_vec())),
            any::<bool>(),
        ),
        (
            prop::collection::btree_set(ifname(), 2..5),
            option::of(68u32..=65535),
            option::of(any::<bool>()),
        ),
        (
            option::of(prop::sample::select(XmitHashPolicy::ALL.to_vec())),
            option::of(any::<bool>()),
            any::<prop::sample::Index>(),
        ),
        // Delays as multiples of miimon, which the kernel keeps as given.
        (option::of(0u32..10), option::of(0u32..10), any::<bool>()),
    )
        .prop_map(
            |(
                (net, ifname, mode, miimon),
                (fail_over_mac, links_in_container),
                (links, mtu, all_slaves_active),
                (policy, tlb, primary_index),
                (updelay, downdelay, want_primary),
            )| {
                let links: Vec<IfName> = links.into_iter().collect();
                let mut options = BondOptions::new(mode);
                options.miimon = Some(miimon);
                options.updelay = updelay.map(|k| k * miimon);
                options.downdelay = downdelay.map(|k| k * miimon);
                options.fail_over_mac = fail_over_mac;
                options.all_slaves_active = all_slaves_active;
                options.xmit_hash_policy = policy;
                options.tlb_dynamic_lb = tlb.filter(|_| mode.supports_tlb_dynamic_lb());
                options.primary =
                    (want_primary && mode.supports_primary()).then(|| *primary_index.get(&links));
                BondConf {
                    net,
                    ifname,
                    options,
                    links_in_container,
                    links,
                    mtu,
                    plugin: PluginOptions::default(),
                }
            },
        )
}

/// A result with every field a 1.1.0 result can hold.
fn full_result() -> impl Strategy<Value = CniResult> {
    let interface = (
        "[a-z][a-z0-9]{0,10}",
        option::of(text()),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
    )
        .prop_map(|(name, mac, mtu, sandbox, socket_path, pci_id)| Interface {
            name,
            mac,
            mtu,
            sandbox,
            socket_path,
            pci_id,
        });
    // Next hops are of their address's family: the parser insists.
    let ip_config = cidr()
        .prop_flat_map(|address| {
            (
                Just(address),
                option::of(ip_like(address.ip())),
                option::of(0u32..4),
            )
        })
        .prop_map(|(address, gateway, interface)| IpConfig {
            address,
            gateway,
            interface,
        });
    let route = (
        cidr().prop_flat_map(|dst| (Just(dst), option::of(ip_like(dst.ip())))),
        [
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
        ],
        option::of(any::<u8>()),
    )
        .prop_map(|((dst, gw), [mtu, advmss, priority, table], scope)| Route {
            dst,
            gw,
            mtu,
            advmss,
            priority,
            table,
            scope,
        });
    (
        vec(interface, 0..3),
        vec(ip_config, 0..3),
        vec(route, 0..3),
        dns(),
    )
        .prop_map(|(interfaces, ips, routes, dns)| CniResult {
            cni_version: CniVersion::V1_1_0,
            interfaces,
            ips,
            routes,
            dns,
        })
}

// ---- properties ----

proptest! {
    #[test]
    fn net_conf_round_trips(conf in net_conf()) {
        prop_assert_eq!(NetConf::from_slice(&conf.to_vec()).unwrap(), conf);
    }

    #[test]
    fn sriov_conf_round_trips(conf in sriov_conf()) {
        conf.validate().unwrap();
        prop_assert_eq!(SriovConf::from_slice(&conf.to_vec()).unwrap(), conf);
    }

    #[test]
    fn bond_conf_round_trips(conf in bond_conf()) {
        conf.validate().unwrap();
        prop_assert_eq!(BondConf::from_slice(&conf.to_vec()).unwrap(), conf);
    }

    #[test]
    fn conf_list_round_trips(
        version in option::of(version().prop_map(|v| v.to_string())),
        versions in vec(version().prop_map(|v| v.to_string()), 0..3),
        name in option::of(identifier()),
        flags in any::<(bool, bool)>(),
        plugins in vec(("[a-z]{1,8}", extra()), 1..3),
        extra in extra(),
    ) {
        let plugins = plugins
            .into_iter()
            .map(|(t, mut m)| { m.insert("type".into(), t.into()); m })
            .collect();
        let list = NetConfList { cni_version: version, cni_versions: versions, name, disable_check: flags.0, disable_gc: flags.1, plugins, extra };
        prop_assert_eq!(NetConfList::from_slice(&list.to_vec()).unwrap(), list);
    }

    #[test]
    fn result_round_trips_in_every_version(full in full_result(), v in version()) {
        let r = full.to_version(v);
        prop_assert_eq!(CniResult::from_slice(&r.to_vec()).unwrap(), r);
    }

    #[test]
    fn a_full_1_1_result_converts_to_itself(full in full_result()) {
        prop_assert_eq!(full.to_version(CniVersion::V1_1_0), full);
    }

    #[test]
    fn converting_keeps_what_every_version_holds(full in full_result(), v in version()) {
        let r = full.to_version(v);
        prop_assert_eq!(r.cni_version, v);
        prop_assert_eq!(&r.ips, &full.ips);
        prop_assert_eq!(&r.dns, &full.dns);
        prop_assert_eq!(r.interfaces.len(), full.interfaces.len());
        for (got, had) in r.interfaces.iter().zip(&full.interfaces) {
            prop_assert_eq!(
                (&got.name, &got.mac, &got.sandbox),
                (&had.name, &had.mac, &had.sandbox)
            );
        }
        prop_assert_eq!(r.routes.len(), full.routes.len());
        for (got, had) in r.routes.iter().zip(&full.routes) {
            prop_assert_eq!((got.dst, got.gw), (had.dst, had.gw));
        }
    }

    #[test]
    fn ip_version_is_written_below_1_0_only(full in full_result(), v in version()) {
        let json = full.to_version(v).to_json();
        let written = json.get("ips").and_then(Value::as_array).cloned().unwrap_or_default();
        prop_assert_eq!(written.len(), full.ips.len());
        for (ip, out) in full.ips.iter().zip(&written) {
            let family = if ip.address.is_ipv4() { "4" } else { "6" };
            if v < CniVersion::V1_0_0 {
                prop_assert_eq!(out.get("version"), Some(&Value::from(family)));
            } else {
                prop_assert_eq!(out.get("version"), None);
            }
        }
    }

    #[test]
    fn v1_1_fields_vanish_going_down_and_the_rest_comes_back_up(
        full in full_result(),
        v in prop::sample::select(vec![
            CniVersion::V0_3_0,
            CniVersion::V0_3_1,
            CniVersion::V0_4_0,
            CniVersion::V1_0_0,
        ]),
    ) {
        let down = full.to_version(v);
        for i in &down.interfaces {
            prop_assert_eq!((i.mtu, &i.socket_path, &i.pci_id), (None, &None, &None));
        }
        for r in &down.routes {
            prop_assert_eq!(
                (r.mtu, r.advmss, r.priority, r.table, r.scope),
                (None, None, None, None, None)
            );
        }
        // Nor are they on the wire.
        let json = down.to_json();
        let objects = |key: &str| json.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        for i in objects("interfaces") {
            for key in ["mtu", "socketPath", "pciID"] {
                prop_assert!(i.get(key).is_none(), "{key} in {i}");
            }
        }
        for r in objects("routes") {
            for key in ["mtu", "advmss", "priority", "table", "scope"] {
                prop_assert!(r.get(key).is_none(), "{key} in {r}");
            }
        }
        // Back up, through the wire: everything the lower version held, and
        // nothing invented.
        let up = CniResult::from_slice(&down.to_vec()).unwrap().to_version(CniVersion::V1_1_0);
        prop_assert_eq!(up, CniResult { cni_version: CniVersion::V1_1_0, ..down });
    }

    #[test]
    fn pci_address_prints_and_parses_back(pci in pci()) {
        prop_assert_eq!(pci.to_string().parse::<PciAddr>().unwrap(), pci);
    }

    #[test]
    fn pci_address_out_of_range_parts_are_refused(
        domain in any::<u32>(),
        bus in any::<u8>(),
        (device, function) in prop_oneof![(32u8.., any::<u8>()), (any::<u8>(), 8u8..)],
    ) {
        prop_assert!(PciAddr::new(domain, bus, device, function).is_err());
    }

    #[test]
    fn mac_address_prints_and_parses_back(octets in any::<[u8; 6]>()) {
        let mac = MacAddr::new(octets);
        prop_assert_eq!(mac.to_string().parse::<MacAddr>().unwrap(), mac);
        prop_assert_eq!(mac.octets(), octets);
    }

    #[test]
    fn cni_args_round_trip(pairs in vec(("[ -:<>-~]{1,8}", "[ -:<-~]{0,10}"), 0..4)) {
        // Keys: anything but ';' and '='; values: anything but ';'.
        let args = CniArgs::from_pairs(pairs).unwrap();
        prop_assert_eq!(args.to_string().parse::<CniArgs>().unwrap(), args);
    }

    #[test]
    fn no_bytes_panic_a_parser(bytes in vec(any::<u8>(), 0..256)) {
        parse_everything(&bytes);
    }

    #[test]
    fn no_json_value_panics_a_parser(value in any_json()) {
        parse_everything(value.to_string().as_bytes());
        if let Value::Object(mut map) = value {
            // Make the parsers get past the fields they check first.
            map.insert("name".into(), "n".into());
            map.insert("type".into(), "t".into());
            map.insert("cniVersion".into(), "1.1.0".into());
            parse_everything(Value::Object(map).to_string().as_bytes());
        }
    }

    #[test]
    fn no_env_panics(vars in vec((prop::sample::select(vec!["CNI_COMMAND", "CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_PATH"]), "\\PC{0,20}"), 0..8)) {
        let _ = Env::from_vars(vars);
    }
}

/// Arbitrary JSON, floats included, shaped like configs often enough to
/// reach past the first checks.
fn any_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "vlan",
        "vlanQoS",
        "vlanProto",
        "mode",
        "miimon",
        "links",
        "name",
        "ipam",
        "type",
        "ips",
        "interfaces",
        "routes",
        "dns",
        "runtimeConfig",
        "plugins",
        "address",
        "dst",
        "gw",
        "mtu",
        "capabilities",
        "prevResult",
        "cni.dev/valid-attachments",
        "failOverMac",
        "primary",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::String),
        Just(Value::String("0000:03:02.0".into())),
        Just(Value::String("192.0.2.1/24".into())),
        Just(Value::String("1.1.0".into())),
    ];
    leaf.prop_recursive(4, 32, 5, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..5).prop_map(Value::Array),
            btree_map(keys.clone(), inner, 0..5).prop_map(|m| Value::Object(
                m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
            )),
        ]
    })
}

fn parse_everything(bytes: &[u8]) {
    let _ = NetConf::from_slice(bytes).map(|c| c.prev_result());
    let _ = SriovConf::from_slice(bytes).map(|c| c.vf_selector());
    let _ = BondConf::from_slice(bytes);
    let _ = NetConfList::from_slice(bytes).map(|l| (l.version(), l.plugin_conf(0)));
    let _ = ErrorReply::from_slice(bytes);
    if let Ok(r) = CniResult::from_slice(bytes) {
        for v in CniVersion::ALL {
            let _ = r.to_version(v).to_vec();
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = text.parse::<CniArgs>();
    }
}
