//! Names only the CNI protocol has: container IDs, and network names,
//! which follow the same rule.
//!
//! Interface names and addresses are [`netplumb_types`]'s, shared with the
//! kernel crates so that one rule set decides them everywhere.

use std::fmt;
use std::str::FromStr;

use netplumb_types::IfName;

/// Why a text is not a valid [`ContainerId`].
///
/// It holds the reason alone, such as `"-a" starts with '-', expected ...`;
/// the configuration and environment readers turn it into an
/// [`Error`](crate::Error) that names the field or variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValueError(String);

impl ValueError {
    /// What is wrong and what would be right.
    pub fn reason(&self) -> &str {
        &self.0
    }
}

/// The longest network name: a file name, as plugins keep their state in
/// a directory per network.
pub const MAX_NETWORK_NAME: usize = 255;

/// The longest container ID: room for it, an interface name and a suffix
/// in one file name. Runtimes use 64 hex digits.
pub const MAX_CONTAINER_ID: usize = 200;

/// Checks the spec's identifier rule, shared by container IDs and network
/// names: an ASCII letter or digit, then letters, digits, `_`, `.` or `-`;
/// and at most `max` bytes.
pub(crate) fn check_identifier(text: &str, max: usize) -> Result<(), String> {
    const RULE: &str = "expected a letter or digit followed by letters, digits, '_', '.' or '-'";
    if text.len() > max {
        return Err(format!(
            "is {} bytes long, expected at most {max}",
            text.len()
        ));
    }
    let mut chars = text.chars();
    match chars.next() {
        None => Err(format!("is empty, {RULE}")),
        Some(c) if !c.is_ascii_alphanumeric() => Err(format!("{text:?} starts with {c:?}, {RULE}")),
        Some(_) => match chars.find(|&c| !(c.is_ascii_alphanumeric() || "_.-".contains(c))) {
            Some(c) => Err(format!("{text:?} contains {c:?}, {RULE}")),
            None => Ok(()),
        },
    }
}

/// Checks a network name (a configuration's `name`) by the spec's
/// identifier rule, at most [`MAX_NETWORK_NAME`] bytes long: what a plugin
/// that keeps state under a directory per network may join to a path.
pub fn check_network_name(name: &str) -> Result<(), ValueError> {
    check_identifier(name, MAX_NETWORK_NAME).map_err(ValueError)
}

/// Checks that an interface name is text. The kernel takes any bytes, but
/// configurations and results are JSON, which carries a name as a string:
/// one of other bytes would not be written back as it is.
pub(crate) fn check_text(name: &IfName) -> Result<(), String> {
    match name.to_str() {
        Some(_) => Ok(()),
        None => Err(format!(
            "{name:?} is not UTF-8, expected a name in text, as JSON carries it"
        )),
    }
}

/// A container ID as the spec allows it: an ASCII letter or digit, then
/// letters, digits, `_`, `.` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContainerId(String);

impl ContainerId {
    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ContainerId {
    type Err = ValueError;

    fn from_str(id: &str) -> Result<Self, Self::Err> {
        check_identifier(id, MAX_CONTAINER_ID)
            .map(|()| ContainerId(id.to_string()))
            .map_err(ValueError)
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ContainerId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> String {
        match text.parse::<ContainerId>() {
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => e.reason().to_string(),
        }
    }

    #[test]
    fn container_id_rules() {
        assert!("3f6940ab5ab4".parse::<ContainerId>().is_ok());
        assert!("a_b.c-d".parse::<ContainerId>().is_ok());
        assert!(reason("-a").contains("starts with '-'"));
        assert!(reason("a/b").contains("contains '/'"));
        assert!("é".parse::<ContainerId>().is_err());
        assert!("".parse::<ContainerId>().is_err());
        assert!("a".repeat(MAX_CONTAINER_ID).parse::<ContainerId>().is_ok());
        assert_eq!(
            reason(&"a".repeat(4096)),
            "is 4096 bytes long, expected at most 200"
        );
    }

    #[test]
    fn parse_errors_name_no_field() {
        // The reason starts with the text itself or what is wrong with it;
        // the field or variable is for the caller to add.
        assert_eq!(
            reason("a b"),
            "\"a b\" contains ' ', expected a letter or digit followed by letters, digits, \
             '_', '.' or '-'"
        );
        assert!(reason("").starts_with("is empty, "));
    }
}
