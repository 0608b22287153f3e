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

/// The longest `dataDir` or `logFile`: far longer than any real path, and
/// short enough that every file the journal keeps under `dataDir` still
/// has a name the kernel takes (`PATH_MAX`, 4096 bytes).
const MAX_PLUGIN_PATH: usize = 1024;

/// Checks a path a plugin creates files at: absolute, without `.` or `..`
/// components (which could lead it anywhere), without control characters
/// (a NUL the kernel would cut the path at, a newline that would forge log
/// lines), and at most [`MAX_PLUGIN_PATH`] bytes. The error names `field`
/// and shows the value, cut short when it is long.
fn check_path(field: &str, path: &[u8], example: &str) -> Result<(), Error> {
    let why = if path.len() > MAX_PLUGIN_PATH {
        format!(
            "is {} bytes long, expected at most {MAX_PLUGIN_PATH}",
            path.len()
        )
    } else if let Some(c) = path.iter().find(|b| b.is_ascii_control()) {
        format!(
            "contains the control character {:?}, expected none",
            char::from(*c)
        )
    } else if path.first() != Some(&b'/') {
        format!("is not an absolute path, expected one such as {example}")
    } else if path
        .split(|b| *b == b'/')
        .any(|part| part == b"." || part == b"..")
    {
        format!("has a \".\" or \"..\" component, expected a path without them, such as {example}")
    } else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(path);
    let shown = if text.chars().count() > 60 {
        format!("{:?}...", text.chars().take(40).collect::<String>())
    } else {
        format!("{text:?}")
    };
    Err(Error::InvalidConfig {
        field: field.into(),
        message: format!("{shown} {why}"),
    })
}

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
    /// `logFile`: where logs go instead of stderr. An absolute path without
    /// `.` or `..` components or control characters, at most 1024 bytes.
    pub log_file: Option<String>,
    /// `dataDir`: where the plugin keeps its per-attachment journal. A path
    /// as `logFile` is.
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
    /// code: an unknown level kept only as parsing keeps it; `dataDir` and
    /// `logFile` absolute paths without `.` or `..` components or control
    /// characters, at most 1024 bytes, refused before any file is made.
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
        if let Some(dir) = &self.data_dir {
            let bytes = dir.as_os_str().as_encoded_bytes();
            check_path("dataDir", bytes, "/var/lib/cni/netplumb")?;
        }
        if let Some(file) = &self.log_file {
            check_path("logFile", file.as_bytes(), "/var/log/netplumb.log")?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn with(data_dir: Option<&str>, log_file: Option<&str>) -> Result<(), String> {
        PluginOptions {
            data_dir: data_dir.map(PathBuf::from),
            log_file: log_file.map(str::to_owned),
            ..PluginOptions::default()
        }
        .validate()
        .map_err(|e| e.to_string())
    }

    #[test]
    fn plain_absolute_paths_are_taken() {
        with(Some("/var/lib/cni/netplumb"), Some("/var/log/netplumb.log")).unwrap();
        with(Some("/"), Some("/a/b..c/.d")).unwrap();
        with(Some(&format!("/{}", "d".repeat(MAX_PLUGIN_PATH - 1))), None).unwrap();
    }

    #[test]
    fn paths_that_lead_elsewhere_are_refused_naming_the_field() {
        let long = format!("/{}", "d".repeat(4095));
        for (value, why) in [
            ("relative/dir", "\"relative/dir\" is not an absolute path"),
            ("", "\"\" is not an absolute path"),
            ("/var/lib/../etc", "has a \".\" or \"..\" component"),
            ("/var/./lib", "has a \".\" or \"..\" component"),
            ("/var/lib/..", "has a \".\" or \"..\" component"),
            (
                "/var/lib\0/x",
                "\"/var/lib\\0/x\" contains the control character '\\0'",
            ),
            ("/var/lib\n/x", "contains the control character '\\n'"),
            ("/var/\u{1b}[2J", "contains the control character '\\u{1b}'"),
            (&long, "is 4096 bytes long, expected at most 1024"),
        ] {
            let dir = with(Some(value), None).unwrap_err();
            assert!(dir.starts_with("dataDir: "), "{value:?}: {dir}");
            assert!(dir.contains(why), "{value:?}: {dir}");
            let file = with(None, Some(value)).unwrap_err();
            assert!(file.starts_with("logFile: "), "{value:?}: {file}");
            assert!(file.contains(why), "{value:?}: {file}");
            assert!(file.len() < 200, "a long value is cut short: {file}");
        }
    }
}
