//! What releasing a bond must put back, as a value a caller can keep on
//! disk.

use serde::{Deserialize, Serialize};

use netplumb_netns::{IfName, MacAddr};

/// Everything [`release`](crate::release) needs to undo a bond: its name,
/// and each port's state from before it was enslaved.
///
/// It is known before anything changes ([`Plan::record`](crate::Plan::record)),
/// so a caller can write it down first and finish a release after a crash
/// halfway through building the bond. Serialised with serde; MACs are
/// written as `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BondRecord {
    /// The bond's name in the pod namespace.
    pub bond: IfName,
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
    /// Its MAC address.
    pub mac: MacAddr,
    /// Its MTU.
    pub mtu: u32,
    /// Whether it was administratively up.
    pub up: bool,
}

impl BondRecord {
    /// A record of `bond` over `ports`.
    pub fn new(bond: IfName, ports: Vec<PortRecord>) -> BondRecord {
        BondRecord { bond, ports }
    }
}

impl PortRecord {
    /// A port named `name` that was `up` or down with `mac` and `mtu`,
    /// moved in from the home namespace when `from_home`.
    pub fn new(name: IfName, from_home: bool, mac: MacAddr, mtu: u32, up: bool) -> Self {
        PortRecord {
            name,
            from_home,
            mac,
            mtu,
            up,
        }
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
        let json = serde_json::to_value(record()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "bond": "bond0",
                "ports": [
                    {"name": "net1", "from_home": false, "mac": "02:00:00:b0:00:01", "mtu": 1500, "up": true},
                    {"name": "net2", "from_home": true, "mac": "02:00:00:b0:00:02", "mtu": 9000, "up": false}
                ]
            })
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
            ports in proptest::collection::vec(
                ("[a-z0-9]{1,15}", any::<bool>(), any::<[u8; 6]>(), 68u32..65536, any::<bool>()),
                0..4,
            ),
        ) {
            let rec = BondRecord::new(
                name(&bond),
                ports
                    .into_iter()
                    .map(|(n, home, mac, mtu, up)| PortRecord::new(name(&n), home, MacAddr(mac), mtu, up))
                    .collect(),
            );
            let text = serde_json::to_string(&rec).unwrap();
            prop_assert_eq!(serde_json::from_str::<BondRecord>(&text).unwrap(), rec);
        }
    }
}
