//! The crate's error type, and the error reply a plugin prints on stdout.

use serde_json::{Map, Value};

use crate::env::Command;
use crate::json::{Kind, Obj};
use crate::version::CniVersion;

/// The well-known error codes of the CNI specification.
///
/// Codes 0-99 belong to the spec; plugins use 100 and above for their own.
pub mod codes {
    /// The plugin does not speak the CNI version the configuration asks for.
    pub const INCOMPATIBLE_VERSION: u32 = 1;
    /// The configuration holds a field the plugin does not support.
    pub const UNSUPPORTED_FIELD: u32 = 2;
    /// The container is unknown or does not exist.
    pub const UNKNOWN_CONTAINER: u32 = 3;
    /// A `CNI_*` environment variable is missing or invalid.
    pub const INVALID_ENV: u32 = 4;
    /// An I/O failure, such as reading stdin.
    pub const IO_FAILURE: u32 = 5;
    /// Content could not be decoded, such as JSON of the wrong shape.
    pub const DECODING_FAILURE: u32 = 6;
    /// The network configuration is invalid.
    pub const INVALID_NETWORK_CONFIG: u32 = 7;
    /// A transient failure: the runtime should try again later.
    pub const TRY_AGAIN_LATER: u32 = 11;
    /// STATUS: the plugin cannot serve ADD requests now.
    pub const PLUGIN_NOT_AVAILABLE: u32 = 50;
    /// STATUS: the plugin cannot serve ADD requests, and existing containers
    /// may have limited connectivity.
    pub const PLUGIN_NOT_AVAILABLE_LIMITED_CONNECTIVITY: u32 = 51;
}

/// Everything that can go wrong while reading or writing CNI protocol data.
///
/// Each variant names the field or variable at fault; [`Error::code`] gives
/// the CNI error code and [`Error::to_reply`] the spec's error JSON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input names a CNI version this crate does not speak, or one too
    /// old for the command.
    #[error("{field}: {found:?} is not supported, expected {expected}")]
    IncompatibleVersion {
        /// The field holding the version (`cniVersion`, `cniVersions`).
        field: String,
        /// The version found.
        found: String,
        /// What would be accepted.
        expected: String,
    },
    /// A `CNI_*` variable the command needs is not set (or is empty).
    #[error("{var} is not set; {command} needs it")]
    MissingEnv {
        /// The variable.
        var: &'static str,
        /// The command that needs it.
        command: Command,
    },
    /// A `CNI_*` variable holds a value that breaks the spec's rules.
    #[error("{var}: {message}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// What is wrong and what would be right.
        message: String,
    },
    /// Input that should be JSON is not.
    #[error("{input} is not valid JSON: {source}")]
    Json {
        /// What was being read (`network configuration`, `result`, ...).
        input: &'static str,
        /// The parser's complaint, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A field holds a JSON value of a type it can never have.
    #[error("{field}: expected {expected}, found {found}")]
    WrongType {
        /// Path of the field, such as `ipam.type` or `links[1].name`.
        field: String,
        /// The JSON type that would be right.
        expected: &'static str,
        /// What the input holds.
        found: String,
    },
    /// A configuration field is missing or holds a value out of its range.
    #[error("{field}: {message}")]
    InvalidConfig {
        /// Path of the field.
        field: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// A result (or error reply) has a field that breaks the spec's rules.
    #[error("{field}: {message}")]
    InvalidResult {
        /// Path of the field, such as `ips[0].address`.
        field: String,
        /// What is wrong and what would be right.
        message: String,
    },
    /// Reading input or running a delegated plugin failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A delegated plugin ran longer than it may; it and what it started were killed.
    #[error("{plugin} did not finish within {waited:?} and was killed")]
    DelegateTimeout {
        /// The delegated plugin's name (its `type`).
        plugin: String,
        /// How long it was given.
        waited: std::time::Duration,
    },

    /// A delegated plugin printed more than any result could be.
    #[error("{plugin} printed more than {limit} bytes and was killed")]
    DelegateOutput {
        /// The delegated plugin's name (its `type`).
        plugin: String,
        /// The most that is read.
        limit: usize,
    },

    /// A delegated plugin (such as IPAM) answered with an error reply.
    #[error("{plugin} failed: {}{}", reply.msg, reply.details.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Delegated {
        /// The delegated plugin's name (its `type`).
        plugin: String,
        /// The reply it printed.
        reply: ErrorReply,
    },
    /// A delegated plugin succeeded but printed a result that cannot be
    /// read; [`Error::code`] is the inner error's (a version this crate
    /// does not know stays code 1).
    #[error("{plugin} printed a result that cannot be read: {source}")]
    DelegatedResult {
        /// The delegated plugin's name (its `type`).
        plugin: String,
        /// What is wrong with the result.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// The CNI error code for this error.
    ///
    /// A delegated plugin's own code is passed through unchanged, and so is
    /// the code of what is wrong with its result.
    pub fn code(&self) -> u32 {
        match self {
            Error::IncompatibleVersion { .. } => codes::INCOMPATIBLE_VERSION,
            Error::MissingEnv { .. } | Error::InvalidEnv { .. } => codes::INVALID_ENV,
            Error::Io { .. } | Error::DelegateOutput { .. } => codes::IO_FAILURE,
            Error::DelegateTimeout { .. } => codes::TRY_AGAIN_LATER,
            Error::Json { .. } | Error::WrongType { .. } | Error::InvalidResult { .. } => {
                codes::DECODING_FAILURE
            }
            Error::InvalidConfig { .. } => codes::INVALID_NETWORK_CONFIG,
            Error::Delegated { reply, .. } => reply.code,
            Error::DelegatedResult { source, .. } => source.code(),
        }
    }

    /// The spec's error JSON for this error, written in `version`.
    pub fn to_reply(&self, version: CniVersion) -> ErrorReply {
        let details = match self {
            Error::Delegated { reply, .. } => reply.details.clone(),
            _ => None,
        };
        ErrorReply {
            cni_version: version.to_string(),
            code: self.code(),
            msg: self.to_string(),
            details,
        }
    }
}

/// The error JSON a plugin prints on stdout when it fails:
/// `{"cniVersion", "code", "msg", "details"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorReply {
    /// The CNI version the reply is written in. Kept as text, since a reply
    /// read from another plugin may name any version (or none). The
    /// skeleton writes its own replies in the version the request states
    /// when this crate knows it, else in the newest (see [`crate::skel::run`]).
    pub cni_version: String,
    /// The error code: see [`codes`]; 100 and above are plugin-specific.
    pub code: u32,
    /// A short message.
    pub msg: String,
    /// Longer details, if any.
    pub details: Option<String>,
}

impl ErrorReply {
    /// A reply with `code` and `msg`, written in the newest CNI version.
    pub fn new(code: u32, msg: impl Into<String>) -> Self {
        ErrorReply {
            cni_version: CniVersion::LATEST.to_string(),
            code,
            msg: msg.into(),
            details: None,
        }
    }

    /// The reply as a JSON value.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("cniVersion".into(), self.cni_version.clone().into());
        map.insert("code".into(), self.code.into());
        map.insert("msg".into(), self.msg.clone().into());
        if let Some(details) = &self.details {
            map.insert("details".into(), details.clone().into());
        }
        Value::Object(map)
    }

    /// The reply as the bytes a plugin prints on stdout.
    pub fn to_vec(&self) -> Vec<u8> {
        json_bytes(&self.to_json())
    }

    /// Reads a reply printed by another plugin.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        let mut obj = Obj::parse(bytes, "error reply", Kind::Result)?;
        let code = obj
            .number("code", 0..=u64::from(u32::MAX))?
            .ok_or_else(|| obj.invalid("code", "missing, expected the error code"))?;
        Ok(ErrorReply {
            cni_version: obj.string("cniVersion")?.unwrap_or_default(),
            code: code as u32,
            msg: obj.string("msg")?.unwrap_or_default(),
            details: obj.string("details")?,
        })
    }
}

/// Serializes a JSON value for stdout: pretty, as the reference plugins print.
pub(crate) fn json_bytes(value: &Value) -> Vec<u8> {
    // Serializing a serde_json::Value to memory cannot fail.
    serde_json::to_vec_pretty(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_round_trips_and_carries_code() {
        let mut reply = ErrorReply::new(codes::TRY_AGAIN_LATER, "busy");
        reply.details = Some("lock held".into());
        let back = ErrorReply::from_slice(&reply.to_vec()).unwrap();
        assert_eq!(back, reply);
    }

    #[test]
    fn delegated_error_keeps_the_plugins_code_and_details() {
        let mut reply = ErrorReply::new(11, "no addresses left");
        reply.details = Some("range 192.0.2.0/28".into());
        let err = Error::Delegated {
            plugin: "host-local".into(),
            reply,
        };
        assert_eq!(err.code(), 11);
        let out = err.to_reply(CniVersion::V1_0_0);
        assert_eq!(out.cni_version, "1.0.0");
        assert_eq!(out.details.as_deref(), Some("range 192.0.2.0/28"));
        assert!(out.msg.contains("host-local failed: no addresses left"));
    }

    #[test]
    fn reply_without_code_is_a_decoding_failure_naming_code() {
        let err = ErrorReply::from_slice(br#"{"msg": "x"}"#).unwrap_err();
        assert_eq!(err.code(), codes::DECODING_FAILURE);
        assert!(err.to_string().starts_with("code:"), "{err}");
    }
}
