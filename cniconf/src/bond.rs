//! The `bond` plugin's configuration.

use std::ops::RangeInclusive;

use serde_json::Value;

use crate::conf::NetConf;
use crate::error::{json_bytes, Error};
use crate::json::{name_of, put, Kind, Obj};
use crate::names::IfName;

const MTU: RangeInclusive<u64> = 68..=65535;
/// Every message about a bad `mtu` ends so, whatever the value.
const MTU_EXPECTED: &str = "expected 68-65535 (or 0 for the default)";
/// The kernel keeps bond timers in a C int.
const MILLIS: RangeInclusive<u64> = 0..=i32::MAX as u64;

/// A bonding mode. The kernel numbers them 0-6 in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BondMode {
    /// `balance-rr` (0).
    BalanceRr,
    /// `active-backup` (1).
    ActiveBackup,
    /// `balance-xor` (2).
    BalanceXor,
    /// `broadcast` (3).
    Broadcast,
    /// `802.3ad` (4): LACP.
    Lacp,
    /// `balance-tlb` (5).
    BalanceTlb,
    /// `balance-alb` (6).
    BalanceAlb,
}

const MODES: [(&str, BondMode); 7] = [
    ("balance-rr", BondMode::BalanceRr),
    ("active-backup", BondMode::ActiveBackup),
    ("balance-xor", BondMode::BalanceXor),
    ("broadcast", BondMode::Broadcast),
    ("802.3ad", BondMode::Lacp),
    ("balance-tlb", BondMode::BalanceTlb),
    ("balance-alb", BondMode::BalanceAlb),
];

impl BondMode {
    /// The mode's name, as the kernel and `ip link` write it.
    pub fn as_str(self) -> &'static str {
        name_of(&MODES, self)
    }

    /// The kernel's number for the mode (0-6).
    pub fn number(self) -> u8 {
        index_of(&MODES, self)
    }
}

/// How a bond sets its ports' MAC addresses (`failOverMac`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOverMac {
    /// `none` (0): all ports get the bond's MAC.
    None,
    /// `active` (1): the bond takes the active port's MAC.
    Active,
    /// `follow` (2): the active port gets the bond's MAC.
    Follow,
}

const FAIL_OVER_MACS: [(&str, FailOverMac); 3] = [
    ("none", FailOverMac::None),
    ("active", FailOverMac::Active),
    ("follow", FailOverMac::Follow),
];

impl FailOverMac {
    /// The setting's name.
    pub fn as_str(self) -> &'static str {
        name_of(&FAIL_OVER_MACS, self)
    }

    /// The kernel's number for the setting (0-2).
    pub fn number(self) -> u8 {
        index_of(&FAIL_OVER_MACS, self)
    }
}

/// The hash that picks a port for each packet (`xmitHashPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XmitHashPolicy {
    /// `layer2` (0).
    Layer2,
    /// `layer3+4` (1).
    Layer34,
    /// `layer2+3` (2).
    Layer23,
    /// `encap2+3` (3).
    Encap23,
    /// `encap3+4` (4).
    Encap34,
    /// `vlan+srcmac` (5).
    VlanSrcMac,
}

const XMIT_HASH_POLICIES: [(&str, XmitHashPolicy); 6] = [
    ("layer2", XmitHashPolicy::Layer2),
    ("layer3+4", XmitHashPolicy::Layer34),
    ("layer2+3", XmitHashPolicy::Layer23),
    ("encap2+3", XmitHashPolicy::Encap23),
    ("encap3+4", XmitHashPolicy::Encap34),
    ("vlan+srcmac", XmitHashPolicy::VlanSrcMac),
];

impl XmitHashPolicy {
    /// The policy's name.
    pub fn as_str(self) -> &'static str {
        name_of(&XMIT_HASH_POLICIES, self)
    }

    /// The kernel's number for the policy (0-5).
    pub fn number(self) -> u8 {
        index_of(&XMIT_HASH_POLICIES, self)
    }
}

fn index_of<T: PartialEq + Copy>(table: &[(&'static str, T)], value: T) -> u8 {
    table
        .iter()
        .position(|(_, t)| *t == value)
        .unwrap_or_default() as u8
}

/// The `bond` plugin's configuration: every field bond-cni accepts, plus
/// `primary`, `updelay` and `downdelay`.
///
/// Numbers may be written as strings (`"miimon": "100"`), modes and
/// `failOverMac` by name or number; serializing writes names and numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct BondConf {
    /// The fields every plugin shares; unknown fields stay in `net.extra`.
    pub net: NetConf,
    /// `ifname`: the bond's name; `CNI_IFNAME` when absent.
    pub ifname: Option<IfName>,
    /// `mode`.
    pub mode: BondMode,
    /// `miimon`: link monitoring interval in milliseconds; 0 turns it off.
    pub miimon: u32,
    /// `failOverMac`.
    pub fail_over_mac: Option<FailOverMac>,
    /// `linksInContainer`: the ports are already in the container (as when
    /// another plugin put them there); otherwise they are moved in from the
    /// host.
    pub links_in_container: bool,
    /// `links`: the ports, at least two, each `{"name": ...}`.
    pub links: Vec<IfName>,
    /// `mtu`: 68-65535; absent (or 0) leaves the default. Any other value
    /// is refused with one message, whatever it is.
    pub mtu: Option<u32>,
    /// `allSlavesActive`: deliver duplicate frames from inactive ports.
    pub all_slaves_active: Option<bool>,
    /// `xmitHashPolicy`: takes effect in balance-xor, 802.3ad and
    /// balance-tlb. Accepted in every mode, as the kernel accepts it; the
    /// bond crate warns when it has no effect.
    pub xmit_hash_policy: Option<XmitHashPolicy>,
    /// `tlbDynamicLb`: for balance-tlb and balance-alb.
    pub tlb_dynamic_lb: Option<bool>,
    /// `primary`: the preferred port, one of `links`; for active-backup,
    /// balance-tlb and balance-alb.
    pub primary: Option<IfName>,
    /// `updelay` in milliseconds; needs `miimon`.
    pub updelay: Option<u32>,
    /// `downdelay` in milliseconds; needs `miimon`.
    pub downdelay: Option<u32>,
}

impl BondConf {
    /// Parses and checks a `bond` configuration.
    pub fn from_slice(bytes: &[u8]) -> Result<BondConf, Error> {
        let mut o = Obj::parse(bytes, "network configuration", Kind::Config)?;
        let ifname = o.parsed("ifname", str::parse::<IfName>)?;
        let mode = o.keyword("mode", &MODES, true)?.ok_or_else(|| {
            o.invalid(
                "mode",
                "missing, expected a bonding mode such as \"active-backup\" or 1",
            )
        })?;
        let miimon = o.number("miimon", MILLIS)?.ok_or_else(|| {
            o.invalid(
                "miimon",
                "missing, expected the link monitoring interval in milliseconds, such as \"100\"",
            )
        })? as u32;
        let fail_over_mac = o.keyword("failOverMac", &FAIL_OVER_MACS, true)?;
        let links_in_container = o.boolean("linksInContainer")?.unwrap_or(false);
        let links = read_links(&mut o)?;
        let mtu = o
            .number_where("mtu", |m| m == 0 || MTU.contains(&m), MTU_EXPECTED)?
            .filter(|m| *m != 0)
            .map(|m| m as u32);
        let all_slaves_active = o.flag("allSlavesActive")?;
        let xmit_hash_policy = o.keyword("xmitHashPolicy", &XMIT_HASH_POLICIES, true)?;
        let tlb_dynamic_lb = o.flag("tlbDynamicLb")?;
        let primary = o.parsed("primary", str::parse::<IfName>)?;
        let updelay = o.number("updelay", MILLIS)?.map(|n| n as u32);
        let downdelay = o.number("downdelay", MILLIS)?.map(|n| n as u32);
        let conf = BondConf {
            net: NetConf::from_obj(o)?,
            ifname,
            mode,
            miimon,
            fail_over_mac,
            links_in_container,
            links,
            mtu,
            all_slaves_active,
            xmit_hash_policy,
            tlb_dynamic_lb,
            primary,
            updelay,
            downdelay,
        };
        conf.validate()?;
        Ok(conf)
    }

    /// Checks every rule that ties fields together, and the ranges of
    /// numeric fields: the same rules parsing applies.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &str, message: String| {
            Err(Error::InvalidConfig {
                field: field.into(),
                message,
            })
        };
        if self.links.len() < 2 {
            return bad(
                "links",
                format!("has {} link(s), expected at least 2", self.links.len()),
            );
        }
        for (i, link) in self.links.iter().enumerate() {
            if self.links[..i].contains(link) {
                return bad(
                    &format!("links[{i}].name"),
                    format!(
                        "{:?} is listed twice, expected distinct links",
                        link.as_str()
                    ),
                );
            }
        }
        if let Some(primary) = self.primary.as_ref().filter(|p| !self.links.contains(p)) {
            let links: Vec<&str> = self.links.iter().map(IfName::as_str).collect();
            return bad(
                "primary",
                format!(
                    "{:?} is not one of the links, expected one of {}",
                    primary.as_str(),
                    links.join(", ")
                ),
            );
        }
        self.net.check_ipam_is_not_itself()?;
        // Options the kernel refuses outside some modes. xmitHashPolicy is
        // not one: the kernel takes it in every mode, and it only has no
        // effect outside balance-xor, 802.3ad and balance-tlb.
        let mode_bound = [
            (
                "primary",
                self.primary.is_some(),
                &[
                    BondMode::ActiveBackup,
                    BondMode::BalanceTlb,
                    BondMode::BalanceAlb,
                ][..],
            ),
            (
                "tlbDynamicLb",
                self.tlb_dynamic_lb.is_some(),
                &[BondMode::BalanceTlb, BondMode::BalanceAlb],
            ),
        ];
        for (field, set, allowed) in mode_bound {
            if set && !allowed.contains(&self.mode) {
                let modes: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
                return bad(
                    field,
                    format!(
                        "does not apply to mode {}, expected mode {}",
                        self.mode.as_str(),
                        modes.join(", ")
                    ),
                );
            }
        }
        if let Some(m) = self.mtu.filter(|m| !MTU.contains(&u64::from(*m))) {
            return bad("mtu", format!("{m} is out of range, {MTU_EXPECTED}"));
        }
        let timers = [
            ("miimon", Some(self.miimon)),
            ("updelay", self.updelay),
            ("downdelay", self.downdelay),
        ];
        for (field, value) in timers {
            if let Some(v) = value.filter(|v| !MILLIS.contains(&u64::from(*v))) {
                return bad(
                    field,
                    format!("{v} is out of range, expected 0-{}", MILLIS.end()),
                );
            }
        }
        for (field, value) in &timers[1..] {
            if value.is_some() && self.miimon == 0 {
                return bad(
                    field,
                    "is set while miimon is 0, expected miimon above 0".into(),
                );
            }
        }
        Ok(())
    }

    /// The configuration as a JSON object, in canonical form.
    pub fn to_json(&self) -> Value {
        let mut map = self.net.to_map();
        put(
            &mut map,
            "ifname",
            self.ifname.as_ref().map(|i| i.to_string()),
        );
        map.insert("mode".into(), self.mode.as_str().into());
        // bond-cni reads miimon as a string; write what it reads.
        map.insert("miimon".into(), self.miimon.to_string().into());
        put(
            &mut map,
            "failOverMac",
            self.fail_over_mac.map(FailOverMac::number),
        );
        map.insert("linksInContainer".into(), self.links_in_container.into());
        let links = self
            .links
            .iter()
            .map(|l| serde_json::json!({"name": l.as_str()}))
            .collect();
        map.insert("links".into(), Value::Array(links));
        put(&mut map, "mtu", self.mtu);
        put(
            &mut map,
            "allSlavesActive",
            self.all_slaves_active.map(u8::from),
        );
        put(
            &mut map,
            "xmitHashPolicy",
            self.xmit_hash_policy.map(XmitHashPolicy::as_str),
        );
        put(&mut map, "tlbDynamicLb", self.tlb_dynamic_lb.map(u8::from));
        put(
            &mut map,
            "primary",
            self.primary.as_ref().map(|p| p.to_string()),
        );
        put(&mut map, "updelay", self.updelay);
        put(&mut map, "downdelay", self.downdelay);
        Value::Object(map)
    }

    /// The configuration as JSON bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
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
