//! Enabling VFs: the sequence of writes to `sriov_numvfs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netplumb_vf::testing::{AccessLog, FakeNic, FakeSysfs};
use netplumb_vf::{Access, Device, Error, IfName, NumVfsChange, Observer, PciAddr};

const PF: &str = "0000:01:00.0";

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

/// A PF with `num_vfs` of 7 VFs enabled.
fn pf_with(num_vfs: u32) -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    fake.add(&FakeNic::pf(PF.parse().unwrap(), "enp1s0f0", 7, num_vfs))
        .unwrap();
    fake
}

fn numvfs_file(fake: &FakeSysfs) -> PathBuf {
    fake.device_dir(PF.parse().unwrap()).join("sriov_numvfs")
}

/// Sets the count and returns the values written, in order.
fn writes(fake: &FakeSysfs, count: u32) -> (Result<NumVfsChange, Error>, Vec<String>) {
    let log = Arc::new(AccessLog::default());
    let result = fake
        .sysfs()
        .with_observer(log.clone())
        .set_num_vfs(&name("enp1s0f0"), count);
    for (path, _) in log.writes() {
        assert_eq!(path, Path::new("bus/pci/devices/0000:01:00.0/sriov_numvfs"));
    }
    (
        result,
        log.writes().into_iter().map(|(_, value)| value).collect(),
    )
}

#[test]
fn changing_a_nonzero_count_resets_to_zero_first() {
    let fake = pf_with(2);
    let (result, written) = writes(&fake, 4);
    assert_eq!(written, ["0", "4"]);
    let change = result.unwrap();
    assert_eq!((change.from, change.to, change.changed()), (2, 4, true));
    assert_eq!(fs::read_to_string(numvfs_file(&fake)).unwrap(), "4");
}

#[test]
fn enabling_from_zero_and_disabling_write_once() {
    let fake = pf_with(0);
    assert_eq!(writes(&fake, 3).1, ["3"]);
    assert_eq!(writes(&fake, 0).1, ["0"]);
}

#[test]
fn asking_for_the_current_count_writes_nothing() {
    let fake = pf_with(5);
    let (result, written) = writes(&fake, 5);
    assert!(written.is_empty());
    assert!(!result.unwrap().changed());
}

#[test]
fn too_many_vfs_is_refused_before_any_write() {
    let fake = pf_with(2);
    let (result, written) = writes(&fake, 8);
    assert!(written.is_empty());
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "PF enp1s0f0: cannot enable 8 VFs, sriov_totalvfs is 7 ({})",
            fake.path("bus/pci/devices/0000:01:00.0/sriov_totalvfs")
                .display()
        )
    );
    assert_eq!(fs::read_to_string(numvfs_file(&fake)).unwrap(), "2\n");
}

#[test]
fn non_pf_and_unknown_netdev_are_refused() {
    let fake = FakeSysfs::new().unwrap();
    fake.add(&FakeNic::plain("0000:03:00.0".parse().unwrap(), "eth9"))
        .unwrap();
    let err = fake.sysfs().set_num_vfs(&name("eth9"), 1).unwrap_err();
    assert!(matches!(err, Error::NotPf { .. }), "{err}");
    let err = fake.sysfs().set_num_vfs(&name("eth7"), 1).unwrap_err();
    assert!(matches!(err, Error::NoSuchNetdev { .. }), "{err}");
}

#[test]
fn malformed_numvfs_is_refused_before_any_write() {
    let fake = pf_with(2);
    fs::write(numvfs_file(&fake), "two\n").unwrap();
    let (result, written) = writes(&fake, 3);
    assert!(written.is_empty());
    assert!(matches!(result.unwrap_err(), Error::Malformed { .. }));
}

#[test]
fn by_address_works_on_the_pf_and_records_its_address() {
    let fake = pf_with(2);
    let pf: PciAddr = PF.parse().unwrap();
    let log = Arc::new(AccessLog::default());
    let sysfs = fake.sysfs().with_observer(log.clone());
    let change = sysfs.set_num_vfs_by_addr(pf, 5).unwrap();
    assert_eq!((change.addr, change.pf.as_ref()), (pf, None));
    assert_eq!((change.from, change.to), (2, 5));
    let path = Path::new("bus/pci/devices/0000:01:00.0/sriov_numvfs");
    assert_eq!(
        log.writes(),
        [
            (path.to_owned(), "0".to_owned()),
            (path.to_owned(), "5".to_owned())
        ]
    );
    // By name, the address is recorded too, and the name.
    let change = fake.sysfs().set_num_vfs(&name("enp1s0f0"), 2).unwrap();
    assert_eq!((change.addr, change.pf), (pf, Some(name("enp1s0f0"))));

    let vf = fake
        .sysfs()
        .set_num_vfs_by_addr("0000:01:10.0".parse().unwrap(), 1);
    assert!(
        matches!(
            &vf,
            Err(Error::NotPf {
                device: Device::Pf(_),
                ..
            })
        ),
        "{vf:?}"
    );
    let missing = fake
        .sysfs()
        .set_num_vfs_by_addr("0000:09:00.0".parse().unwrap(), 1);
    assert!(
        matches!(missing, Err(Error::NoSuchPciDevice { .. })),
        "{missing:?}"
    );
    let err = fake.sysfs().set_num_vfs_by_addr(pf, 9).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PF 0000:01:00.0: cannot enable 9 VFs, sriov_totalvfs is 7"),
        "{err}"
    );
}

/// Stands in for a kernel that refuses some values: a refused write
/// changes nothing. The file turns into a directory just before a refused
/// value is written, so that the write fails, and turns back into the file
/// it was at the next access, unless `stays_broken`.
struct Refuse {
    file: PathBuf,
    refuse: &'static [&'static str],
    stays_broken: bool,
    /// The content to put back, while the file is broken.
    broken: Mutex<Option<String>>,
}

impl Observer for Refuse {
    fn observe(&self, access: &Access<'_>) {
        let mut broken = self.broken.lock().unwrap();
        if let Some(content) = broken.take() {
            if self.stays_broken {
                *broken = Some(content);
                return;
            }
            fs::remove_dir(&self.file).unwrap();
            fs::write(&self.file, content).unwrap();
        }
        let Access::Write { value, .. } = *access else {
            return;
        };
        if self.refuse.contains(&value) {
            *broken = Some(fs::read_to_string(&self.file).unwrap());
            fs::remove_file(&self.file).unwrap();
            fs::create_dir(&self.file).unwrap();
        }
    }
}

/// What a failed change reported, and what the file holds afterwards.
#[derive(Debug)]
struct Failed {
    from_to: (u32, u32),
    written: u32,
    left_with: Option<u32>,
    restore_failed: bool,
    message: String,
    content: String,
}

/// Changes a PF with 2 VFs to 6 while the "kernel" refuses `refuse`.
fn set_refusing(refuse: &'static [&'static str], stays_broken: bool) -> Failed {
    let fake = pf_with(2);
    let file = numvfs_file(&fake);
    let observer = Arc::new(Refuse {
        file: file.clone(),
        refuse,
        stays_broken,
        broken: Mutex::new(None),
    });
    let err = fake
        .sysfs()
        .with_observer(observer)
        .set_num_vfs(&name("enp1s0f0"), 6)
        .unwrap_err();
    let Error::SetNumVfs {
        from,
        to,
        written,
        left_with,
        restore_error,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    Failed {
        from_to: (*from, *to),
        written: *written,
        left_with: *left_with,
        restore_failed: restore_error.is_some(),
        message: err.to_string(),
        content: fs::read_to_string(&file).unwrap_or_default(),
    }
}

#[test]
fn failed_write_after_reset_restores_the_old_count() {
    let failed = set_refusing(&["6"], false);
    assert_eq!(failed.from_to, (2, 6));
    assert_eq!((failed.written, failed.left_with), (6, Some(2)));
    assert!(!failed.restore_failed);
    assert!(
        failed
            .message
            .contains("left the PF with 2 VFs; writing 6 to "),
        "{failed:?}"
    );
    assert_eq!(failed.content.trim(), "2");
}

#[test]
fn failed_restore_keeps_both_errors_and_reads_what_is_left() {
    let failed = set_refusing(&["6", "2"], false);
    assert_eq!((failed.written, failed.left_with), (6, Some(0)));
    assert!(failed.restore_failed);
    let text = &failed.message;
    assert!(
        text.contains("left the PF with 0 VFs, as writing 2 back failed too ("),
        "{text}"
    );
    assert!(
        text.ends_with(" failed"),
        "the write's own error is the source: {text}"
    );
    assert_eq!(failed.content.trim(), "0");
}

#[test]
fn failed_reset_leaves_the_old_count() {
    let failed = set_refusing(&["0"], false);
    assert_eq!((failed.written, failed.left_with), (0, Some(2)));
    assert!(!failed.restore_failed);
}

#[test]
fn unreadable_count_after_a_failure_is_said_to_be_unknown() {
    let failed = set_refusing(&["6"], true);
    assert_eq!(failed.left_with, None);
    assert!(
        failed
            .message
            .contains("left the PF's VF count unknown (sriov_numvfs could not be read back)"),
        "{failed:?}"
    );
}

#[test]
fn change_serializes_as_an_undo_record() {
    let fake = pf_with(0);
    let change = fake.sysfs().set_num_vfs(&name("enp1s0f0"), 3).unwrap();
    let json = serde_json::to_string(&change).unwrap();
    assert_eq!(
        json,
        r#"{"addr":"0000:01:00.0","pf":"enp1s0f0","from":0,"to":3}"#
    );
    assert_eq!(serde_json::from_str::<NumVfsChange>(&json).unwrap(), change);
    let by_addr = fake
        .sysfs()
        .set_num_vfs_by_addr(PF.parse().unwrap(), 0)
        .unwrap();
    let json = serde_json::to_string(&by_addr).unwrap();
    assert_eq!(json, r#"{"addr":"0000:01:00.0","from":3,"to":0}"#);
    assert_eq!(
        serde_json::from_str::<NumVfsChange>(&json).unwrap(),
        by_addr
    );
    for bad in [
        r#"{"addr":"0000:01:00.0","pf":"a/b","from":0,"to":3}"#,
        r#"{"addr":"0000:01:00.9","from":0,"to":3}"#,
        r#"{"pf":"enp1s0f0","from":0,"to":3}"#,
    ] {
        assert!(serde_json::from_str::<NumVfsChange>(bad).is_err(), "{bad}");
    }
}
