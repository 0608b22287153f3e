//! Per-link sysctls of a namespace: `/proc/sys/net/{ipv4,ipv6}/conf/LINK/SETTING`.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use netplumb_types::IfName;

use crate::{Error, NetNs};

/// An IP protocol version, as per-link settings are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IpFamily {
    /// IPv4 (`net/ipv4`).
    V4,
    /// IPv6 (`net/ipv6`).
    V6,
}

impl IpFamily {
    /// The family of `ip`.
    pub fn of(ip: IpAddr) -> IpFamily {
        match ip {
            IpAddr::V4(_) => IpFamily::V4,
            IpAddr::V6(_) => IpFamily::V6,
        }
    }

    /// The directory under `/proc/sys/net` that holds the family's settings.
    fn sysctl_dir(self) -> &'static str {
        match self {
            IpFamily::V4 => "ipv4",
            IpFamily::V6 => "ipv6",
        }
    }
}

impl fmt::Display for IpFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IpFamily::V4 => "IPv4",
            IpFamily::V6 => "IPv6",
        })
    }
}

/// A per-link sysctl as it is named under `/proc/sys`, for messages:
/// `net/ipv6/conf/net1/disable_ipv6` (slashes, since link names may hold
/// dots).
pub(crate) struct SysctlName<'a> {
    pub family: IpFamily,
    pub link: &'a IfName,
    pub setting: &'a str,
}

impl fmt::Display for SysctlName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "net/{}/conf/{}/{}",
            self.family.sysctl_dir(),
            self.link,
            self.setting
        )
    }
}

/// The file of a per-link sysctl. The link name goes in as the bytes it
/// is: its rules (no `/`, not `.` or `..`) make it one path component.
fn sysctl_path(family: IpFamily, link: &IfName, setting: &str) -> PathBuf {
    let mut path = PathBuf::from("/proc/sys/net");
    path.push(family.sysctl_dir());
    path.push("conf");
    path.push(OsStr::from_bytes(link.as_bytes()));
    path.push(setting);
    path
}

/// Checks that `setting` names one file in a link's `conf` directory.
fn validate_setting(setting: &str) -> Result<(), Error> {
    let bad = setting.is_empty()
        || setting == "."
        || setting == ".."
        || setting.contains('/')
        || setting.contains('\0');
    if bad {
        return Err(Error::InvalidArgument {
            field: "sysctl setting",
            value: setting.to_string(),
            expected: "a setting name such as \"disable_ipv6\": no '/' or NUL, not \".\" or \"..\"",
        });
    }
    Ok(())
}

impl NetNs {
    /// Writes `value` to the per-link sysctl `setting` of `link` in this
    /// namespace: `/proc/sys/net/ipv6/conf/LINK/SETTING` for
    /// [`IpFamily::V6`]. `link` may also be `all` or `default`, the
    /// namespace-wide entries.
    ///
    /// The file is opened from a thread inside the namespace, because
    /// `/proc/sys/net` shows the namespace of the thread that opens it.
    /// A setting that is not one file name is refused with
    /// [`Error::InvalidArgument`]; a failed write is [`Error::Sysctl`]
    /// (`ENOENT` when the link, or the setting, does not exist).
    pub fn set_link_sysctl(
        &self,
        family: IpFamily,
        link: &IfName,
        setting: &str,
        value: &str,
    ) -> Result<(), Error> {
        validate_setting(setting)?;
        let path = sysctl_path(family, link, setting);
        let written = self.run(|| {
            let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
            // One write: a sysctl parses what one write hands it, and takes
            // a second one as a write further into the file.
            let n = file.write(value.as_bytes())?;
            if n == value.len() {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("{n} of {} bytes written", value.len()),
                ))
            }
        })?;
        written.map_err(|source| Error::Sysctl {
            family,
            link: *link,
            setting: setting.to_string(),
            value: Some(value.to_string()),
            source,
        })
    }

    /// Reads the per-link sysctl `setting` of `link` in this namespace,
    /// without its trailing newline. See [`NetNs::set_link_sysctl`].
    pub fn link_sysctl(
        &self,
        family: IpFamily,
        link: &IfName,
        setting: &str,
    ) -> Result<String, Error> {
        validate_setting(setting)?;
        let path = sysctl_path(family, link, setting);
        let read = self.run(|| std::fs::read(&path))?;
        let bytes = read.map_err(|source| Error::Sysctl {
            family,
            link: *link,
            setting: setting.to_string(),
            value: None,
            source,
        })?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(text.trim_end_matches('\n').to_string())
    }

    /// Sets a per-link sysctl to `value` unless it already has that value,
    /// so a setting that is already right is never written (a read-only
    /// `/proc/sys` then does not matter).
    pub(crate) fn ensure_link_sysctl(
        &self,
        family: IpFamily,
        link: &IfName,
        setting: &str,
        value: &str,
    ) -> Result<(), Error> {
        if self.link_sysctl(family, link, setting)? == value {
            return Ok(());
        }
        self.set_link_sysctl(family, link, setting, value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_built_from_the_name_s_bytes() {
        let odd = IfName::new(b"p\xffd.1").unwrap();
        let path = sysctl_path(IpFamily::V6, &odd, "disable_ipv6");
        assert_eq!(
            path.as_os_str().as_bytes(),
            b"/proc/sys/net/ipv6/conf/p\xffd.1/disable_ipv6"
        );
        let lo: IfName = "lo".parse().unwrap();
        assert_eq!(
            sysctl_path(IpFamily::V4, &lo, "arp_notify"),
            PathBuf::from("/proc/sys/net/ipv4/conf/lo/arp_notify")
        );
        let name = SysctlName {
            family: IpFamily::V6,
            link: &odd,
            setting: "keep_addr_on_down",
        };
        assert_eq!(
            name.to_string(),
            "net/ipv6/conf/p\\xffd.1/keep_addr_on_down"
        );
    }

    #[test]
    fn settings_are_one_file_name() {
        for good in ["disable_ipv6", "keep_addr_on_down", "arp_notify"] {
            validate_setting(good).unwrap();
        }
        for bad in ["", ".", "..", "../../ipv4/ip_forward", "a/b", "nul\0"] {
            match validate_setting(bad) {
                Err(Error::InvalidArgument { field, .. }) => assert_eq!(field, "sysctl setting"),
                other => panic!("{bad:?} accepted: {other:?}"),
            }
        }
    }

    #[test]
    fn families() {
        assert_eq!(IpFamily::of("192.0.2.1".parse().unwrap()), IpFamily::V4);
        assert_eq!(IpFamily::of("2001:db8::1".parse().unwrap()), IpFamily::V6);
        assert_eq!(IpFamily::V6.to_string(), "IPv6");
    }
}
