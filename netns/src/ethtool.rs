//! The device a link sits on, for kernels whose rtnetlink does not report
//! it: the bus info the driver gives ethtool (`ETHTOOL_GDRVINFO`).

use std::os::fd::AsRawFd;

use nix::errno::Errno;

use crate::netlink::Channel;
use crate::{Error, IfName, LinkInfo, Netlink};

/// `struct ethtool_drvinfo` (linux/ethtool.h).
#[repr(C)]
struct DrvInfo {
    cmd: u32,
    driver: [u8; 32],
    version: [u8; 32],
    fw_version: [u8; 32],
    bus_info: [u8; 32],
    erom_version: [u8; 32],
    reserved2: [u8; 12],
    n_priv_flags: u32,
    n_stats: u32,
    testinfo_len: u32,
    eedump_len: u32,
    regdump_len: u32,
}

const ETHTOOL_GDRVINFO: u32 = 0x0000_0003;

/// How often a link renamed while its bus info was read is asked again.
const RENAMED_ATTEMPTS: u32 = 3;

impl Netlink {
    /// The device `link` sits on: the parent device rtnetlink reports
    /// (kernels from 5.16), else the bus info its driver reports to ethtool,
    /// asked in this client's namespace. A PCI function is named by its
    /// address (`0000:01:10.2`) either way. `None` for a link that sits on
    /// no device (veth, bond, loopback).
    ///
    /// Neither can be set from inside a namespace: a pod can rename its
    /// links and change their aliases and MACs, not the device under them.
    /// The ethtool request names the link; its name is read again by index
    /// afterwards, and a link renamed meanwhile is asked again, so the
    /// answer is the link's even while it is being renamed.
    pub fn device_of(&self, link: &LinkInfo) -> Result<Option<String>, Error> {
        if link.parent_device.is_some() {
            return Ok(link.parent_device.clone());
        }
        let mut name = link.name;
        for _ in 0..RENAMED_ATTEMPTS {
            let bus_info = self.bus_info(&name)?;
            let now = self.link(link.index)?.name;
            if now == name {
                return Ok(bus_info);
            }
            name = now;
        }
        Err(Error::Renamed {
            what: "bus info",
            index: link.index,
            attempts: RENAMED_ATTEMPTS,
        })
    }

    /// The devices the links of one dump sit on, in order, as
    /// [`device_of`](Netlink::device_of) gives them. When any of them
    /// reports a parent device the kernel reports parents, and a link
    /// without one sits on none: the driver is asked only on kernels that
    /// report none. A link gone meanwhile sits on none.
    pub fn devices_of(&self, links: &[LinkInfo]) -> Result<Vec<Option<String>>, Error> {
        if links.iter().any(|l| l.parent_device.is_some()) {
            return Ok(links.iter().map(|l| l.parent_device.clone()).collect());
        }
        links
            .iter()
            .map(|link| match self.device_of(link) {
                Err(e) if e.is_no_such_link() => Ok(None),
                other => other,
            })
            .collect()
    }

    /// The bus info the driver of the link named `name` reports; `None`
    /// when it reports none or has no ethtool support.
    fn bus_info(&self, name: &IfName) -> Result<Option<String>, Error> {
        let transport = self.lock();
        let answer = match &transport.channel {
            Channel::Kernel(socket) => drvinfo(socket.as_raw_fd(), name),
            #[cfg(feature = "test-support")]
            Channel::Fake(wire) => wire.bus_info(name),
        };
        drop(transport);
        match answer {
            Ok(bus_info) if bus_info.is_empty() => Ok(None),
            Ok(bus_info) => Ok(Some(bus_info)),
            Err(Errno::EOPNOTSUPP) => Ok(None),
            Err(errno) => Err(Error::Kernel {
                op: "read bus info".into(),
                link: Some(name.to_string()),
                errno: errno as i32,
                ext_ack: None,
                attribute: None,
            }),
        }
    }
}

/// `SIOCETHTOOL` with `ETHTOOL_GDRVINFO` on `fd`, a socket of the namespace
/// to ask in (any socket's ioctl reaches the devices of its namespace).
fn drvinfo(fd: std::os::fd::RawFd, name: &IfName) -> Result<String, Errno> {
    // SAFETY: both are plain C structs for which all zeroes is valid.
    let mut info: DrvInfo = unsafe { std::mem::zeroed() };
    info.cmd = ETHTOOL_GDRVINFO;
    // SAFETY: as above.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    // An IfName is at most 15 bytes, so the name stays NUL-terminated.
    for (to, from) in request.ifr_name.iter_mut().zip(name.as_bytes()) {
        *to = *from as libc::c_char;
    }
    request.ifr_ifru.ifru_data = (&mut info as *mut DrvInfo).cast();
    // SAFETY: fd is open for the whole call; the kernel reads the ifreq and
    // writes at most one ethtool_drvinfo through its data pointer, and both
    // live across the call.
    let rc = unsafe { libc::ioctl(fd, libc::SIOCETHTOOL as _, &mut request) };
    if rc < 0 {
        return Err(Errno::last());
    }
    let len = info
        .bus_info
        .iter()
        .position(|&b| b == 0)
        .unwrap_or(info.bus_info.len());
    Ok(String::from_utf8_lossy(&info.bus_info[..len]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Answer, FakeKernel, Request};

    fn link(index: u32, name: &str) -> LinkInfo {
        LinkInfo::new(index, name.parse().unwrap())
    }

    #[test]
    fn a_reported_parent_is_the_device_without_asking() {
        let kernel = FakeKernel::new();
        let mut vf = link(4, "net1");
        vf.parent_device = Some("0000:01:10.0".into());
        vf.parent_bus = Some("pci".into());
        assert_eq!(
            kernel.netlink().device_of(&vf).unwrap().as_deref(),
            Some("0000:01:10.0")
        );
        kernel.finish();
    }

    #[test]
    fn without_a_parent_the_driver_is_asked_and_the_name_checked() {
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::BusInfo, Answer::BusInfo("0000:01:10.0".into()))
            .expect(Request::GetLink, Answer::link(link(4, "net1")));
        let nl = kernel.netlink();
        assert_eq!(
            nl.device_of(&link(4, "net1")).unwrap().as_deref(),
            Some("0000:01:10.0")
        );
        kernel.finish();

        // A driver without ethtool support, or without bus info: none.
        for answer in [
            Answer::BusInfo(String::new()),
            Answer::Error {
                errno: Errno::EOPNOTSUPP,
                ext_ack: None,
            },
        ] {
            let kernel = FakeKernel::new();
            kernel
                .expect(Request::BusInfo, answer)
                .expect(Request::GetLink, Answer::link(link(4, "net1")));
            assert_eq!(kernel.netlink().device_of(&link(4, "net1")).unwrap(), None);
            kernel.finish();
        }
    }

    #[test]
    fn a_link_renamed_while_asked_is_asked_again_by_its_new_name() {
        // The pod renames the veth away and gives its name to another link
        // between the dump and the request: the answer was for that other
        // link, and is not taken.
        let kernel = FakeKernel::new();
        kernel
            .expect(Request::BusInfo, Answer::BusInfo("0000:01:10.0".into()))
            .expect(Request::GetLink, Answer::link(link(9, "other")))
            .expect(Request::BusInfo, Answer::BusInfo(String::new()))
            .expect(Request::GetLink, Answer::link(link(9, "other")));
        let nl = kernel.netlink();
        assert_eq!(nl.device_of(&link(9, "net1")).unwrap(), None);
        let sent = kernel.sent();
        assert_eq!(sent[0].bytes, b"net1");
        assert_eq!(sent[2].bytes, b"other");
        kernel.finish();

        // Renamed every time: an error, never a guess.
        let kernel = FakeKernel::new();
        for n in 0..RENAMED_ATTEMPTS {
            kernel
                .expect(Request::BusInfo, Answer::BusInfo("0000:01:10.0".into()))
                .expect(Request::GetLink, Answer::link(link(9, &format!("x{n}"))));
        }
        let err = kernel.netlink().device_of(&link(9, "net1")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "link 9 was renamed each of the 3 times its bus info was read"
        );
        assert_eq!(err.kind(), crate::ErrorKind::Busy);
        kernel.finish();
    }

    #[test]
    fn drvinfo_is_the_size_of_the_kernels() {
        assert_eq!(std::mem::size_of::<DrvInfo>(), 196);
    }
}
