//! CNI spec versions and the VERSION reply.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{json_bytes, Error};
use crate::json::{Kind, Obj};

/// A CNI spec version this crate reads and writes.
///
/// Ordered oldest first, so `v >= CniVersion::V0_4_0` asks "does this
/// version know CHECK".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CniVersion {
    /// 0.3.0: rich results (interfaces, ips with `version`), chaining.
    V0_3_0,
    /// 0.3.1: same as 0.3.0 (a typo fix).
    V0_3_1,
    /// 0.4.0: adds CHECK and `prevResult` on DEL.
    V0_4_0,
    /// 1.0.0: drops `ips[].version`.
    V1_0_0,
    /// 1.1.0: adds STATUS, GC, `cniVersions`, interface `mtu`/`pciID`/
    /// `socketPath`, route `mtu`/`advmss`/`priority`/`table`/`scope`.
    V1_1_0,
}

impl CniVersion {
    /// Every supported version, oldest first.
    pub const ALL: [CniVersion; 5] = [
        CniVersion::V0_3_0,
        CniVersion::V0_3_1,
        CniVersion::V0_4_0,
        CniVersion::V1_0_0,
        CniVersion::V1_1_0,
    ];

    /// The newest supported version.
    pub const LATEST: CniVersion = CniVersion::V1_1_0;

    /// The version a configuration or list that names none is read as.
    ///
    /// By the spec's rule a missing version means 0.1.0, and Go's skel
    /// reads it so. This crate writes nothing older than 0.3.0, and configs
    /// in the wild omit the version (sriov-cni's `master` example does), so
    /// it deliberately reads them as 0.3.0, the oldest layout it writes:
    /// such a config keeps working, with results in the layout closest to
    /// what it asked for.
    pub const UNSTATED: CniVersion = CniVersion::V0_3_0;

    /// The version as the spec writes it, such as `"0.4.0"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CniVersion::V0_3_0 => "0.3.0",
            CniVersion::V0_3_1 => "0.3.1",
            CniVersion::V0_4_0 => "0.4.0",
            CniVersion::V1_0_0 => "1.0.0",
            CniVersion::V1_1_0 => "1.1.0",
        }
    }

    /// Whether this version has the CHECK command (0.4.0 and later).
    pub fn supports_check(self) -> bool {
        self >= CniVersion::V0_4_0
    }

    /// Whether this version has the STATUS and GC commands (1.1.0 and later).
    pub fn supports_status_and_gc(self) -> bool {
        self >= CniVersion::V1_1_0
    }

    /// Whether results in this version carry `ips[].version` (before 1.0.0).
    pub fn has_ip_version_field(self) -> bool {
        self < CniVersion::V1_0_0
    }

    /// Whether results in this version carry the 1.1.0 interface and route
    /// fields.
    pub fn has_v1_1_fields(self) -> bool {
        self >= CniVersion::V1_1_0
    }

    /// Parses the version held by `field`, with an error naming that field.
    pub(crate) fn parse_field(field: &str, text: &str) -> Result<CniVersion, Error> {
        CniVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == text)
            .ok_or_else(|| Error::IncompatibleVersion {
                field: field.to_string(),
                found: text.to_string(),
                expected: supported_list(),
            })
    }
}

/// "one of 0.3.0, 0.3.1, ..." for error messages.
pub(crate) fn supported_list() -> String {
    let all: Vec<&str> = CniVersion::ALL.iter().map(|v| v.as_str()).collect();
    format!("one of {}", all.join(", "))
}

impl fmt::Display for CniVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CniVersion {
    type Err = Error;

    /// Parses a version; anything unsupported is error code 1.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CniVersion::parse_field("cniVersion", s)
    }
}

/// The reply to the VERSION command: the versions a plugin supports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionReply {
    /// The version the reply is written in.
    pub cni_version: CniVersion,
    /// The versions the plugin supports.
    pub supported_versions: Vec<CniVersion>,
}

impl Default for VersionReply {
    /// The reply for a plugin built on this crate: every version in
    /// [`CniVersion::ALL`], written in the newest.
    fn default() -> Self {
        VersionReply {
            cni_version: CniVersion::LATEST,
            supported_versions: CniVersion::ALL.to_vec(),
        }
    }
}

impl VersionReply {
    /// The reply to VERSION given `stdin`: written in the `cniVersion`
    /// stdin names when this crate knows it (the spec asks for the version
    /// in use to be echoed), else in the newest; listing every version in
    /// [`CniVersion::ALL`].
    pub fn answering(stdin: &[u8]) -> VersionReply {
        let stated = Obj::parse(stdin, "VERSION input", Kind::Config)
            .and_then(|mut o| o.string("cniVersion"))
            .ok()
            .flatten()
            .and_then(|v| v.parse().ok());
        VersionReply {
            cni_version: stated.unwrap_or(CniVersion::LATEST),
            ..VersionReply::default()
        }
    }

    /// The reply as a JSON value.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("cniVersion".into(), self.cni_version.as_str().into());
        let list = self
            .supported_versions
            .iter()
            .map(|v| Value::from(v.as_str()))
            .collect();
        map.insert("supportedVersions".into(), Value::Array(list));
        Value::Object(map)
    }

    /// The reply as the bytes a plugin prints on stdout.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn versions_parse_print_and_order() {
        for v in CniVersion::ALL {
            assert_eq!(v.as_str().parse::<CniVersion>().unwrap(), v);
        }
        assert!(CniVersion::V0_3_1 < CniVersion::V0_4_0);
        assert!(!CniVersion::V0_3_1.supports_check());
        assert!(CniVersion::V0_4_0.supports_check());
        assert!(CniVersion::V1_1_0.supports_status_and_gc());
        assert!(!CniVersion::V1_0_0.supports_status_and_gc());
    }

    #[test]
    fn unsupported_version_is_code_1_and_lists_the_right_ones() {
        let err = "0.2.0".parse::<CniVersion>().unwrap_err();
        assert_eq!(err.code(), codes::INCOMPATIBLE_VERSION);
        assert_eq!(
            err.to_string(),
            "cniVersion: \"0.2.0\" is not supported, expected one of 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0"
        );
    }

    #[test]
    fn version_reply_echoes_a_known_stated_version() {
        let answer = |stdin: &[u8]| VersionReply::answering(stdin).cni_version;
        assert_eq!(answer(br#"{"cniVersion": "0.4.0"}"#), CniVersion::V0_4_0);
        assert_eq!(
            answer(br#"{"cniVersion": "0.3.1", "name": "n"}"#),
            CniVersion::V0_3_1
        );
        for newest in [&br#"{"cniVersion": "9.9.9"}"#[..], b"{}", b"", b"[1]"] {
            assert_eq!(answer(newest), CniVersion::LATEST);
        }
        assert_eq!(
            VersionReply::answering(br#"{"cniVersion": "0.4.0"}"#).supported_versions,
            CniVersion::ALL
        );
    }

    #[test]
    fn version_reply_lists_every_supported_version() {
        let v: Value = serde_json::from_slice(&VersionReply::default().to_vec()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "cniVersion": "1.1.0",
                "supportedVersions": ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]
            })
        );
    }
}
