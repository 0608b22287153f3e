//! Booting the guest: the QEMU command line and a supervised run that streams
//! the serial console line by line and stops the guest at a deadline.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::error::{display, Error, Result};
use crate::report::GuestEnd;

/// A NIC in the guest: each gets its own PCIe root port and a port on hub 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nic {
    /// Intel 82576 with SR-IOV (QEMU 10's `igb`).
    Igb,
    /// A NIC without SR-IOV, standing in for a VF as a VM sees it.
    E1000e,
}

/// The lab machine: two igb PFs and one e1000e, all on one emulated wire.
pub const LAB_NICS: &[Nic] = &[Nic::Igb, Nic::Igb, Nic::E1000e];

/// Everything needed to boot the guest.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `qemu-system-x86_64`.
    pub qemu: PathBuf,
    /// Kernel image.
    pub kernel: PathBuf,
    /// gzip'd cpio initramfs.
    pub initrd: PathBuf,
    /// Guest memory in MiB; the initramfs is unpacked into it.
    pub memory_mib: u32,
    /// Virtual CPUs.
    pub cpus: u32,
    /// NICs in PCI order.
    pub nics: Vec<Nic>,
    /// A host directory the guest can mount read-only over 9p, with the tag
    /// [`HOST_ROOT_TAG`].
    pub share: Option<PathBuf>,
}

/// The 9p tag under which the guest finds [`Machine::share`].
pub const HOST_ROOT_TAG: &str = "hostroot";

impl Machine {
    /// The QEMU arguments. KVM does not work on the machines this runs on, so
    /// it is TCG only; `romfile=` skips the network boot ROMs, which a
    /// `-kernel` boot never uses. The emulated VT-d gives every device an
    /// IOMMU group, without which vfio-pci refuses a VF (the kernel has no
    /// VFIO no-IOMMU mode); `iommu=pt` keeps the kernel's own drivers on
    /// untranslated DMA, as before.
    pub fn args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = [
            "-accel",
            "tcg",
            "-M",
            "q35",
            "-nographic",
            "-no-reboot",
            "-nic",
            "none",
            "-device",
            "intel-iommu",
        ]
        .iter()
        .map(OsString::from)
        .collect();
        args.push("-m".into());
        args.push(self.memory_mib.to_string().into());
        args.push("-smp".into());
        args.push(self.cpus.to_string().into());
        args.push("-kernel".into());
        args.push(self.kernel.clone().into());
        args.push("-initrd".into());
        args.push(self.initrd.clone().into());
        args.push("-append".into());
        args.push("console=ttyS0 panic=-1 quiet iommu=pt".into());
        for (i, nic) in self.nics.iter().enumerate() {
            let n = i + 1;
            let model = match nic {
                Nic::Igb => "igb",
                Nic::E1000e => "e1000e",
            };
            args.push("-device".into());
            args.push(format!("pcie-root-port,id=rp{n},slot={n}").into());
            args.push("-device".into());
            args.push(format!("{model},bus=rp{n},netdev=n{n},romfile=").into());
            args.push("-netdev".into());
            args.push(format!("hubport,id=n{n},hubid=0").into());
        }
        if let Some(share) = &self.share {
            // Read-only, and inode numbers remapped: the host's root spans
            // several filesystems.
            let mut virtfs = OsString::from("local,path=");
            virtfs.push(share);
            virtfs.push(format!(
                ",mount_tag={HOST_ROOT_TAG},security_model=none,readonly=on,multidevs=remap"
            ));
            args.push("-virtfs".into());
            args.push(virtfs);
        }
        args
    }

    /// Boots the guest and hands every console line to `on_line` as it
    /// arrives, until QEMU exits or `limit` runs out (then QEMU is killed).
    pub fn run(&self, limit: Duration, mut on_line: impl FnMut(&str)) -> Result<GuestEnd> {
        let mut cmd = Command::new(&self.qemu);
        cmd.args(self.args())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::Qemu(format!("could not start `{}`: {e}", display(&cmd))))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            // Lines, not chars: a partial last line (a hung test's name) still arrives at EOF.
            while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
                let line = printable(&String::from_utf8_lossy(&buf));
                buf.clear();
                if tx.send(line).is_err() {
                    break;
                }
            }
        });

        let deadline = Instant::now() + limit;
        let mut timed_out = false;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => on_line(&line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    timed_out = true;
                    let _ = child.kill();
                    // What the guest printed before it was stopped still counts.
                    for line in rx.iter() {
                        on_line(&line);
                    }
                    break;
                }
            }
        }
        let status = child
            .wait()
            .map_err(|e| Error::Qemu(format!("waiting for qemu: {e}")))?;
        let _ = reader.join();
        if timed_out {
            Ok(GuestEnd::TimedOut {
                seconds: limit.as_secs(),
            })
        } else {
            Ok(GuestEnd::Exited {
                success: status.success(),
                status: status.to_string(),
            })
        }
    }
}

/// The line without terminal control: the firmware's escape sequences would
/// reset and clear the terminal of whoever watches the console.
pub fn printable(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI runs to a final byte in @..~; other escapes (ESC c, a
                // full reset) are two characters.
                if chars.next() == Some('[') {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
            }
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            qemu: "qemu-system-x86_64".into(),
            kernel: "/c/vmlinuz".into(),
            initrd: "/t/initrd.gz".into(),
            memory_mib: 2048,
            cpus: 1,
            nics: LAB_NICS.to_vec(),
            share: None,
        }
    }

    fn joined(m: &Machine) -> String {
        m.args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn terminal_control_is_removed_and_text_kept() {
        assert_eq!(
            printable("\u{1b}c\u{1b}[?7l\u{1b}[2J\u{1b}[0mSeaBIOS (version 1.16.3)\r\n"),
            "SeaBIOS (version 1.16.3)"
        );
        assert_eq!(printable("test a ... ok\r"), "test a ... ok");
        assert_eq!(printable("a\tb"), "a\tb");
    }

    #[test]
    fn the_host_root_is_shared_read_only_when_asked() {
        assert!(!joined(&machine()).contains("-virtfs"));
        let shared = Machine {
            share: Some("/".into()),
            ..machine()
        };
        assert!(joined(&shared).contains(
            "-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
        ));
    }

    #[test]
    fn every_nic_has_its_own_root_port_on_hub_zero() {
        let args = joined(&machine());
        assert!(args.contains(
            "-device pcie-root-port,id=rp1,slot=1 -device igb,bus=rp1,netdev=n1,romfile= -netdev hubport,id=n1,hubid=0"
        ));
        assert!(
            args.contains("-device igb,bus=rp2,netdev=n2,romfile= -netdev hubport,id=n2,hubid=0")
        );
        assert!(args
            .contains("-device e1000e,bus=rp3,netdev=n3,romfile= -netdev hubport,id=n3,hubid=0"));
        assert_eq!(args.matches("hubid=0").count(), 3);
    }

    #[test]
    fn it_is_tcg_q35_with_a_serial_console_and_no_host_network() {
        let args = joined(&machine());
        assert!(args
            .starts_with("-accel tcg -M q35 -nographic -no-reboot -nic none -device intel-iommu"));
        assert!(args.contains("-m 2048 -smp 1 -kernel /c/vmlinuz -initrd /t/initrd.gz"));
        assert!(args.contains("-append console=ttyS0 panic=-1 quiet iommu=pt"));
        assert!(!args.contains("user") && !args.contains("tap"));
    }
}
