//! Enabling VFs: the sequence of writes to `sriov_numvfs`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use netplumb_vf::testing::{AccessLog, FakeNic, FakeSysfs};
use netplumb_vf::{Access, Error, IfName, NumVfsChange, Observer};

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
        assert_eq!(path, Path::new("class/net/enp1s0f0/device/sriov_numvfs"));
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
            fake.path("class/net/enp1s0f0/device/sriov_totalvfs")
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

/// Stands in for a kernel that refuses one value: when `refuse` is about
/// to be written, turns the file into a directory so the write fails, and
/// puts the file back before the next write.
struct Refuse {
    file: PathBuf,
    refuse: &'static str,
    broken: Mutex<bool>,
}

impl Observer for Refuse {
    fn observe(&self, access: &Access<'_>) {
        let Access::Write { value, .. } = *access else {
            return;
        };
        let mut broken = self.broken.lock().unwrap();
        if *broken {
            fs::remove_dir(&self.file).unwrap();
            fs::write(&self.file, "0").unwrap();
            *broken = false;
        }
        if value == self.refuse {
            fs::remove_file(&self.file).unwrap();
            fs::create_dir(&self.file).unwrap();
            *broken = true;
        }
    }
}

/// Changes a PF with 2 VFs to 6 while the "kernel" refuses `refuse`; returns
/// the error and the file's content afterwards.
fn set_refusing(refuse: &'static str) -> (Error, String) {
    let fake = pf_with(2);
    let file = numvfs_file(&fake);
    let observer = Arc::new(Refuse {
        file: file.clone(),
        refuse,
        broken: Mutex::new(false),
    });
    let result = fake
        .sysfs()
        .with_observer(observer)
        .set_num_vfs(&name("enp1s0f0"), 6);
    let content = fs::read_to_string(&file).unwrap_or_default();
    (result.unwrap_err(), content)
}

#[test]
fn failed_write_after_reset_restores_the_old_count() {
    let (err, content) = set_refusing("6");
    let Error::SetNumVfs {
        from,
        to,
        written,
        left_with,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*from, *to, *written, *left_with), (2, 6, 6, 2));
    assert!(
        err.to_string().ends_with("the PF is left with 2 VFs"),
        "{err}"
    );
    assert_eq!(content, "2");
}

#[test]
fn failed_reset_leaves_the_old_count() {
    let (err, _) = set_refusing("0");
    let Error::SetNumVfs {
        written, left_with, ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!((*written, *left_with), (0, 2));
}

#[test]
fn change_serializes_as_an_undo_record() {
    let fake = pf_with(0);
    let change = fake.sysfs().set_num_vfs(&name("enp1s0f0"), 3).unwrap();
    let json = serde_json::to_string(&change).unwrap();
    assert_eq!(json, r#"{"pf":"enp1s0f0","from":0,"to":3}"#);
    assert_eq!(serde_json::from_str::<NumVfsChange>(&json).unwrap(), change);
    assert!(serde_json::from_str::<NumVfsChange>(r#"{"pf":"a/b","from":0,"to":3}"#).is_err());
}
