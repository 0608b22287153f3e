//! The result of ADD, in every spec version from 0.3.0 to 1.1.0.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde_json::{Map, Value};

use crate::conf::{parse_cidr, Dns};
use crate::error::{json_bytes, Error};
use crate::json::{put, Kind, Obj};
use crate::version::CniVersion;

/// An interface a plugin created or touched.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// `name`.
    pub name: String,
    /// `mac`: the hardware address, as the plugin wrote it.
    pub mac: Option<String>,
    /// `mtu` (1.1.0).
    pub mtu: Option<u32>,
    /// `sandbox`: the namespace path, for interfaces inside the container.
    pub sandbox: Option<String>,
    /// `socketPath` (1.1.0): a vhost-user or similar socket.
    pub socket_path: Option<String>,
    /// `pciID` (1.1.0): the PCI address of a device handed to the sandbox.
    pub pci_id: Option<String>,
}

/// An address assigned to an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    /// `address`, with its prefix length.
    pub address: IpNetwork,
    /// `gateway`, of the address's family (parsing refuses another).
    pub gateway: Option<IpAddr>,
    /// `interface`: index into the result's interfaces.
    pub interface: Option<u32>,
}

/// A route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// `dst`: the destination network.
    pub dst: IpNetwork,
    /// `gw`: the next hop, of the destination's family (parsing refuses
    /// another); none means the default gateway.
    pub gw: Option<IpAddr>,
    /// `mtu` (1.1.0).
    pub mtu: Option<u32>,
    /// `advmss` (1.1.0).
    pub advmss: Option<u32>,
    /// `priority` (1.1.0).
    pub priority: Option<u32>,
    /// `table` (1.1.0).
    pub table: Option<u32>,
    /// `scope` (1.1.0).
    pub scope: Option<u8>,
}

impl Route {
    /// A route to `dst` with no other attribute set.
    pub fn new(dst: IpNetwork) -> Route {
        Route {
            dst,
            gw: None,
            mtu: None,
            advmss: None,
            priority: None,
            table: None,
            scope: None,
        }
    }
}

/// The result of ADD (or an IPAM plugin's result), in one spec version.
///
/// A result only ever holds what its version can carry: parsing drops
/// fields the version lacks, and [`CniResult::to_version`] does the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CniResult {
    /// The version the result is written in.
    pub cni_version: CniVersion,
    /// `interfaces`.
    pub interfaces: Vec<Interface>,
    /// `ips`.
    pub ips: Vec<IpConfig>,
    /// `routes`.
    pub routes: Vec<Route>,
    /// `dns`.
    pub dns: Dns,
}

impl CniResult {
    /// An empty result in `version`.
    pub fn new(version: CniVersion) -> CniResult {
        CniResult {
            cni_version: version,
            interfaces: Vec::new(),
            ips: Vec::new(),
            routes: Vec::new(),
            dns: Dns::default(),
        }
    }

    /// Parses a result; its `cniVersion` says how to read it.
    ///
    /// Not JSON or a malformed field is code 6, an unsupported version
    /// code 1.
    pub fn from_slice(bytes: &[u8]) -> Result<CniResult, Error> {
        CniResult::from_obj(Obj::parse(bytes, "result", Kind::Result)?, None)
    }

    /// Reads the result at `path` inside other input, in `version` unless it
    /// names its own.
    pub(crate) fn from_value(
        value: Value,
        path: &str,
        version: CniVersion,
    ) -> Result<CniResult, Error> {
        CniResult::from_obj(
            Obj::from_value(value, path.to_string(), Kind::Result)?,
            Some(version),
        )
    }

    /// Reads a result in the version it names, else in `version`; with
    /// neither, a missing `cniVersion` is an error.
    fn from_obj(mut o: Obj, version: Option<CniVersion>) -> Result<CniResult, Error> {
        let cni_version = match (o.string("cniVersion")?, version) {
            (Some(v), _) => CniVersion::parse_field(&o.path("cniVersion"), &v)?,
            (None, Some(version)) => version,
            (None, None) => {
                return Err(o.invalid("cniVersion", "missing, expected the result's CNI version"))
            }
        };
        let mut result = CniResult::new(cni_version);
        for (i, item) in o
            .array("interfaces")?
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let item = Obj::from_value(item, o.path(&format!("interfaces[{i}]")), Kind::Result)?;
            result.interfaces.push(read_interface(item)?);
        }
        for (i, item) in o.array("ips")?.unwrap_or_default().into_iter().enumerate() {
            let item = Obj::from_value(item, o.path(&format!("ips[{i}]")), Kind::Result)?;
            result.ips.push(read_ip(item, cni_version)?);
        }
        for (i, item) in o
            .array("routes")?
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let item = Obj::from_value(item, o.path(&format!("routes[{i}]")), Kind::Result)?;
            result.routes.push(read_route(item)?);
        }
        if let Some(dns) = o.object("dns")? {
            result.dns = Dns::from_obj(dns)?;
        }
        Ok(result.to_version(cni_version))
    }

    /// The same result in `version`, as the spec converts it: fields the
    /// target version lacks are dropped; everything else carries over.
    pub fn to_version(&self, version: CniVersion) -> CniResult {
        let mut out = self.clone();
        out.cni_version = version;
        if !version.has_v1_1_fields() {
            for i in &mut out.interfaces {
                i.mtu = None;
                i.socket_path = None;
                i.pci_id = None;
            }
            for r in &mut out.routes {
                *r = Route {
                    gw: r.gw,
                    ..Route::new(r.dst)
                };
            }
        }
        out
    }

    /// The result as a JSON object, in its own version.
    pub fn to_json(&self) -> Value {
        let v = self.cni_version;
        let mut map = Map::new();
        map.insert("cniVersion".into(), v.as_str().into());
        if !self.interfaces.is_empty() {
            let list = self
                .interfaces
                .iter()
                .map(|i| interface_json(i, v))
                .collect();
            map.insert("interfaces".into(), Value::Array(list));
        }
        if !self.ips.is_empty() {
            let list = self.ips.iter().map(|ip| ip_json(ip, v)).collect();
            map.insert("ips".into(), Value::Array(list));
        }
        if !self.routes.is_empty() {
            let list = self.routes.iter().map(|r| route_json(r, v)).collect();
            map.insert("routes".into(), Value::Array(list));
        }
        if !self.dns.is_empty() {
            map.insert("dns".into(), self.dns.to_json());
        }
        Value::Object(map)
    }

    /// The result as the bytes a plugin prints on stdout.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }
}

fn u32_field(o: &mut Obj, key: &str) -> Result<Option<u32>, Error> {
    Ok(o.number(key, 0..=u64::from(u32::MAX))?.map(|n| n as u32))
}

fn parse_ip(text: &str) -> Result<IpAddr, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an IP address, expected a form such as 192.0.2.1"))
}

fn read_interface(mut o: Obj) -> Result<Interface, Error> {
    Ok(Interface {
        name: o.required_string("name", "the interface's name")?,
        mac: o.string("mac")?,
        mtu: u32_field(&mut o, "mtu")?,
        sandbox: o.string("sandbox")?,
        socket_path: o.string("socketPath")?,
        pci_id: o.string("pciID")?,
    })
}

fn read_ip(mut o: Obj, version: CniVersion) -> Result<IpConfig, Error> {
    let address = o.parsed("address", parse_cidr)?.ok_or_else(|| {
        o.invalid(
            "address",
            "missing, expected an address such as 192.0.2.10/24",
        )
    })?;
    let family = if address.is_ipv4() { "4" } else { "6" };
    // Before 1.0.0 each address says its family; check it agrees.
    match o.string("version")? {
        Some(said) if version.has_ip_version_field() && said != family => {
            return Err(o.invalid(
                "version",
                format_args!("{said:?} does not match the address {address}, expected {family:?}"),
            ))
        }
        _ => {}
    }
    let gateway = o.parsed("gateway", parse_ip)?;
    check_family(&o, "gateway", gateway, "address", &address)?;
    Ok(IpConfig {
        address,
        gateway,
        interface: u32_field(&mut o, "interface")?,
    })
}

/// A next hop must be of the family of what it leads to: an IPv4 gateway
/// for an IPv6 address (or route) cannot be set up.
fn check_family(
    o: &Obj,
    key: &str,
    hop: Option<IpAddr>,
    of: &str,
    net: &IpNetwork,
) -> Result<(), Error> {
    let family = |v4: bool| if v4 { "IPv4" } else { "IPv6" };
    match hop {
        Some(hop) if hop.is_ipv4() != net.is_ipv4() => Err(o.invalid(
            key,
            format_args!(
                "{hop} is {} while the {of} {net} is {}, expected an {} {key}",
                family(hop.is_ipv4()),
                family(net.is_ipv4()),
                family(net.is_ipv4()),
            ),
        )),
        _ => Ok(()),
    }
}

fn read_route(mut o: Obj) -> Result<Route, Error> {
    let dst = o
        .parsed("dst", parse_cidr)?
        .ok_or_else(|| o.invalid("dst", "missing, expected a network such as 0.0.0.0/0"))?;
    let gw = o.parsed("gw", parse_ip)?;
    check_family(&o, "gw", gw, "destination", &dst)?;
    Ok(Route {
        dst,
        gw,
        mtu: u32_field(&mut o, "mtu")?,
        advmss: u32_field(&mut o, "advmss")?,
        priority: u32_field(&mut o, "priority")?,
        table: u32_field(&mut o, "table")?,
        scope: o.number("scope", 0..=255)?.map(|n| n as u8),
    })
}

fn interface_json(i: &Interface, v: CniVersion) -> Value {
    let mut map = Map::new();
    map.insert("name".into(), i.name.clone().into());
    put(&mut map, "mac", i.mac.clone());
    put(&mut map, "sandbox", i.sandbox.clone());
    if v.has_v1_1_fields() {
        put(&mut map, "mtu", i.mtu);
        put(&mut map, "socketPath", i.socket_path.clone());
        put(&mut map, "pciID", i.pci_id.clone());
    }
    Value::Object(map)
}

fn ip_json(ip: &IpConfig, v: CniVersion) -> Value {
    let mut map = Map::new();
    if v.has_ip_version_field() {
        map.insert(
            "version".into(),
            if ip.address.is_ipv4() { "4" } else { "6" }.into(),
        );
    }
    map.insert("address".into(), ip.address.to_string().into());
    put(&mut map, "gateway", ip.gateway.map(|g| g.to_string()));
    put(&mut map, "interface", ip.interface);
    Value::Object(map)
}

fn route_json(r: &Route, v: CniVersion) -> Value {
    let mut map = Map::new();
    map.insert("dst".into(), r.dst.to_string().into());
    put(&mut map, "gw", r.gw.map(|g| g.to_string()));
    if v.has_v1_1_fields() {
        put(&mut map, "mtu", r.mtu);
        put(&mut map, "advmss", r.advmss);
        put(&mut map, "priority", r.priority);
        put(&mut map, "table", r.table);
        put(&mut map, "scope", r.scope);
    }
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use serde_json::json;

    fn full_1_1() -> CniResult {
        CniResult::from_slice(
            json!({
                "cniVersion": "1.1.0",
                "interfaces": [{"name": "net1", "mac": "02:00:00:00:00:01", "mtu": 9000,
                                "sandbox": "/run/netns/p", "pciID": "0000:03:02.0", "socketPath": "/s"}],
                "ips": [{"address": "192.0.2.10/24", "gateway": "192.0.2.1", "interface": 0},
                        {"address": "2001:db8::10/64"}],
                "routes": [{"dst": "0.0.0.0/0", "gw": "192.0.2.1", "mtu": 1400, "advmss": 1360,
                            "priority": 10, "table": 100, "scope": 0}],
                "dns": {"nameservers": ["192.0.2.53"]}
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn reads_every_1_1_field() {
        let r = full_1_1();
        assert_eq!(r.interfaces[0].mtu, Some(9000));
        assert_eq!(r.interfaces[0].pci_id.as_deref(), Some("0000:03:02.0"));
        assert_eq!(r.ips[0].gateway, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(r.routes[0].table, Some(100));
        assert_eq!(r.routes[0].scope, Some(0));
        assert_eq!(CniResult::from_slice(&r.to_vec()).unwrap(), r);
    }

    #[test]
    fn old_versions_write_ip_version_and_drop_1_1_fields() {
        let out = full_1_1().to_version(CniVersion::V0_4_0).to_json();
        assert_eq!(out["ips"][0]["version"], "4");
        assert_eq!(out["ips"][1]["version"], "6");
        assert!(out["interfaces"][0].get("mtu").is_none());
        assert!(out["routes"][0].get("table").is_none());
        assert_eq!(out["routes"][0]["gw"], "192.0.2.1");
    }

    #[test]
    fn version_1_0_drops_ip_version() {
        let out = full_1_1().to_version(CniVersion::V1_0_0).to_json();
        assert!(out["ips"][0].get("version").is_none());
        assert!(out["interfaces"][0].get("pciID").is_none());
    }

    #[test]
    fn reads_a_0_3_1_ipam_result() {
        let r = CniResult::from_slice(
            br#"{"cniVersion": "0.3.1",
            "ips": [{"version": "4", "address": "192.0.2.9/24", "gateway": "192.0.2.1"}],
            "routes": [{"dst": "0.0.0.0/0"}], "dns": {}}"#,
        )
        .unwrap();
        assert_eq!(r.cni_version, CniVersion::V0_3_1);
        assert_eq!(r.ips[0].address.to_string(), "192.0.2.9/24");
        assert_eq!(r.routes[0].gw, None);
    }

    #[test]
    fn mismatched_ip_version_is_an_error() {
        let err = CniResult::from_slice(
            br#"{"cniVersion": "0.4.0", "ips": [{"version": "6", "address": "192.0.2.9/24"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert!(
            err.to_string()
                .starts_with("ips[0].version: \"6\" does not match"),
            "{err}"
        );
    }

    #[test]
    fn bad_address_names_the_field() {
        let err =
            CniResult::from_slice(br#"{"cniVersion": "1.0.0", "ips": [{"address": "nope"}]}"#)
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("ips[0].address: \"nope\" is not an address"),
            "{err}"
        );
        let err = CniResult::from_slice(
            br#"{"cniVersion": "1.0.0", "routes": [{"dst": "0.0.0.0/0", "gw": "x"}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("routes[0].gw: \"x\" is not an IP address"),
            "{err}"
        );
    }

    #[test]
    fn gateways_must_be_of_the_family_they_lead_to() {
        let err = CniResult::from_slice(
            br#"{"cniVersion": "1.0.0", "ips": [{"address": "192.0.2.9/24"},
                {"address": "2001:db8::9/64", "gateway": "192.0.2.1"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert_eq!(
            err.to_string(),
            "ips[1].gateway: 192.0.2.1 is IPv4 while the address 2001:db8::9/64 is IPv6, \
             expected an IPv6 gateway"
        );
        let err = CniResult::from_slice(
            br#"{"cniVersion": "1.0.0", "routes": [{"dst": "0.0.0.0/0", "gw": "2001:db8::1"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "routes[0].gw: 2001:db8::1 is IPv6 while the destination 0.0.0.0/0 is IPv4, \
             expected an IPv4 gw"
        );
    }

    #[test]
    fn result_needs_a_supported_version() {
        let err = CniResult::from_slice(br#"{"ips": []}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cniVersion: missing, expected the result's CNI version"
        );
        let err = CniResult::from_slice(br#"{"cniVersion": "0.2.0"}"#).unwrap_err();
        assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
    }
}
