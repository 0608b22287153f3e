//! The netplumb plugins' own settings, beside each plugin's
//! configuration: where and how much they log, and where they keep their
//! journal.

use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::json::{find_name, name_of, put, Obj};

/// How much the plugin logs (`logLevel`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    /// Only what makes the plugin stop.
    Panic,
    /// Errors.
    Error,
    /// Warnings and errors.
    Warning,
    /// Progress, warnings and errors (the default).
    #[default]
    Info,
    /// Everything.
    Debug,
}

const LOG_LEVELS: [(&str, LogLevel); 5] = [
    ("panic", LogLevel::Panic),
    ("error", LogLevel::Error),
    ("warning", LogLevel::Warning),
    ("info", LogLevel::Info),
    ("debug", LogLevel::Debug),
];

/// `logLevel`, `logFile` and `dataDir`, read the same way for every
/// netplumb plugin: sriov-cni's fields, and where the journal goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PluginOptions {
    /// `logLevel`, in any case.
    ///
    /// A level sriov-cni does not know (such as `"verbose"`) is accepted,
    /// as there: it reads as the default, [`LogLevel::Info`], and the text
    /// is kept in `unknown_log_level` so that the plugin can warn about it.
    pub log_level: Option<LogLevel>,
    /// `logLevel` as written, when it names no known level; it is what is
    /// written back.
    pub unknown_log_level: Option<String>,
    /// `logFile`: where logs go instead of stderr.
    pub log_file: Option<String>,
    /// `dataDir`: where the plugin keeps its per-attachment journal.
    pub data_dir: Option<PathBuf>,
}

impl PluginOptions {
    /// Takes the three fields out of `o`.
    pub(crate) fn read(o: &mut Obj) -> Result<PluginOptions, Error> {
        let (log_level, unknown_log_level) = match o.string("logLevel")? {
            None => (None, None),
            Some(text) => match find_name(&LOG_LEVELS, &text) {
                Some(level) => (Some(level), None),
                None => (Some(LogLevel::default()), Some(text)),
            },
        };
        Ok(PluginOptions {
            log_level,
            unknown_log_level,
            log_file: o.string("logFile")?,
            data_dir: o.string("dataDir")?.map(PathBuf::from),
        })
    }

    /// Checks the rules parsing applies, for a value built or changed in
    /// code: an unknown level kept only as parsing keeps it, an absolute
    /// `dataDir`.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field: &str, message: String| {
            Err(Error::InvalidConfig {
                field: field.into(),
                message,
            })
        };
        if let Some(text) = &self.unknown_log_level {
            if find_name(&LOG_LEVELS, text).is_some() || self.log_level != Some(LogLevel::Info) {
                return bad(
                    "logLevel",
                    format!(
                        "{text:?} is kept as an unknown level, expected it to name no \
                         known level and log_level to be info"
                    ),
                );
            }
        }
        if let Some(dir) = self.data_dir.as_ref().filter(|d| !d.is_absolute()) {
            return bad(
                "dataDir",
                format!(
                    "{dir:?} is not an absolute path, expected one such as /var/lib/cni/netplumb"
                ),
            );
        }
        Ok(())
    }

    /// Writes the fields set into `map`.
    pub(crate) fn write(&self, map: &mut Map<String, Value>) {
        let log_level = match &self.unknown_log_level {
            Some(text) => Some(text.as_str()),
            None => self.log_level.map(|l| name_of(&LOG_LEVELS, l)),
        };
        put(map, "logLevel", log_level);
        put(map, "logFile", self.log_file.clone());
        put(
            map,
            "dataDir",
            self.data_dir
                .as_ref()
                .map(|d| d.to_string_lossy().into_owned()),
        );
    }
}
