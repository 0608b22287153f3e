//! Network configurations: the fields every plugin shares, and lists.

use std::collections::BTreeMap;
use std::path::PathBuf;

use ipnetwork::IpNetwork;
use netplumb_types::{IfName, MacAddr};
use serde_json::{Map, Value};

use crate::error::{json_bytes, Error};
use crate::json::{any_text, describe, put, put_list, Kind, Obj};
use crate::names::{check_network_name, ContainerId};
use crate::result::CniResult;
use crate::version::{supported_list, CniVersion};

/// The key GC's valid attachments travel under (spec 1.1).
const VALID_ATTACHMENTS: &str = "cni.dev/valid-attachments";
/// The key an early draft of spec 1.1 used; runtimes still send both.
const OLD_ATTACHMENTS: &str = "cni.dev/attachments";
/// `disableCheck` and `disableGC` written as strings.
const TRUE_FALSE: [(&str, bool); 2] = [("false", false), ("true", true)];

/// The IPAM section: which plugin to delegate to, and its own settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Ipam {
    /// `type`: the IPAM plugin's executable name.
    pub plugin_type: String,
    /// Every other field, passed to the IPAM plugin untouched.
    pub extra: Map<String, Value>,
}

/// DNS settings, as configs and results carry them. Fields nobody reads
/// are kept in `extra` and written back unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    /// `nameservers`: addresses of name servers, in priority order.
    pub nameservers: Vec<String>,
    /// `domain`: the local domain.
    pub domain: Option<String>,
    /// `search`: search domains, in priority order.
    pub search: Vec<String>,
    /// `options`: resolver options.
    pub options: Vec<String>,
    /// Every field not named above.
    pub extra: Map<String, Value>,
}

impl Dns {
    /// Whether no field is set.
    pub fn is_empty(&self) -> bool {
        self == &Dns::default()
    }

    pub(crate) fn from_obj(mut o: Obj) -> Result<Dns, Error> {
        Ok(Dns {
            nameservers: o.list("nameservers", any_text)?,
            domain: o.string("domain")?,
            search: o.list("search", any_text)?,
            options: o.list("options", any_text)?,
            extra: o.into_rest(),
        })
    }

    pub(crate) fn to_json(&self) -> Value {
        let mut map = self.extra.clone();
        put_list(&mut map, "nameservers", &self.nameservers);
        put(&mut map, "domain", self.domain.clone());
        put_list(&mut map, "search", &self.search);
        put_list(&mut map, "options", &self.options);
        Value::Object(map)
    }
}

/// `runtimeConfig`: values the runtime fills in per invocation for the
/// capabilities a plugin declares.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuntimeConfig {
    /// `mac` (capability `mac`): the MAC address the interface should get.
    pub mac: Option<MacAddr>,
    /// `ips` (capability `ips`): addresses the interface should get.
    pub ips: Vec<IpNetwork>,
    /// `deviceID` (capability `deviceID`): the device a device plugin
    /// allocated, such as a VF's PCI address.
    pub device_id: Option<String>,
    /// `CNIDeviceInfoFile` (capability `CNIDeviceInfoFile`): where the
    /// plugin writes what the Network Plumbing Working Group's device-info
    /// specification says about the device it attached.
    pub device_info_file: Option<PathBuf>,
    /// Every other runtime value (`portMappings`, `bandwidth`, ...).
    pub extra: Map<String, Value>,
}

impl RuntimeConfig {
    fn from_obj(mut o: Obj) -> Result<RuntimeConfig, Error> {
        Ok(RuntimeConfig {
            mac: o.parsed("mac", str::parse::<MacAddr>)?,
            ips: o.list("ips", parse_cidr)?,
            device_id: o.string("deviceID")?,
            device_info_file: o.string("CNIDeviceInfoFile")?.map(PathBuf::from),
            extra: o.into_rest(),
        })
    }

    fn to_json(&self) -> Value {
        let mut map = self.extra.clone();
        put(&mut map, "mac", self.mac.map(|m| m.to_string()));
        put_list(&mut map, "ips", &self.ips);
        put(&mut map, "deviceID", self.device_id.clone());
        put(
            &mut map,
            "CNIDeviceInfoFile",
            self.device_info_file
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned()),
        );
        Value::Object(map)
    }
}

/// An address with its prefix length, such as `192.0.2.10/24`.
pub(crate) fn parse_cidr(text: &str) -> Result<IpNetwork, String> {
    let wrong = || {
        format!("{text:?} is not an address with a prefix, expected a form such as 192.0.2.10/24")
    };
    if !text.contains('/') {
        return Err(wrong());
    }
    text.parse().map_err(|_| wrong())
}

/// One attachment GC must keep (`cni.dev/valid-attachments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GcAttachment {
    /// `containerID`.
    pub container_id: ContainerId,
    /// `ifname`.
    pub ifname: IfName,
}

/// A plugin's network configuration, as it arrives on stdin.
///
/// Holds the fields the spec defines for every plugin; the fields nobody
/// reads are kept in `extra` and written back unchanged. Keys match in any
/// ASCII case (see the [crate] docs).
#[derive(Debug, Clone, PartialEq)]
pub struct NetConf {
    /// `cniVersion`. Old configs omit it; see [`NetConf::result_version`].
    pub cni_version: Option<CniVersion>,
    /// `name`: the network's name.
    pub name: String,
    /// `type`: the plugin's executable name.
    pub plugin_type: String,
    /// `ipam`.
    pub ipam: Option<Ipam>,
    /// `dns`.
    pub dns: Option<Dns>,
    /// `args`: extra arguments, kept as given.
    pub args: Option<Map<String, Value>>,
    /// `runtimeConfig`.
    pub runtime_config: Option<RuntimeConfig>,
    /// `prevResult`, kept as given; [`NetConf::prev_result`] reads it.
    pub prev_result: Option<Value>,
    /// `capabilities`: which runtime values the plugin wants.
    pub capabilities: BTreeMap<String, bool>,
    /// GC's `cni.dev/valid-attachments` (or the older `cni.dev/attachments`).
    pub valid_attachments: Option<Vec<GcAttachment>>,
    /// Every field not named above.
    pub extra: Map<String, Value>,
}

impl NetConf {
    /// Parses a network configuration.
    ///
    /// Not JSON is code 6, an unsupported `cniVersion` code 1, a missing
    /// `name` or `type` or a bad value code 7.
    pub fn from_slice(bytes: &[u8]) -> Result<NetConf, Error> {
        NetConf::from_obj(Obj::parse(bytes, "network configuration", Kind::Config)?)
    }

    /// Parses the shared fields of `o`, leaving plugin-specific ones in
    /// `extra` for the plugin's own config type to take.
    pub(crate) fn from_obj(mut o: Obj) -> Result<NetConf, Error> {
        let cni_version = stated_version(&mut o)?;
        let name = o.required_string("name", "the network's name")?;
        check_network_name(&name).map_err(|why| o.invalid("name", why.reason().to_string()))?;
        let plugin_type = o.required_string("type", "the plugin's executable name")?;
        check_plugin_type(&plugin_type).map_err(|why| o.invalid("type", why))?;
        let ipam = match o.object("ipam")? {
            Some(ipam) => read_ipam(ipam)?,
            None => None,
        };
        let dns = o.object("dns")?.map(Dns::from_obj).transpose()?;
        let args = o.object("args")?.map(Obj::into_rest);
        let runtime_config = o
            .object("runtimeConfig")?
            .map(RuntimeConfig::from_obj)
            .transpose()?;
        let prev_result = o.take("prevResult")?;
        let capabilities = read_capabilities(&mut o)?;
        let valid_attachments = read_attachments(&mut o)?;
        Ok(NetConf {
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
            extra: o.into_rest(),
        })
    }

    /// The version results and errors are written in: `cniVersion`, or
    /// [`CniVersion::UNSTATED`] (0.3.0) for a config without one, a
    /// deliberate choice explained there (Go's skel reads it as 0.1.0).
    pub fn result_version(&self) -> CniVersion {
        self.cni_version.unwrap_or(CniVersion::UNSTATED)
    }

    /// Reads `prevResult` and converts it to [`NetConf::result_version`],
    /// the version the plugin answers in.
    ///
    /// It is read in its own `cniVersion`, or in the config's when it names
    /// none. Every version this crate knows converts to every other (fields
    /// the target lacks are dropped, as libcni's converters drop them), so
    /// the one version error is a `prevResult.cniVersion` this crate does
    /// not know: code 1.
    pub fn prev_result(&self) -> Result<Option<CniResult>, Error> {
        let version = self.result_version();
        self.prev_result
            .as_ref()
            .map(|v| {
                CniResult::from_value(v.clone(), "prevResult", version)
                    .map(|r| r.to_version(version))
            })
            .transpose()
    }

    /// Refuses an `ipam.type` naming this very plugin (`type`): delegating
    /// IPAM to it would run the plugin inside itself without end. The
    /// plugin configs of this crate check it; other plugins may mean it.
    pub(crate) fn check_ipam_is_not_itself(&self) -> Result<(), Error> {
        match &self.ipam {
            Some(ipam) if ipam.plugin_type == self.plugin_type => Err(Error::InvalidConfig {
                field: "ipam.type".into(),
                message: format!(
                    "{:?} is this plugin itself and would run itself without end, \
                     expected an IPAM plugin such as \"host-local\"",
                    ipam.plugin_type
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The configuration as a JSON object.
    pub fn to_json(&self) -> Value {
        Value::Object(self.to_map())
    }

    /// The configuration as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }

    pub(crate) fn to_map(&self) -> Map<String, Value> {
        let mut map = self.extra.clone();
        put(
            &mut map,
            "cniVersion",
            self.cni_version.map(CniVersion::as_str),
        );
        map.insert("name".into(), self.name.clone().into());
        map.insert("type".into(), self.plugin_type.clone().into());
        if let Some(ipam) = &self.ipam {
            let mut m = ipam.extra.clone();
            m.insert("type".into(), ipam.plugin_type.clone().into());
            map.insert("ipam".into(), Value::Object(m));
        }
        put(&mut map, "dns", self.dns.as_ref().map(Dns::to_json));
        put(&mut map, "args", self.args.clone());
        put(
            &mut map,
            "runtimeConfig",
            self.runtime_config.as_ref().map(RuntimeConfig::to_json),
        );
        put(&mut map, "prevResult", self.prev_result.clone());
        if !self.capabilities.is_empty() {
            let caps = self
                .capabilities
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bool(*v)))
                .collect();
            map.insert("capabilities".into(), Value::Object(caps));
        }
        if let Some(list) = &self.valid_attachments {
            let list: Vec<Value> = list
                .iter()
                .map(|a| serde_json::json!({"containerID": a.container_id.as_str(), "ifname": a.ifname.to_string()}))
                .collect();
            // Both keys, as libcni writes them, so that plugins reading
            // either name see the list.
            map.insert(VALID_ATTACHMENTS.into(), Value::Array(list.clone()));
            map.insert(OLD_ATTACHMENTS.into(), Value::Array(list));
        }
        map
    }
}

/// Takes `cniVersion` from a configuration: absent is `None`, a version
/// this crate does not know is code 1.
pub(crate) fn stated_version(o: &mut Obj) -> Result<Option<CniVersion>, Error> {
    match o.string("cniVersion")? {
        Some(v) => CniVersion::parse_field(&o.path("cniVersion"), &v).map(Some),
        None => Ok(None),
    }
}

pub(crate) fn check_plugin_type(t: &str) -> Result<(), String> {
    if t.is_empty() {
        Err("is empty, expected the plugin's executable name".into())
    } else if t.contains(['/', '\\', '\0']) || t == "." || t == ".." {
        Err(format!(
            "{t:?} is not a file name, expected the plugin's executable name"
        ))
    } else {
        Ok(())
    }
}

/// An `ipam` object; `{}` (as some generators write) means no IPAM.
fn read_ipam(mut o: Obj) -> Result<Option<Ipam>, Error> {
    if o.is_empty() {
        return Ok(None);
    }
    let plugin_type = o.required_string("type", "the IPAM plugin's executable name")?;
    check_plugin_type(&plugin_type).map_err(|why| o.invalid("type", why))?;
    Ok(Some(Ipam {
        plugin_type,
        extra: o.into_rest(),
    }))
}

fn read_capabilities(o: &mut Obj) -> Result<BTreeMap<String, bool>, Error> {
    let mut caps = BTreeMap::new();
    if let Some(c) = o.object("capabilities")? {
        let path = o.path("capabilities");
        for (k, v) in c.into_rest() {
            match v {
                Value::Bool(b) => {
                    caps.insert(k, b);
                }
                other => {
                    return Err(Error::WrongType {
                        field: format!("{path}.{k}"),
                        expected: "true or false",
                        found: describe(&other),
                    })
                }
            }
        }
    }
    Ok(caps)
}

fn read_attachments(o: &mut Obj) -> Result<Option<Vec<GcAttachment>>, Error> {
    // Both keys are taken, so neither lingers among the unknown fields; the
    // spec's name wins when a runtime sends both.
    let valid = o.array(VALID_ATTACHMENTS)?;
    let old = o.array(OLD_ATTACHMENTS)?;
    let (key, items) = match (valid, old) {
        (Some(items), _) => (VALID_ATTACHMENTS, items),
        (None, Some(items)) => (OLD_ATTACHMENTS, items),
        (None, None) => return Ok(None),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let mut a = Obj::from_value(item, o.path(&format!("{key}[{i}]")), o.kind())?;
        let container_id = a
            .parsed("containerID", str::parse::<ContainerId>)?
            .ok_or_else(|| a.invalid("containerID", "missing, expected the container's ID"))?;
        let ifname = a
            .parsed("ifname", str::parse::<IfName>)?
            .ok_or_else(|| a.invalid("ifname", "missing, expected the interface name"))?;
        out.push(GcAttachment {
            container_id,
            ifname,
        });
    }
    Ok(Some(out))
}

/// A network configuration list (a `.conflist`): one network, a chain of
/// plugins.
///
/// Plugins are kept as given: the runtime completes each with the list's
/// `name` and version before running it, which [`NetConfList::plugin_conf`]
/// does.
#[derive(Debug, Clone, PartialEq)]
pub struct NetConfList {
    /// `cniVersion`, as text.
    ///
    /// Unlike [`NetConf::cni_version`] this is not a [`CniVersion`]: by
    /// spec 1.1 negotiation a list may name a version newer than this crate
    /// here while `cniVersions` offers one it knows, and such a list must
    /// still parse and run. [`NetConfList::version`] picks the version and
    /// reports an unknown one by its text.
    pub cni_version: Option<String>,
    /// `cniVersions` (1.1.0): every version the list can be run as.
    pub cni_versions: Vec<String>,
    /// `name`. Attachment definitions may omit it: the runtime then uses the
    /// definition's own name.
    pub name: Option<String>,
    /// `disableCheck`: the runtime must not run CHECK. Read from `true` or
    /// `false`, or the strings `"true"`/`"false"` in any case (spec 0.4
    /// typed it as a string, and libcni reads both).
    pub disable_check: bool,
    /// `disableGC`: the runtime must not run GC. Read as `disableCheck`.
    pub disable_gc: bool,
    /// `plugins`: each plugin's configuration, in chain order.
    pub plugins: Vec<Map<String, Value>>,
    /// Every field not named above.
    pub extra: Map<String, Value>,
}

impl NetConfList {
    /// Parses a configuration list.
    ///
    /// Each plugin must be an object with a `type`; at least one plugin is
    /// required.
    pub fn from_slice(bytes: &[u8]) -> Result<NetConfList, Error> {
        // libcni reads a list's own keys from a plain map, so they match
        // exactly; each plugin's keys match in any case, as in its config.
        let mut o =
            Obj::parse(bytes, "network configuration list", Kind::Config)?.with_exact_keys();
        let cni_version = o.string("cniVersion")?;
        let cni_versions = o.list("cniVersions", any_text)?;
        let name = o.string("name")?;
        if let Some(name) = &name {
            check_network_name(name).map_err(|why| o.invalid("name", why.reason().to_string()))?;
        }
        let disable_check = o.bool_or_keyword("disableCheck", &TRUE_FALSE)?;
        let disable_gc = o.bool_or_keyword("disableGC", &TRUE_FALSE)?;
        let items = o.array("plugins")?.ok_or_else(|| {
            o.invalid(
                "plugins",
                "missing, expected a list of plugin configurations",
            )
        })?;
        if items.is_empty() {
            return Err(o.invalid(
                "plugins",
                "is empty, expected at least one plugin configuration",
            ));
        }
        let mut plugins = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let mut p = Obj::from_value(item, o.path(&format!("plugins[{i}]")), Kind::Config)?;
            let t = p.required_string("type", "the plugin's executable name")?;
            check_plugin_type(&t).map_err(|why| p.invalid("type", why))?;
            let mut map = p.into_rest();
            map.insert("type".into(), t.into());
            plugins.push(map);
        }
        Ok(NetConfList {
            cni_version,
            cni_versions,
            name,
            disable_check: disable_check.unwrap_or(false),
            disable_gc: disable_gc.unwrap_or(false),
            plugins,
            extra: o.into_rest(),
        })
    }

    /// The version to run the list as: the newest supported one among
    /// `cniVersions` and `cniVersion` (spec 1.1 negotiation).
    ///
    /// A list that names no version at all runs as
    /// [`CniVersion::UNSTATED`] (0.3.0), as a single configuration without
    /// one does; a list that names only versions this crate does not know
    /// is code 1.
    pub fn version(&self) -> Result<CniVersion, Error> {
        let named = self.cni_versions.iter().chain(self.cni_version.as_ref());
        if let Some(best) = named
            .filter_map(|v| CniVersion::parse_field("", v).ok())
            .max()
        {
            return Ok(best);
        }
        let found = match (&self.cni_version, self.cni_versions.is_empty()) {
            (Some(v), true) => v.clone(),
            (None, true) => return Ok(CniVersion::UNSTATED),
            (_, false) => self.cni_versions.join(", "),
        };
        let field = if self.cni_versions.is_empty() {
            "cniVersion"
        } else {
            "cniVersions"
        };
        Err(Error::IncompatibleVersion {
            field: field.into(),
            found,
            expected: supported_list(),
        })
    }

    /// The configuration the runtime hands plugin `index`: its own fields,
    /// plus the list's `name` and negotiated `cniVersion`.
    pub fn plugin_conf(&self, index: usize) -> Result<NetConf, Error> {
        let field = format!("plugins[{index}]");
        let plugin = self
            .plugins
            .get(index)
            .ok_or_else(|| Error::InvalidConfig {
                field: field.clone(),
                message: format!("no such plugin, the list has {}", self.plugins.len()),
            })?;
        let name = self.name.clone().ok_or_else(|| Error::InvalidConfig {
            field: "name".into(),
            message: "missing, expected the network's name".into(),
        })?;
        let mut map = plugin.clone();
        map.insert("name".into(), name.into());
        map.insert("cniVersion".into(), self.version()?.as_str().into());
        NetConf::from_obj(Obj::from_value(Value::Object(map), field, Kind::Config)?)
    }

    /// The list as a JSON object.
    pub fn to_json(&self) -> Value {
        let mut map = self.extra.clone();
        put(&mut map, "cniVersion", self.cni_version.clone());
        if !self.cni_versions.is_empty() {
            map.insert("cniVersions".into(), self.cni_versions.clone().into());
        }
        put(&mut map, "name", self.name.clone());
        if self.disable_check {
            map.insert("disableCheck".into(), true.into());
        }
        if self.disable_gc {
            map.insert("disableGC".into(), true.into());
        }
        let plugins = self.plugins.iter().cloned().map(Value::Object).collect();
        map.insert("plugins".into(), Value::Array(plugins));
        Value::Object(map)
    }

    /// The list as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;
    use serde_json::json;

    fn conf(v: Value) -> Result<NetConf, Error> {
        NetConf::from_slice(v.to_string().as_bytes())
    }

    #[test]
    fn every_common_field_is_read() {
        let c = conf(json!({
            "cniVersion": "1.1.0", "name": "n1", "type": "sriov",
            "ipam": {"type": "host-local", "subnet": "192.0.2.0/24"},
            "dns": {"nameservers": ["192.0.2.53"], "domain": "example.org", "search": ["a"], "options": ["ndots:2"]},
            "args": {"cni": {"ips": ["192.0.2.9"]}},
            "runtimeConfig": {"mac": "02:00:00:00:00:01", "ips": ["192.0.2.9/24"], "deviceID": "0000:03:02.0", "bandwidth": {}},
            "prevResult": {"cniVersion": "1.1.0", "ips": [{"address": "192.0.2.9/24"}]},
            "capabilities": {"mac": true, "ips": false},
            "cni.dev/valid-attachments": [{"containerID": "c1", "ifname": "net1"}],
            "vendorField": [1, 2]
        }))
        .unwrap();
        assert_eq!(c.cni_version, Some(CniVersion::V1_1_0));
        assert_eq!(c.ipam.as_ref().unwrap().plugin_type, "host-local");
        assert_eq!(c.ipam.as_ref().unwrap().extra["subnet"], "192.0.2.0/24");
        assert_eq!(
            c.dns.as_ref().unwrap().domain.as_deref(),
            Some("example.org")
        );
        let rc = c.runtime_config.as_ref().unwrap();
        assert_eq!(rc.mac.unwrap().to_string(), "02:00:00:00:00:01");
        assert_eq!(rc.ips[0].to_string(), "192.0.2.9/24");
        assert_eq!(rc.device_id.as_deref(), Some("0000:03:02.0"));
        assert!(rc.extra.contains_key("bandwidth"));
        assert_eq!(c.capabilities.get("mac"), Some(&true));
        assert_eq!(c.valid_attachments.as_ref().unwrap()[0].ifname, "net1");
        assert_eq!(c.extra["vendorField"], json!([1, 2]));
        assert_eq!(c.prev_result().unwrap().unwrap().ips.len(), 1);
        assert_eq!(NetConf::from_slice(&c.to_vec()).unwrap(), c);
    }

    #[test]
    fn prev_result_is_converted_to_the_configs_version() {
        let prev = json!({"cniVersion": "1.1.0",
            "interfaces": [{"name": "net1", "mtu": 9000, "sandbox": "/run/netns/p"}],
            "ips": [{"address": "192.0.2.9/24", "interface": 0}]});
        let c = conf(json!({"cniVersion": "0.4.0", "name": "n", "type": "t", "prevResult": prev}))
            .unwrap();
        let r = c.prev_result().unwrap().unwrap();
        assert_eq!(r.cni_version, CniVersion::V0_4_0);
        assert_eq!(r.interfaces[0].mtu, None);
        assert_eq!(r.interfaces[0].sandbox.as_deref(), Some("/run/netns/p"));
        assert_eq!(r.to_json()["ips"][0]["version"], "4");

        // Without its own version it is read in the config's.
        let c = conf(json!({"cniVersion": "0.3.1", "name": "n", "type": "t",
            "prevResult": {"ips": [{"version": "4", "address": "192.0.2.9/24"}]}}))
        .unwrap();
        assert_eq!(
            c.prev_result().unwrap().unwrap().cni_version,
            CniVersion::V0_3_1
        );
    }

    #[test]
    fn prev_result_in_an_unknown_version_is_code_1() {
        let c = conf(json!({"cniVersion": "1.0.0", "name": "n", "type": "t",
            "prevResult": {"cniVersion": "2.0.0"}}))
        .unwrap();
        let err = c.prev_result().unwrap_err();
        assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
        assert!(
            err.to_string()
                .starts_with("prevResult.cniVersion: \"2.0.0\" is not supported"),
            "{err}"
        );
    }

    #[test]
    fn null_attachments_key_does_not_linger() {
        let c = conf(json!({"cniVersion": "1.1.0", "name": "n", "type": "t",
            "cni.dev/valid-attachments": null,
            "cni.dev/attachments": [{"containerID": "c2", "ifname": "eth0"}]}))
        .unwrap();
        assert!(c.extra.is_empty());
        assert_eq!(NetConf::from_slice(&c.to_vec()).unwrap(), c);
    }

    #[test]
    fn old_attachments_key_is_read() {
        let c = conf(json!({"cniVersion": "1.1.0", "name": "n", "type": "t",
            "cni.dev/attachments": [{"containerID": "c2", "ifname": "eth0"}]}))
        .unwrap();
        assert_eq!(c.valid_attachments.unwrap()[0].container_id.as_str(), "c2");
    }

    #[test]
    fn missing_name_is_code_7() {
        let err = conf(json!({"type": "sriov"})).unwrap_err();
        assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
        assert_eq!(
            err.to_string(),
            "name: missing, expected the network's name"
        );
    }

    #[test]
    fn bad_network_name_is_code_7() {
        let err = conf(json!({"name": "a/b", "type": "sriov"})).unwrap_err();
        assert!(
            err.to_string().starts_with("name: \"a/b\" contains '/'"),
            "{err}"
        );
    }

    #[test]
    fn type_must_be_a_file_name() {
        let err = conf(json!({"name": "n", "type": "../sriov"})).unwrap_err();
        assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
        assert!(err.to_string().starts_with("type: "), "{err}");
    }

    #[test]
    fn unsupported_version_is_code_1() {
        let err = conf(json!({"cniVersion": "0.2.0", "name": "n", "type": "t"})).unwrap_err();
        assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
    }

    #[test]
    fn bad_json_is_code_6() {
        let err = NetConf::from_slice(b"{\"name\": ").unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert!(
            err.to_string()
                .starts_with("network configuration is not valid JSON"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_is_code_6_naming_the_field() {
        let err = conf(json!({"name": "n", "type": "t", "ipam": {"type": 5}})).unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert_eq!(
            err.to_string(),
            "ipam.type: expected a string, found the number 5"
        );
    }

    #[test]
    fn runtime_ips_must_be_cidrs() {
        let err = conf(json!({"name": "n", "type": "t", "runtimeConfig": {"ips": ["192.0.2.1"]}}))
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("runtimeConfig.ips[0]: \"192.0.2.1\" is not an address with a prefix"),
            "{err}"
        );
    }

    #[test]
    fn empty_ipam_means_none() {
        let c = conf(json!({"name": "n", "type": "t", "ipam": {}})).unwrap();
        assert_eq!(c.ipam, None);
    }

    #[test]
    fn missing_version_answers_0_3_0() {
        let c = conf(json!({"name": "n", "type": "t"})).unwrap();
        assert_eq!(c.result_version(), CniVersion::V0_3_0);
    }

    #[test]
    fn list_negotiates_the_newest_known_version() {
        let l = NetConfList::from_slice(
            json!({"cniVersion": "1.0.0", "cniVersions": ["1.0.0", "1.1.0", "9.0.0"], "name": "l",
                   "plugins": [{"type": "a"}]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert_eq!(l.version().unwrap(), CniVersion::V1_1_0);
        let p = l.plugin_conf(0).unwrap();
        assert_eq!(
            (p.name.as_str(), p.cni_version),
            ("l", Some(CniVersion::V1_1_0))
        );
        assert!(l.plugin_conf(1).is_err());
    }

    #[test]
    fn list_without_a_version_runs_as_a_config_without_one() {
        let l = NetConfList::from_slice(br#"{"name": "l", "plugins": [{"type": "a"}]}"#).unwrap();
        assert_eq!(l.version().unwrap(), CniVersion::V0_3_0);
        let single = conf(json!({"name": "l", "type": "a"})).unwrap();
        assert_eq!(
            l.plugin_conf(0).unwrap().result_version(),
            single.result_version()
        );
    }

    #[test]
    fn list_with_no_known_version_is_code_1() {
        let l = NetConfList::from_slice(
            br#"{"cniVersion": "0.2.0", "name": "l", "plugins": [{"type": "a"}]}"#,
        )
        .unwrap();
        let err = l.version().unwrap_err();
        assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
        assert!(
            err.to_string().starts_with("cniVersion: \"0.2.0\""),
            "{err}"
        );
    }

    #[test]
    fn list_needs_plugins_with_a_type() {
        let err = NetConfList::from_slice(br#"{"name": "l", "plugins": []}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugins: is empty, expected at least one plugin configuration"
        );
        let err = NetConfList::from_slice(br#"{"name": "l", "plugins": [{"type": "a"}, {}]}"#)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plugins[1].type: missing, expected the plugin's executable name"
        );
    }

    #[test]
    fn list_flags_may_be_strings() {
        let l = NetConfList::from_slice(
            br#"{"cniVersion": "0.4.0", "name": "l", "disableCheck": "True", "disableGC": "false",
                 "plugins": [{"type": "a"}]}"#,
        )
        .unwrap();
        assert_eq!((l.disable_check, l.disable_gc), (true, false));
        let err = NetConfList::from_slice(
            br#"{"name": "l", "disableCheck": "yes", "plugins": [{"type": "a"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
        assert_eq!(
            err.to_string(),
            "disableCheck: \"yes\" is not allowed, expected one of \"false\", \"true\""
        );
    }

    #[test]
    fn list_flag_of_the_wrong_type_is_code_6() {
        let err = NetConfList::from_slice(
            br#"{"name": "l", "disableCheck": 1, "plugins": [{"type": "a"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert_eq!(
            err.to_string(),
            "disableCheck: expected a string, true or false, found the number 1"
        );
    }

    #[test]
    fn list_name_follows_the_identifier_rule() {
        let err =
            NetConfList::from_slice(br#"{"name": "a/b", "plugins": [{"type": "a"}]}"#).unwrap_err();
        assert_eq!(err.code(), codes::INVALID_NETWORK_CONFIG);
        assert!(
            err.to_string().starts_with("name: \"a/b\" contains '/'"),
            "{err}"
        );
    }

    #[test]
    fn capabilities_must_be_booleans() {
        let err =
            conf(json!({"name": "n", "type": "t", "capabilities": {"mac": "yes"}})).unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert_eq!(
            err.to_string(),
            "capabilities.mac: expected true or false, found the string \"yes\""
        );
    }

    #[test]
    fn bad_valid_attachment_entries_name_the_entry_and_field() {
        for (entry, want) in [
            (
                json!({"containerID": "c1"}),
                "cni.dev/valid-attachments[0].ifname: missing, expected the interface name",
            ),
            (
                json!({"containerID": "-c", "ifname": "net1"}),
                "cni.dev/valid-attachments[0].containerID: \"-c\" starts with '-'",
            ),
            (
                json!({"containerID": "c1", "ifname": "a/b"}),
                "cni.dev/valid-attachments[0].ifname: \"a/b\" is not a valid interface name: \
                 it contains '/'",
            ),
            (
                json!("c1/net1"),
                "cni.dev/valid-attachments[0]: expected an object, found the string \"c1/net1\"",
            ),
        ] {
            let err = conf(json!({"cniVersion": "1.1.0", "name": "n", "type": "t",
                "cni.dev/valid-attachments": [entry]}))
            .unwrap_err();
            assert!(err.to_string().starts_with(want), "{err}");
        }
    }

    #[test]
    fn dns_keeps_unknown_fields() {
        let c = conf(json!({"name": "n", "type": "t",
            "dns": {"nameservers": ["192.0.2.53"], "sortlist": ["192.0.2.0/24"]}}))
        .unwrap();
        let dns = c.dns.as_ref().unwrap();
        assert_eq!(dns.extra["sortlist"], json!(["192.0.2.0/24"]));
        assert_eq!(c.to_json()["dns"]["sortlist"], json!(["192.0.2.0/24"]));
        assert_eq!(NetConf::from_slice(&c.to_vec()).unwrap(), c);
        let r = CniResult::from_slice(
            br#"{"cniVersion": "1.0.0", "dns": {"domain": "example.org", "x-vendor": 1}}"#,
        )
        .unwrap();
        assert_eq!(r.dns.extra["x-vendor"], 1);
        assert_eq!(CniResult::from_slice(&r.to_vec()).unwrap(), r);
    }

    #[test]
    fn list_flags_round_trip() {
        let bytes =
            br#"{"cniVersion": "1.1.0", "name": "l", "disableCheck": true, "disableGC": true,
                         "plugins": [{"type": "a", "x": 1}], "other": "kept"}"#;
        let l = NetConfList::from_slice(bytes).unwrap();
        assert!(l.disable_check && l.disable_gc);
        assert_eq!(l.extra["other"], "kept");
        assert_eq!(NetConfList::from_slice(&l.to_vec()).unwrap(), l);
    }
}
