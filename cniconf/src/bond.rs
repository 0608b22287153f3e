//! The `bond` plugin's configuration.

use std::ops::RangeInclusive;

use netplumb_types::{BondMode, BondOption, BondOptions, FailOverMac, IfName, XmitHashPolicy};
use serde_json::Value;

use crate::conf::NetConf;
use crate::error::{json_bytes, Error};
use crate::json::{put, Kind, Obj};
use crate::names::check_text;
use crate::plugin_options::PluginOptions;

const MTU: RangeInclusive<u64> = 68..=65535;
/// Every message about a bad `mtu` ends so, whatever the value.
const MTU_EXPECTED: &str = "expected 68-65535 (or 0 for the default)";
/// What `miimon`, `updelay` and `downdelay` can hold: the kernel keeps
/// them in an int.
const MILLIS: RangeInclusive<u64> = 0..=netplumb_types::MAX_BOND_MS as u64;
const MIIMON_MISSING: &str =
    "missing, expected the link monitoring interval in milliseconds, such as \"100\"";

/// The `bond` plugin's configuration: every field bond-cni accepts, plus
/// `primary`, `updelay` and `downdelay`.
///
/// Numbers may be written as strings (`"miimon": "100"`); `mode`,
/// `failOverMac` and `xmitHashPolicy` take what their types' parsers take
/// (names, aliases such as `"lacp"` and `"layer34"`, numbers as text) and
/// JSON numbers for the kernel's numbers. Serializing writes names, and
/// numbers where bond-cni reads numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct BondConf {
    /// The fields every plugin shares; unknown fields stay in `net.extra`.
    pub net: NetConf,
    /// `ifname`: the bond's name; `CNI_IFNAME` when absent.
    pub ifname: Option<IfName>,
    /// The bond's mode and options, from bond-cni's fields:
    ///
    /// | field | option |
    /// |---|---|
    /// | `mode` | [`mode`](BondOptions::mode) |
    /// | `miimon` | [`miimon`](BondOptions::miimon), required, so always `Some` in a parsed config |
    /// | `failOverMac` | [`fail_over_mac`](BondOptions::fail_over_mac) |
    /// | `allSlavesActive` | [`all_slaves_active`](BondOptions::all_slaves_active) |
    /// | `xmitHashPolicy` | [`xmit_hash_policy`](BondOptions::xmit_hash_policy) |
    /// | `tlbDynamicLb` | [`tlb_dynamic_lb`](BondOptions::tlb_dynamic_lb) |
    /// | `primary` | [`primary`](BondOptions::primary), one of `links` |
    /// | `updelay`, `downdelay` | [`updelay`](BondOptions::updelay), [`downdelay`](BondOptions::downdelay) |
    ///
    /// [`BondOptions::check`] decides how they combine; errors name the
    /// field.
    pub options: BondOptions,
    /// `linksInContainer`: the ports are already in the container (as when
    /// another plugin put them there); otherwise they are moved in from the
    /// host.
    pub links_in_container: bool,
    /// `links`: the ports, at least two, each `{"name": ...}`.
    pub links: Vec<IfName>,
    /// `mtu`: 68-65535; absent (or 0) leaves the default. Any other value
    /// is refused with one message, whatever it is.
    pub mtu: Option<u32>,
    /// `logLevel`, `logFile` and `dataDir`, as the `sriov` plugin reads
    /// them (bond-cni has none).
    pub plugin: PluginOptions,
}

impl BondConf {
    /// Parses and checks a `bond` configuration.
    pub fn from_slice(bytes: &[u8]) -> Result<BondConf, Error> {
        let mut o = Obj::parse(bytes, "network configuration", Kind::Config)?;
        let ifname = o.parsed("ifname", str::parse::<IfName>)?;
        let mode = o
            .name_or_number("mode", BondMode::from_number)?
            .ok_or_else(|| {
                o.invalid(
                    "mode",
                    "missing, expected a bonding mode such as \"active-backup\" or 1",
                )
            })?;
        let mut options = BondOptions::new(mode);
        options.miimon = Some(
            o.number("miimon", MILLIS)?
                .ok_or_else(|| o.invalid("miimon", MIIMON_MISSING))? as u32,
        );
        options.fail_over_mac = o.name_or_number("failOverMac", FailOverMac::from_number)?;
        let links_in_container = o.boolean("linksInContainer")?.unwrap_or(false);
        let links = read_links(&mut o)?;
        let mtu = o
            .number_where("mtu", |m| m == 0 || MTU.contains(&m), MTU_EXPECTED)?
            .filter(|m| *m != 0)
            .map(|m| m as u32);
        options.all_slaves_active = o.flag("allSlavesActive")?;
        options.xmit_hash_policy =
            o.name_or_number("xmitHashPolicy", XmitHashPolicy::from_number)?;
        options.tlb_dynamic_lb = o.flag("tlbDynamicLb")?;
        options.primary = o.parsed("primary", str::parse::<IfName>)?;
        options.updelay = o.number("updelay", MILLIS)?.map(|n| n as u32);
        options.downdelay = o.number("downdelay", MILLIS)?.map(|n| n as u32);
        let plugin = PluginOptions::read(&mut o)?;
        let conf = BondConf {
            net: NetConf::from_obj(o)?,
            ifname,
            options,
            links_in_container,
            links,
            mtu,
            plugin,
        };
        conf.validate()?;
        Ok(conf)
    }

    /// Checks every rule that ties fields together, and the ranges of
    /// numeric fields: the same rules parsing applies. The rules on how bond
    /// options combine are [`BondOptions::check`]'s, with `links` as the
    /// ports.
    pub fn validate(&self) -> Result<(), Error> {
        self.plugin.validate()?;
        let bad = |field: &str, message: String| {
            Err(Error::InvalidConfig {
                field: field.into(),
                message,
            })
        };
        if self.options.miimon.is_none() {
            return bad("miimon", MIIMON_MISSING.into());
        }
        let names = self.ifname.iter().map(|n| ("ifname".to_string(), n));
        let links = (self.links.iter().enumerate()).map(|(i, n)| (format!("links[{i}].name"), n));
        for (field, name) in names.chain(links) {
            check_text(name).or_else(|why| bad(&field, why))?;
        }
        self.options.check(&self.links).map_err(|why| match why {
            netplumb_types::Error::BondOption { option, problem } => Error::InvalidConfig {
                field: field_of(option).into(),
                message: problem,
            },
            // check names an option in each error it makes; any other
            // would be about the options together, which the mode
            // governs.
            other => Error::InvalidConfig {
                field: "mode".into(),
                message: other.to_string(),
            },
        })?;
        self.net.check_ipam_is_not_itself()?;
        if let Some(m) = self.mtu.filter(|m| !MTU.contains(&u64::from(*m))) {
            return bad("mtu", format!("{m} is out of range, {MTU_EXPECTED}"));
        }
        Ok(())
    }

    /// The configuration as a JSON object, in canonical form.
    pub fn to_json(&self) -> Value {
        let o = &self.options;
        let mut map = self.net.to_map();
        put(
            &mut map,
            "ifname",
            self.ifname.as_ref().map(IfName::to_string),
        );
        map.insert("mode".into(), o.mode.name().into());
        // bond-cni reads miimon as a string; write what it reads.
        map.insert("miimon".into(), o.effective_miimon().to_string().into());
        put(
            &mut map,
            "failOverMac",
            o.fail_over_mac.map(FailOverMac::number),
        );
        map.insert("linksInContainer".into(), self.links_in_container.into());
        let links = self
            .links
            .iter()
            .map(|l| serde_json::json!({"name": l.to_string()}))
            .collect();
        map.insert("links".into(), Value::Array(links));
        put(&mut map, "mtu", self.mtu);
        put(
            &mut map,
            "allSlavesActive",
            o.all_slaves_active.map(u8::from),
        );
        put(
            &mut map,
            "xmitHashPolicy",
            o.xmit_hash_policy.map(XmitHashPolicy::name),
        );
        put(&mut map, "tlbDynamicLb", o.tlb_dynamic_lb.map(u8::from));
        put(
            &mut map,
            "primary",
            o.primary.as_ref().map(IfName::to_string),
        );
        put(&mut map, "updelay", o.updelay);
        put(&mut map, "downdelay", o.downdelay);
        self.plugin.write(&mut map);
        Value::Object(map)
    }

    /// The configuration as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }
}

/// The field of bond-cni's schema that holds `option`.
fn field_of(option: BondOption) -> &'static str {
    match option {
        BondOption::Mode => "mode",
        BondOption::Miimon => "miimon",
        BondOption::Updelay => "updelay",
        BondOption::Downdelay => "downdelay",
        BondOption::FailOverMac => "failOverMac",
        BondOption::XmitHashPolicy => "xmitHashPolicy",
        BondOption::AllSlavesActive => "allSlavesActive",
        BondOption::TlbDynamicLb => "tlbDynamicLb",
        BondOption::Primary => "primary",
        BondOption::Ports => "links",
        // An option bond-cni has no field for: its kernel name says which.
        other => other.kernel_name(),
    }
}

/// `links`: `[{"name": "net1"}, ...]`; bare names are accepted too.
fn read_links(o: &mut Obj) -> Result<Vec<IfName>, Error> {
    let items = o
        .array("links")?
        .ok_or_else(|| o.invalid("links", "missing, expected at least two ports, such as [{\"name\": \"net1\"}, {\"name\": \"net2\"}]"))?;
    let mut links = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let field = format!("links[{i}]");
        let name = match item {
            Value::String(s) => s.parse::<IfName>().map_err(|why| o.invalid(&field, why))?,
            other => {
                let mut link = Obj::from_value(other, o.path(&field), Kind::Config)?;
                link.parsed("name", str::parse::<IfName>)?.ok_or_else(|| {
                    link.invalid("name", "missing, expected the port's interface name")
                })?
            }
        };
        links.push(name);
    }
    Ok(links)
}
