//! The device-info file of the Network Plumbing Working Group's
//! specification (version 1.1.0), which a runtime (Multus) names in the
//! `CNIDeviceInfoFile` capability and copies into the pod's
//! `network-status` annotation.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path};

use netplumb_types::PciAddr;
use nix::fcntl::OFlag;
use serde_json::json;

use crate::Error;

/// The specification's version this plugin writes.
pub const VERSION: &str = "1.1.0";

/// What the file says of a PCI device: its address and its PF's.
pub fn pci(addr: PciAddr, pf: Option<PciAddr>) -> serde_json::Value {
    let mut pci = json!({ "pci-address": addr.to_string() });
    if let Some(pf) = pf {
        pci["pf-pci-address"] = pf.to_string().into();
    }
    json!({ "type": "pci", "version": VERSION, "pci": pci })
}

/// Writes `info` to `path`, replacing what is there (Multus may have
/// copied the device plugin's file there first), atomically, creating its
/// directory if missing. The path must be absolute without `.` or `..`,
/// and a symbolic link is not followed.
pub fn write(path: &Path, info: &serde_json::Value) -> Result<(), Error> {
    check(path)?;
    let io = |action| move |source| Error::journal_io(action, path, source);
    if let Some(dir) = path.parent() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(io("create the directory of"))?;
    }
    let mut temp = path.as_os_str().to_owned();
    temp.push(".tmp");
    let temp = Path::new(&temp);
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(OFlag::O_NOFOLLOW.bits())
        .open(temp)
        .and_then(|mut file| {
            file.write_all(info.to_string().as_bytes())?;
            file.sync_all()
        })
        .map_err(io("write"))?;
    fs::rename(temp, path).map_err(io("rename"))
}

/// Removes the file at `path`; one already gone is not an error.
pub fn remove(path: &Path) -> Result<(), Error> {
    check(path)?;
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(Error::journal_io("remove", path, source)),
    }
}

fn check(path: &Path) -> Result<(), Error> {
    let dot = path
        .as_os_str()
        .as_bytes()
        .split(|b| *b == b'/')
        .any(|part| part == b"." || part == b"..");
    if !path.is_absolute()
        || dot
        || path.components().any(|c| matches!(c, Component::ParentDir))
        || path.file_name().is_none()
    {
        return Err(Error::Unsupported {
            field: "runtimeConfig.CNIDeviceInfoFile".into(),
            problem: format!(
                "{} is not an absolute path to a file without \".\" or \"..\"",
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pci_device_is_written_as_the_specification_says_and_removed() {
        let dir = std::env::temp_dir().join(format!("netplumb-devinfo-{}", std::process::id()));
        let path = dir.join("cni/net1-c1_net1");
        let info = pci(
            "0000:01:10.2".parse().unwrap(),
            Some("0000:01:00.0".parse().unwrap()),
        );
        write(&path, &info).unwrap();
        // Replaces what a runtime copied there first.
        write(&path, &info).unwrap();
        let read: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            read,
            json!({"type": "pci", "version": "1.1.0",
                   "pci": {"pci-address": "0000:01:10.2", "pf-pci-address": "0000:01:00.0"}})
        );
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert!(!path.exists());
        for bad in ["relative", "/a/../b", "/"] {
            assert!(write(Path::new(bad), &info).is_err(), "{bad}");
        }
        fs::remove_dir_all(&dir).unwrap();
    }
}
