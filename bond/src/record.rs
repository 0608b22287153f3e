//! What releasing a bond must put back, as a value a caller can keep on
//! disk.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};

use netplumb_types::{IfName, MacAddr};

/// Everything [`release`](crate::release) needs to undo a bond: its name
/// (and index, once it exists), and each port's state from before it was
/// enslaved.
///
/// It is known before anything changes ([`Plan::record`](crate::Plan::record)),
/// so a caller can write it down first and finish a release after a crash
/// halfway through building the bond; [`Created::record`](crate::Created)
/// adds the bond's index, for the caller to write down again. Serialised
/// with serde; names are written as their text (a name that is not UTF-8
/// as its bytes), MACs as `aa:bb:cc:dd:ee:ff`. Fields added since
/// the first format read as unknown from older records, and a record of a
/// newer format than this crate knows is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BondRecord {
    /// The format the record was written in: [`BondRecord::VERSION`] for
    /// records made here; records written before formats were numbered
    /// read as 1.
    #[serde(default = "first_version", deserialize_with = "known_version")]
    pub version: u32,
    /// The bond's name in the pod namespace.
    pub bond: IfName,
    /// The bond's interface index in the pod namespace, once it was
    /// created. Release deletes a bond of this name only if it is the one
    /// with this index.
    #[serde(default)]
    pub index: Option<u32>,
    /// The ports, in the order they are enslaved.
    pub ports: Vec<PortRecord>,
}

/// One port's state before it was enslaved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PortRecord {
    /// The port's name. Ports keep their names when they are moved into
    /// the pod, so this is also their name at home.
    pub name: IfName,
    /// True when the port was moved in from the home namespace (bond-cni's
    /// `linksInContainer: false`) and goes back there on release.
    pub from_home: bool,
    /// Its interface index where it started (home, or the pod).
    #[serde(default)]
    pub index: Option<u32>,
    /// Its MAC address.
    pub mac: MacAddr,
    /// The hardware's own MAC (`IFLA_PERM_ADDRESS`), when the driver
    /// reports one: what still tells the port apart when it comes back
    /// under another name.
    #[serde(default)]
    pub permanent_mac: Option<MacAddr>,
    /// The device it sits on ([`Netlink::device_of`]), when it sits on
    /// one: a VF's PCI address. A port with a device is found again by it
    /// alone; names, MACs and indexes are what anyone with the namespace
    /// can give a link.
    ///
    /// [`Netlink::device_of`]: netplumb_netns::Netlink::device_of
    #[serde(default)]
    pub device: Option<String>,
    /// Its MTU.
    pub mtu: u32,
    /// Whether it was administratively up.
    pub up: bool,
}

impl BondRecord {
    /// The format of the records this crate writes. 2 added the bond's and
    /// the ports' indexes and the ports' permanent MACs; 3 the ports'
    /// devices.
    pub const VERSION: u32 = 3;

    /// A record of `bond` over `ports`, in the current format, without the
    /// bond's index.
    pub fn new(bond: IfName, ports: Vec<PortRecord>) -> BondRecord {
        BondRecord {
            version: BondRecord::VERSION,
            bond,
            index: None,
            ports,
        }
    }
}

impl PortRecord {
    /// A port named `name` that was `up` or down with `mac` and `mtu`,
    /// moved in from the home namespace when `from_home`; its index and
    /// permanent MAC unknown.
    pub fn new(name: IfName, from_home: bool, mac: MacAddr, mtu: u32, up: bool) -> Self {
        PortRecord {
            name,
            from_home,
            index: None,
            mac,
            permanent_mac: None,
            device: None,
            mtu,
            up,
        }
    }
}

fn first_version() -> u32 {
    1
}

fn known_version<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let version = u32::deserialize(d)?;
    if (1..=BondRecord::VERSION).contains(&version) {
        Ok(version)
    } else {
        Err(D::Error::custom(format!(
            "bond record format version {version} is not one this crate reads (1-{})",
            BondRecord::VERSION
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn name(text: &str) -> IfName {
        text.parse().unwrap()
    }

    fn record() -> BondRecord {
        BondRecord::new(
            name("bond0"),
            vec![
                PortRecord::new(
                    name("net1"),
                    false,
                    MacAddr([2, 0, 0, 0xb0, 0, 1]),
                    1500,
                    true,
                ),
                PortRecord::new(
                    name("net2"),
                    true,
                    MacAddr([2, 0, 0, 0xb0, 0, 2]),
                    9000,
                    false,
                ),
            ],
        )
    }

    #[test]
    fn the_record_reads_as_plain_json() {
        let mut rec = record();
        rec.index = Some(7);
        rec.ports[1].index = Some(12);
        rec.ports[1].permanent_mac = Some(MacAddr([2, 0, 0, 0xb0, 0, 0x22]));
        rec.ports[1].device = Some("0000:01:10.2".into());
        let json = serde_json::to_value(rec).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "version": 3,
                "bond": "bond0",
                "index": 7,
                "ports": [
                    {"name": "net1", "from_home": false, "index": null, "mac": "02:00:00:b0:00:01",
                     "permanent_mac": null, "device": null, "mtu": 1500, "up": true},
                    {"name": "net2", "from_home": true, "index": 12, "mac": "02:00:00:b0:00:02",
                     "permanent_mac": "02:00:00:b0:00:22", "device": "0000:01:10.2",
                     "mtu": 9000, "up": false}
                ]
            })
        );
    }

    #[test]
    fn a_record_of_the_first_format_still_reads() {
        let text = r#"{"bond":"bond0","ports":[
            {"name":"net1","from_home":false,"mac":"02:00:00:b0:00:01","mtu":1500,"up":true},
            {"name":"net2","from_home":true,"mac":"02:00:00:b0:00:02","mtu":9000,"up":false}]}"#;
        let rec: BondRecord = serde_json::from_str(text).unwrap();
        assert_eq!(rec.version, 1);
        assert_eq!(rec.index, None);
        assert_eq!(
            BondRecord {
                version: BondRecord::VERSION,
                ..rec
            },
            record()
        );
    }

    #[test]
    fn a_record_of_an_unknown_format_is_refused() {
        for version in [0, 4] {
            let text = format!(r#"{{"version":{version},"bond":"bond0","ports":[]}}"#);
            let err = serde_json::from_str::<BondRecord>(&text)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(&format!(
                    "format version {version} is not one this crate reads (1-3)"
                )),
                "{err}"
            );
        }
    }

    #[test]
    fn a_name_that_is_not_utf8_survives_json() {
        let mut rec = record();
        rec.ports[0].name = IfName::new(b"net\xff").unwrap();
        let text = serde_json::to_string(&rec).unwrap();
        assert!(text.contains(r#""name":[110,101,116,255]"#), "{text}");
        assert_eq!(serde_json::from_str::<BondRecord>(&text).unwrap(), rec);
    }

    #[test]
    fn a_bad_name_in_a_record_is_refused() {
        let text = r#"{"bond":"bond 0","ports":[]}"#;
        let err = serde_json::from_str::<BondRecord>(text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bond 0") && err.contains("whitespace"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_mac_in_a_record_is_named() {
        let text = r#"{"bond":"bond0","ports":[{"name":"net1","from_home":false,
            "mac":"02:00:00","mtu":1500,"up":true}]}"#;
        let err = serde_json::from_str::<BondRecord>(text)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("MAC address") && err.contains("02:00:00"),
            "{err}"
        );
    }

    proptest! {
        #[test]
        fn records_survive_json(
            bond in "[a-z0-9]{1,15}",
            index in proptest::option::of(1u32..),
            ports in proptest::collection::vec(
                (
                    ("[a-z0-9]{1,15}", any::<bool>(), any::<[u8; 6]>(), 68u32..65536, any::<bool>()),
                    proptest::option::of(1u32..),
                    proptest::option::of(any::<[u8; 6]>()),
                ),
                0..4,
            ),
        ) {
            let mut rec = BondRecord::new(
                name(&bond),
                ports
                    .into_iter()
                    .map(|((n, home, mac, mtu, up), index, permanent)| {
                        let mut port = PortRecord::new(name(&n), home, MacAddr(mac), mtu, up);
                        port.index = index;
                        port.permanent_mac = permanent.map(MacAddr);
                        port
                    })
                    .collect(),
            );
            rec.index = index;
            let text = serde_json::to_string(&rec).unwrap();
            prop_assert_eq!(serde_json::from_str::<BondRecord>(&text).unwrap(), rec);
        }
    }
}
