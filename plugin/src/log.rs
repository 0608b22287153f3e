//! The plugins' log: one line per step, to stderr or a file, never stdout
//! (which carries only the result or the error).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use netplumb_cniconf::LogLevel;
use nix::fcntl::OFlag;

use crate::Error;

/// Where the lines go, at what level, and what every line says first.
#[derive(Debug)]
pub struct Log {
    level: LogLevel,
    sink: Mutex<Sink>,
    context: String,
}

#[derive(Debug)]
enum Sink {
    Stderr,
    File(File),
}

impl Log {
    /// A log at `level` (sriov-cni's levels; `info` when unset) into
    /// `file`, appended to, or stderr without one.
    ///
    /// The file must be named by an absolute path without `.` or `..`; it
    /// is created 0600 if missing, and a symbolic link is not followed.
    pub fn open(level: Option<LogLevel>, file: Option<&Path>) -> Result<Log, Error> {
        let sink = match file {
            None => Sink::Stderr,
            Some(path) => Sink::File(open_log_file(path)?),
        };
        Ok(Log {
            level: level.unwrap_or_default(),
            sink: Mutex::new(sink),
            context: String::new(),
        })
    }

    /// A log to stderr at `info`, for when the configuration could not say
    /// more.
    pub fn stderr() -> Log {
        Log {
            level: LogLevel::Info,
            sink: Mutex::new(Sink::Stderr),
            context: String::new(),
        }
    }

    /// Every following line starts with `context` (`containerID=...
    /// ifname=...`).
    pub fn with_context(mut self, context: impl Into<String>) -> Log {
        self.context = context.into();
        self
    }

    /// Adds to what every following line starts with.
    pub fn add_context(&mut self, more: impl fmt::Display) {
        if self.context.is_empty() {
            self.context = more.to_string();
        } else {
            self.context = format!("{} {more}", self.context);
        }
    }

    /// Logs at error level.
    pub fn error(&self, message: impl fmt::Display) {
        self.line(LogLevel::Error, message);
    }

    /// Logs at warning level.
    pub fn warning(&self, message: impl fmt::Display) {
        self.line(LogLevel::Warning, message);
    }

    /// Logs at info level.
    pub fn info(&self, message: impl fmt::Display) {
        self.line(LogLevel::Info, message);
    }

    /// Logs at debug level.
    pub fn debug(&self, message: impl fmt::Display) {
        self.line(LogLevel::Debug, message);
    }

    fn line(&self, level: LogLevel, message: impl fmt::Display) {
        if level > self.level {
            return;
        }
        let name = match level {
            LogLevel::Panic => "panic",
            LogLevel::Error => "error",
            LogLevel::Warning => "warning",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        };
        let line = format!(
            "{} {name} {}{}{message}\n",
            Timestamp(SystemTime::now()),
            self.context,
            if self.context.is_empty() { "" } else { " " }
        );
        let mut sink = self.sink.lock().unwrap_or_else(|p| p.into_inner());
        // A log that cannot be written must not fail the invocation.
        let _ = match &mut *sink {
            Sink::Stderr => std::io::stderr().write_all(line.as_bytes()),
            Sink::File(file) => file.write_all(line.as_bytes()),
        };
    }
}

fn open_log_file(path: &Path) -> Result<File, Error> {
    let bad = |reason: String| Error::LogFile {
        path: path.to_path_buf(),
        reason,
    };
    if !path.is_absolute() {
        return Err(bad("it is not an absolute path".into()));
    }
    let dot = path
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .any(|part| part == b"." || part == b"..");
    if dot || path.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(bad("it has a \".\" or \"..\" component".into()));
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if let Some(what) = not_a_log(&meta) {
            return Err(bad(format!(
                "it is {what}, expected a regular file (or /dev/null)"
            )));
        }
    }
    // Non-blocking, so that a FIFO put there meanwhile fails the open
    // rather than hang it; what was opened is checked again.
    let file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(
            OFlag::O_NOFOLLOW.bits()
                | OFlag::O_CLOEXEC.bits()
                | OFlag::O_NONBLOCK.bits()
                | OFlag::O_NOCTTY.bits(),
        )
        .open(path)
        .map_err(|e| bad(format!("cannot open it ({e})")))?;
    let meta = file
        .metadata()
        .map_err(|e| bad(format!("cannot read what it is ({e})")))?;
    match not_a_log(&meta) {
        Some(what) => Err(bad(format!(
            "it is {what}, expected a regular file (or /dev/null)"
        ))),
        None => Ok(file),
    }
}

/// What a file is when it is no place for a log: anything but a regular
/// file or `/dev/null` (a symbolic link is left to `O_NOFOLLOW`). Writing
/// to a FIFO blocks until someone reads it; lines appended to a device (a
/// disk, say) write over what it holds.
fn not_a_log(meta: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let kind = meta.file_type();
    let null = std::fs::metadata("/dev/null").map(|m| m.rdev()).ok();
    if kind.is_file() || kind.is_symlink() || (kind.is_char_device() && Some(meta.rdev()) == null) {
        return None;
    }
    Some(if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "no regular file"
    })
}

/// A time as UTC, `2026-12-04T14:06:54.123Z`.
struct Timestamp(SystemTime);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let since = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = since.as_secs();
        let (days, rest) = (secs / 86_400, secs % 86_400);
        let (y, m, d) = civil_from_days(days as i64);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rest / 3600,
            rest / 60 % 60,
            rest % 60,
            since.subsec_millis()
        )
    }
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_file_that_is_no_regular_file_is_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("netplumb-log-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        for (path, what) in [
            (fifo.as_path(), "it is a FIFO"),
            (Path::new("/dev/zero"), "it is a character device"),
            (dir.as_path(), "it is a directory"),
        ] {
            let err = open_log_file(path).unwrap_err();
            assert_eq!(
                err.code(),
                netplumb_cniconf::codes::INVALID_NETWORK_CONFIG,
                "{path:?}"
            );
            assert!(err.to_string().contains(what), "{path:?}: {err}");
        }
        for fine in [
            dir.join("plugin.log"),
            std::path::PathBuf::from("/dev/null"),
        ] {
            open_log_file(&fine).unwrap();
        }
        assert!(dir.join("plugin.log").is_file());
        std::fs::remove_dir_all(&dir).unwrap();
    }
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_calendar_times() {
        let t = UNIX_EPOCH + Duration::from_millis(1_796_393_214_123);
        assert_eq!(Timestamp(t).to_string(), "2026-12-04T14:06:54.123Z");
        assert_eq!(
            Timestamp(UNIX_EPOCH).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(Timestamp(leap).to_string(), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn lines_above_the_level_are_left_out_and_carry_the_context() {
        let path = std::env::temp_dir().join(format!("netplumb-log-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = Log::open(Some(LogLevel::Warning), Some(&path))
            .unwrap()
            .with_context("containerID=c1 ifname=net1");
        log.info("not shown");
        log.warning("shown");
        log.error("shown too");
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(" warning containerID=c1 ifname=net1 shown"),
            "{text}"
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_log_file_must_be_an_absolute_plain_path() {
        for bad in ["relative.log", "/var/log/../tmp/x.log", "/var/./log/x.log"] {
            assert!(Log::open(None, Some(Path::new(bad))).is_err(), "{bad}");
        }
        let target = std::env::temp_dir().join(format!("netplumb-log-t-{}", std::process::id()));
        let link = std::env::temp_dir().join(format!("netplumb-log-l-{}", std::process::id()));
        std::fs::write(&target, "").unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(Log::open(None, Some(&link)).is_err(), "a symbolic link");
        std::fs::remove_file(&link).unwrap();
        std::fs::remove_file(&target).unwrap();
    }
}
