//! Discovery on fake sysfs trees: every lookup path, every kind of VF, and
//! malformed trees.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;

use netplumb_vf::testing::{FakeNetdev, FakeNic, FakeSysfs, FakeVf, FakeVfNetdev};
use netplumb_vf::{Access, Device, Error, IfName, Inventory, Observer, PciAddr, Sysfs, VfNetdev};

fn addr(s: &str) -> PciAddr {
    s.parse().unwrap()
}

fn name(s: &str) -> IfName {
    s.parse().unwrap()
}

/// The addresses an inventory lists: each NIC's, followed by its VFs'.
fn listed(inventory: &Inventory) -> Vec<PciAddr> {
    inventory
        .interfaces
        .iter()
        .flat_map(|nic| std::iter::once(nic.addr).chain(nic.vfs.iter().map(|vf| vf.addr)))
        .collect()
}

/// What the inventory lists, and its one error.
fn listed_and_error(sysfs: &Sysfs) -> (Vec<PciAddr>, Error) {
    let mut inventory = sysfs.inventory().unwrap();
    assert_eq!(inventory.errors.len(), 1, "{:?}", inventory.errors);
    (listed(&inventory), inventory.errors.remove(0))
}

/// What the inventory of an intact `two_pfs` tree lists, but `missing`.
fn two_pfs_without(missing: &[PciAddr]) -> Vec<PciAddr> {
    let mut all = listed(&two_pfs().sysfs().inventory().unwrap());
    all.retain(|a| !missing.contains(a));
    all
}

/// PF0 of `two_pfs` and its 7 VFs.
fn pf0_and_its_vfs() -> Vec<PciAddr> {
    let pf0 = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 7);
    std::iter::once(pf0.addr)
        .chain((0..7).map(|i| pf0.vf_addr(i).unwrap()))
        .collect()
}

/// Points an existing link somewhere else.
fn relink(link: &Path, target: &str) {
    fs::remove_file(link).unwrap();
    symlink(target, link).unwrap();
}

const PF0: &str = "0000:01:00.0";
const PF1: &str = "0000:01:00.1";

/// Two igb PFs with 7 of 7 and 2 of 7 VFs enabled, as in the lab.
fn two_pfs() -> FakeSysfs {
    let fake = FakeSysfs::new().unwrap();
    fake.add(&FakeNic::pf(addr(PF0), "enp1s0f0", 7, 7)).unwrap();
    fake.add(&FakeNic::pf(addr(PF1), "enp1s0f1", 7, 2)).unwrap();
    fake
}

#[test]
fn pf_by_name_reads_every_field() {
    let fake = two_pfs();
    let pf = fake.sysfs().pf(&name("enp1s0f1")).unwrap();
    assert_eq!(pf.addr, addr(PF1));
    assert_eq!((pf.vendor_id, pf.device_id), (0x8086, 0x10c9));
    assert_eq!(pf.driver.as_deref(), Some("igb"));
    let netdev = pf.netdev.as_ref().unwrap();
    assert_eq!(netdev.name, name("enp1s0f1"));
    assert_eq!(
        netdev.mac.as_ref().unwrap().to_string(),
        "02:5e:00:01:01:00"
    );
    assert_eq!((netdev.mtu, netdev.speed_mbps), (1500, Some(1000)));
    assert_eq!(pf.numa_node, Some(0));
    assert_eq!((pf.total_vfs, pf.num_vfs), (7, 2));
    // 82576: VF n of function 1 at routing ID 0x101 + 128 + 2n.
    let vf_addrs: Vec<String> = pf.vfs.iter().map(|vf| vf.addr.to_string()).collect();
    assert_eq!(vf_addrs, ["0000:01:10.1", "0000:01:10.3"]);
    assert_eq!(pf.vfs[1].index(), Some(1));
    assert_eq!(pf.vfs[1].pf_name(), Some(&name("enp1s0f1")));
    assert_eq!(pf.vfs[1].netdev_name(), Some(&name("enp1s0f1v1")));
    assert_eq!(fake.sysfs().pf_by_addr(addr(PF1)).unwrap(), pf);
}

#[test]
fn pf_lookups_refuse_what_is_not_a_pf() {
    let fake = two_pfs();
    fake.add(&FakeNic::plain(addr("0000:03:00.0"), "eth9"))
        .unwrap();
    let sysfs = fake.sysfs();
    let err = sysfs.pf(&name("eth9")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotPf {
                device: Device::PfNetdev(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("PF eth9 is not an SR-IOV physical function"),
        "{err}"
    );
    let vf = sysfs.pf_by_addr(addr("0000:01:10.0")).unwrap_err();
    assert!(matches!(vf, Error::NotPf { .. }), "{vf}");
    let missing = sysfs.pf_by_addr(addr("0000:09:00.0")).unwrap_err();
    assert!(
        matches!(missing, Error::NoSuchPciDevice { .. }),
        "{missing}"
    );
    let err = sysfs.pf(&name("nope0")).unwrap_err();
    assert!(matches!(err, Error::NoSuchNetdev { .. }), "{err}");
}

#[test]
fn vf_is_found_the_same_by_address_by_index_and_by_netdev() {
    let fake = two_pfs();
    let sysfs = fake.sysfs();
    let by_addr = sysfs.vf(addr("0000:01:10.6")).unwrap();
    let pf = by_addr.pf.as_ref().unwrap();
    assert_eq!(
        (pf.addr, pf.name.as_ref(), pf.index),
        (addr(PF0), Some(&name("enp1s0f0")), 3)
    );
    assert_eq!(by_addr.driver.as_deref(), Some("igbvf"));
    assert_eq!((by_addr.vendor_id, by_addr.device_id), (0x8086, 0x10ca));
    let VfNetdev::Host(netdev) = &by_addr.netdev else {
        panic!("{:?}", by_addr.netdev)
    };
    assert_eq!(netdev.name, name("enp1s0f0v3"));
    assert_eq!(sysfs.vf_by_index(&name("enp1s0f0"), 3).unwrap(), by_addr);
    assert_eq!(sysfs.vf_by_netdev(&name("enp1s0f0v3")).unwrap(), by_addr);
    let short: PciAddr = "01:10.6".parse().unwrap();
    assert_eq!(sysfs.vf(short).unwrap(), by_addr);
}

#[test]
fn missing_vf_index_names_the_pf_and_its_count() {
    let fake = FakeSysfs::new().unwrap();
    fake.add(&FakeNic::pf(addr(PF1), "enp1s0f1", 8, 7)).unwrap();
    let err = fake.sysfs().vf_by_index(&name("enp1s0f1"), 9).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "PF enp1s0f1 has no VF 9 (numvfs 7): {} does not exist",
            fake.path("bus/pci/devices/0000:01:00.1/virtfn9").display()
        )
    );
    let plain = FakeSysfs::new().unwrap();
    plain
        .add(&FakeNic::plain(addr("0000:03:00.0"), "eth9"))
        .unwrap();
    let err = plain.sysfs().vf_by_index(&name("eth9"), 0).unwrap_err();
    assert!(matches!(err, Error::NotPf { .. }), "{err}");
}

#[test]
fn vf_by_netdev_refuses_pfs_and_software_devices() {
    let fake = two_pfs();
    let sysfs = fake.sysfs();
    let err = sysfs.vf_by_netdev(&name("enp1s0f0")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{PF0} is not a VF: it is an SR-IOV physical function ({})",
            fake.path(format!("bus/pci/devices/{PF0}/sriov_totalvfs"))
                .display()
        )
    );
    // A software device: a class/net entry with no device link.
    fs::create_dir_all(fake.path("devices/virtual/net/lo")).unwrap();
    symlink("../../devices/virtual/net/lo", fake.path("class/net/lo")).unwrap();
    let err = sysfs.vf_by_netdev(&name("lo")).unwrap_err();
    assert!(matches!(err, Error::NotPci { target: None, .. }), "{err}");
    assert!(
        err.to_string().starts_with("netdev lo is not a PCI device"),
        "{err}"
    );
}

#[test]
fn files_beside_the_netdevs_are_not_netdevs() {
    let fake = two_pfs();
    fs::write(fake.path("class/net/bonding_masters"), "\n").unwrap();
    let err = fake
        .sysfs()
        .vf_by_netdev(&name("bonding_masters"))
        .unwrap_err();
    assert!(matches!(err, Error::NoSuchNetdev { .. }), "{err}");
}

#[test]
fn vf_index_is_found_without_offset_files_and_despite_wrong_ones() {
    // How the offset and stride hints are broken, if at all.
    enum Hints {
        Absent,
        Wrong,
        Unreadable,
    }
    for hints in [Hints::Absent, Hints::Wrong, Hints::Unreadable] {
        let fake = FakeSysfs::new().unwrap();
        let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 7);
        pf.sriov.as_mut().unwrap().offset_files = !matches!(hints, Hints::Absent);
        fake.add(&pf).unwrap();
        let stride = fake.device_dir(addr(PF0)).join("sriov_stride");
        match hints {
            Hints::Absent => {}
            // Hints that disagree with the links must not win.
            Hints::Wrong => fs::write(&stride, "4\n").unwrap(),
            // A hint that cannot be read (EISDIR) only means the slow path.
            Hints::Unreadable => {
                fs::remove_file(&stride).unwrap();
                fs::create_dir(&stride).unwrap();
            }
        }
        let sysfs = fake.sysfs();
        for index in 0..7 {
            let vf = sysfs.vf(pf.vf_addr(index).unwrap()).unwrap();
            assert_eq!(vf.index(), Some(index));
        }
    }
}

#[test]
fn vf_index_is_found_past_a_missing_or_broken_link_below_it() {
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 7);
    pf.sriov.as_mut().unwrap().offset_files = false;
    fake.add(&pf).unwrap();
    let dir = fake.device_dir(addr(PF0));
    fs::remove_file(dir.join("virtfn1")).unwrap();
    relink(&dir.join("virtfn2"), "nowhere");
    let sysfs = fake.sysfs();
    for index in [0, 3, 6] {
        let vf = sysfs.vf(pf.vf_addr(index).unwrap()).unwrap();
        assert_eq!(vf.index(), Some(index));
    }
    // The inventory agrees: it lists those, and names the two links.
    let inventory = sysfs.inventory().unwrap();
    let indices: Vec<_> = inventory.interfaces[0]
        .vfs
        .iter()
        .map(|vf| vf.index())
        .collect();
    assert_eq!(indices, [0, 3, 4, 5, 6].map(Some));
    assert_eq!(inventory.errors.len(), 2, "{:?}", inventory.errors);
}

#[test]
fn dpdk_vf_has_no_netdev_but_keeps_its_pf() {
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 3);
    for (vf, driver) in
        pf.sriov
            .as_mut()
            .unwrap()
            .vfs
            .iter_mut()
            .zip(["vfio-pci", "uio_pci_generic", "igb_uio"])
    {
        *vf = FakeVf {
            driver: Some(driver.to_owned()),
            netdev: FakeVfNetdev::None,
        };
    }
    fake.add(&pf).unwrap();
    let sysfs = fake.sysfs();
    for index in 0..3 {
        let vf = sysfs.vf(pf.vf_addr(index).unwrap()).unwrap();
        assert_eq!(vf.netdev, VfNetdev::Userspace);
        assert_eq!(vf.index(), Some(index));
        assert_eq!(vf.pf_name(), Some(&name("enp1s0f0")));
    }
    assert_eq!(
        sysfs.vf(pf.vf_addr(0).unwrap()).unwrap().driver.as_deref(),
        Some("vfio-pci")
    );
}

#[test]
fn vf_in_a_vm_is_a_nic_without_physfn() {
    let fake = FakeSysfs::new().unwrap();
    let nic = FakeNic::plain(addr("0000:00:05.0"), "ens5");
    fake.add(&nic).unwrap();
    let sysfs = fake.sysfs();
    let vf = sysfs.vf(nic.addr).unwrap();
    assert_eq!(vf.pf, None);
    assert_eq!(vf.index(), None);
    assert_eq!(vf.netdev_name(), Some(&name("ens5")));
    assert_eq!(sysfs.vf_by_netdev(&name("ens5")).unwrap(), vf);
    let inventory = sysfs.inventory().unwrap();
    assert_eq!(inventory.interfaces.len(), 1);
    assert!(!inventory.interfaces[0].is_sriov());
    assert_eq!(inventory.interfaces[0].numa_node, None);
}

#[test]
fn nic_that_can_have_no_vfs_is_a_vf_in_a_vm_by_every_rule() {
    // Some NICs carry an SR-IOV capability with TotalVFs 0: they cannot
    // have VFs, so they are not PFs, and inside a VM such a NIC may be a VF.
    let fake = FakeSysfs::new().unwrap();
    let nic = FakeNic::plain(addr("0000:00:05.0"), "ens5");
    fake.add(&nic).unwrap();
    fs::write(fake.device_dir(nic.addr).join("sriov_totalvfs"), "0\n").unwrap();
    let sysfs = fake.sysfs();
    let inventory = sysfs.inventory().unwrap();
    assert!(!inventory.interfaces[0].is_sriov());
    let vf = sysfs.vf(nic.addr).unwrap();
    assert_eq!((&vf.pf, vf.netdev_name()), (&None, Some(&name("ens5"))));
    let err = sysfs.pf(&name("ens5")).unwrap_err();
    assert!(matches!(err, Error::NotPf { .. }), "{err}");
}

#[test]
fn non_network_device_without_physfn_is_not_a_vf() {
    let fake = FakeSysfs::new().unwrap();
    let mut nvme = FakeNic::plain(addr("0000:00:06.0"), "unused0");
    nvme.class = 0x010802;
    nvme.netdev = None;
    fake.add(&nvme).unwrap();
    let err = fake.sysfs().vf(nvme.addr).unwrap_err();
    assert!(err.to_string().contains("not a network device"), "{err}");
    assert!(
        matches!(&err, Error::NotVf { path, .. } if path.ends_with("0000:00:06.0/class")),
        "{err:?}"
    );
    assert_eq!(fake.sysfs().inventory().unwrap().interfaces, []);
}

#[test]
fn moved_vf_is_told_from_one_without_a_netdev_yet_dpdk_and_unbound() {
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 4);
    let vfs = &mut pf.sriov.as_mut().unwrap().vfs;
    // As the kernel shows a netdev moved into another namespace: net/
    // stays, empty.
    vfs[0].netdev = FakeVfNetdev::Moved;
    // igbvf bound, but no net/ yet: still probing.
    vfs[1].netdev = FakeVfNetdev::None;
    vfs[2] = FakeVf {
        driver: None,
        netdev: FakeVfNetdev::None,
    };
    fake.add(&pf).unwrap();
    let sysfs = fake.sysfs();
    let state = |i| sysfs.vf(pf.vf_addr(i).unwrap()).unwrap().netdev;
    assert_eq!(state(0), VfNetdev::Moved);
    assert_eq!(state(1), VfNetdev::NoNetdev);
    assert_eq!(state(2), VfNetdev::Unbound);
    assert!(matches!(state(3), VfNetdev::Host(_)));
    let err = sysfs.vf_by_netdev(&name("enp1s0f0v0")).unwrap_err();
    assert!(matches!(err, Error::NoSuchNetdev { .. }), "{err}");
}

#[test]
fn vendor_vfio_variants_are_userspace_drivers() {
    let fake = FakeSysfs::new().unwrap();
    let drivers = [
        "mlx5_vfio_pci",
        "hisi_acc_vfio_pci",
        "pds-vfio-pci",
        "vfio-pci",
    ];
    let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 4);
    for (vf, driver) in pf.sriov.as_mut().unwrap().vfs.iter_mut().zip(drivers) {
        *vf = FakeVf {
            driver: Some(driver.to_owned()),
            netdev: FakeVfNetdev::None,
        };
    }
    fake.add(&pf).unwrap();
    for (index, driver) in (0..).zip(drivers) {
        let vf = fake.sysfs().vf(pf.vf_addr(index).unwrap()).unwrap();
        assert_eq!(vf.netdev, VfNetdev::Userspace, "{driver}");
    }
    for netdev_driver in ["iavf", "mlx5_core", "vfio_pci_core_x", "ixgbevf"] {
        assert!(
            !netplumb_vf::is_userspace_driver(netdev_driver),
            "{netdev_driver}"
        );
    }
}

/// A PF in switchdev mode: its uplink `ens1f0np0` (port `p0`) and the
/// representors of its two VFs, which sort before the uplink by name.
fn switchdev_pf() -> (FakeSysfs, FakeNic) {
    let fake = FakeSysfs::new().unwrap();
    let pf = FakeNic::pf(addr("0000:3b:00.0"), "ens1f0np0", 8, 2).switchdev(0, "ens1f0_");
    fake.add(&pf).unwrap();
    (fake, pf)
}

#[test]
fn switchdev_pf_is_its_uplink_not_a_representor() {
    let (fake, pf) = switchdev_pf();
    let sysfs = fake.sysfs();
    let uplink = name("ens1f0np0");
    let representors = [name("ens1f0_0"), name("ens1f0_1")];
    let nic = sysfs.pf_by_addr(pf.addr).unwrap();
    assert_eq!(nic.name(), Some(&uplink));
    assert_eq!(nic.other_netdevs, representors);
    assert_eq!(sysfs.pf(&uplink).unwrap(), nic);
    let inventory = sysfs.inventory().unwrap();
    assert_eq!(inventory.interfaces, std::slice::from_ref(&nic));
    for (index, vf) in (0..).zip(&nic.vfs) {
        assert_eq!(vf.pf_name(), Some(&uplink));
        assert_eq!(sysfs.vf(vf.addr).unwrap(), *vf);
        assert_eq!(sysfs.vf_by_index(&uplink, index).unwrap(), *vf);
    }
}

#[test]
fn representors_are_refused_where_a_pf_netdev_is_needed() {
    let (fake, pf) = switchdev_pf();
    let log = std::sync::Arc::new(netplumb_vf::testing::AccessLog::default());
    let sysfs = fake.sysfs().with_observer(log.clone());
    let representor = name("ens1f0_1");
    let errors = [
        sysfs.pf(&representor).unwrap_err(),
        sysfs.set_num_vfs(&representor, 1).unwrap_err(),
        sysfs.vf_by_index(&representor, 0).unwrap_err(),
    ];
    for err in errors {
        let Error::Representor {
            name: named,
            port_name,
            uplink,
            ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (named, port_name.as_str(), uplink.as_ref()),
            (&representor, "pf0vf1", Some(&name("ens1f0np0")))
        );
        assert_eq!(
            err.to_string(),
            format!(
                "netdev ens1f0_1 is a switchdev representor ({} is \"pf0vf1\"), not a PF's own \
                 netdev; name its PF's uplink ens1f0np0 instead",
                fake.path("class/net/ens1f0_1/phys_port_name").display()
            )
        );
    }
    assert_eq!(log.writes(), []);
    let numvfs = fake.device_dir(pf.addr).join("sriov_numvfs");
    assert_eq!(fs::read_to_string(numvfs).unwrap(), "2\n");
}

#[test]
fn without_an_uplink_port_name_the_first_non_representor_is_the_pf() {
    let (fake, pf) = switchdev_pf();
    fs::remove_file(
        fake.device_dir(pf.addr)
            .join("net/ens1f0np0/phys_port_name"),
    )
    .unwrap();
    let nic = fake.sysfs().pf_by_addr(pf.addr).unwrap();
    assert_eq!(nic.name(), Some(&name("ens1f0np0")));
    // The uplink is named in the error even when it carries no port name.
    let err = fake.sysfs().pf(&name("ens1f0_0")).unwrap_err();
    assert!(
        matches!(&err, Error::Representor { uplink: Some(u), .. } if *u == name("ens1f0np0")),
        "{err:?}"
    );
}

#[test]
fn pf_with_two_ports_answers_for_the_port_asked_for() {
    // mlx4 puts both ports of a card on one PCI function.
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf(addr("0000:04:00.0"), "ens1", 8, 2);
    pf.extra_netdevs = vec![FakeNetdev::new("ens1d1", 0x77, 1000)];
    fake.add(&pf).unwrap();
    let sysfs = fake.sysfs();
    let (port1, port2) = (name("ens1"), name("ens1d1"));

    let by_port2 = sysfs.pf(&port2).unwrap();
    assert_eq!(by_port2.name(), Some(&port2));
    assert_eq!(by_port2.other_netdevs, std::slice::from_ref(&port1));
    assert!(by_port2.vfs.iter().all(|vf| vf.pf_name() == Some(&port2)));
    let by_port1 = sysfs.pf(&port1).unwrap();
    assert_eq!(by_port1.name(), Some(&port1));
    assert_eq!(by_port1.other_netdevs, std::slice::from_ref(&port2));
    assert_eq!(sysfs.pf_by_addr(pf.addr).unwrap(), by_port1);

    // A VF is addressed through the port the lookup named, else the first.
    let vf = pf.vf_addr(1).unwrap();
    assert_eq!(
        sysfs.vf_by_index(&port2, 1).unwrap().pf_name(),
        Some(&port2)
    );
    assert_eq!(sysfs.vf_by_index(&port1, 1).unwrap(), sysfs.vf(vf).unwrap());
    assert_eq!(sysfs.vf(vf).unwrap().pf_name(), Some(&port1));
}

#[test]
fn vf_with_two_netdevs_answers_for_the_netdev_asked_for() {
    let fake = FakeSysfs::new().unwrap();
    let pf = FakeNic::pf(addr("0000:04:00.0"), "ens1", 8, 2);
    fake.add(&pf).unwrap();
    let vf = pf.vf_addr(0).unwrap();
    fake.add_netdev(vf, &FakeNetdev::new("ens1v0d1", 0x78, 1000))
        .unwrap();
    // A VF in a VM with two ports: a plain NIC with two netdevs.
    let mut in_vm = FakeNic::plain(addr("0000:00:05.0"), "ens5");
    in_vm.extra_netdevs = vec![FakeNetdev::new("ens5d1", 0x79, 1000)];
    fake.add(&in_vm).unwrap();
    let sysfs = fake.sysfs();

    for (first, second, addr) in [("ens1v0", "ens1v0d1", vf), ("ens5", "ens5d1", in_vm.addr)] {
        let (first, second) = (name(first), name(second));
        let by_second = sysfs.vf_by_netdev(&second).unwrap();
        assert_eq!(by_second.netdev_name(), Some(&second));
        assert_eq!(by_second.other_netdevs, std::slice::from_ref(&first));
        let by_first = sysfs.vf_by_netdev(&first).unwrap();
        assert_eq!(by_first.netdev_name(), Some(&first));
        assert_eq!(by_first.other_netdevs, std::slice::from_ref(&second));
        assert_eq!(sysfs.vf(addr).unwrap(), by_first);
    }
}

#[test]
fn link_speed_is_unknown_when_down_or_unreadable() {
    let fake = FakeSysfs::new().unwrap();
    let mut nic = FakeNic::plain(addr("0000:00:05.0"), "ens5");
    nic.netdev.as_mut().unwrap().speed = Some("-1".to_owned());
    fake.add(&nic).unwrap();
    let mut other = FakeNic::plain(addr("0000:00:06.0"), "ens6");
    other.netdev.as_mut().unwrap().speed = None;
    fake.add(&other).unwrap();
    let inventory = fake.sysfs().inventory().unwrap();
    for nic in &inventory.interfaces {
        assert_eq!(nic.netdev.as_ref().unwrap().speed_mbps, None);
    }
    fs::write(fake.device_dir(nic.addr).join("net/ens5/speed"), "fast\n").unwrap();
    let (listed, err) = listed_and_error(&fake.sysfs());
    assert_eq!(listed, [other.addr]);
    assert!(
        err.to_string()
            .contains("\"fast\", expected a speed in Mb/s"),
        "{err}"
    );
}

#[test]
fn virtio_netdev_is_found_below_its_pci_function() {
    let fake = FakeSysfs::new().unwrap();
    let mut nic = FakeNic::plain(addr("0000:00:03.0"), "eth0");
    nic.virtio = true;
    nic.driver = Some("virtio-pci".to_owned());
    fake.add(&nic).unwrap();
    let sysfs = fake.sysfs();
    let inventory = sysfs.inventory().unwrap();
    assert_eq!(inventory.interfaces[0].name(), Some(&name("eth0")));
    assert_eq!(sysfs.vf_by_netdev(&name("eth0")).unwrap().addr, nic.addr);
}

#[test]
fn inventory_lists_pfs_with_their_vfs_and_plain_nics() {
    let fake = two_pfs();
    fake.add(&FakeNic::plain(addr("0000:00:19.0"), "eno1"))
        .unwrap();
    let inventory = fake.sysfs().inventory().unwrap();
    let names: Vec<_> = inventory
        .interfaces
        .iter()
        .map(|n| n.name().unwrap().to_string())
        .collect();
    assert_eq!(names, ["eno1", "enp1s0f0", "enp1s0f1"]);
    assert_eq!(inventory.interfaces[1].vfs.len(), 7);
    assert_eq!(inventory.interfaces[2].vfs.len(), 2);
    for (i, vf) in inventory.interfaces[1].vfs.iter().enumerate() {
        assert_eq!(vf.index(), Some(i as u32));
        assert_eq!(fake.sysfs().vf(vf.addr).unwrap(), *vf);
    }
}

#[test]
fn inventory_serializes_like_the_operator_node_state() {
    let fake = FakeSysfs::new().unwrap();
    let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 2);
    pf.netdev.as_mut().unwrap().speed = Some("10000".to_owned());
    pf.sriov.as_mut().unwrap().vfs[1] = FakeVf {
        driver: Some("vfio-pci".to_owned()),
        netdev: FakeVfNetdev::None,
    };
    fake.add(&pf).unwrap();
    let mut json = serde_json::to_value(fake.sysfs().inventory().unwrap()).unwrap();
    let expected = serde_json::json!({"interfaces": [{
        "pciAddress": "0000:01:00.0", "vendor": "8086", "deviceID": "10c9", "driver": "igb",
        "name": "enp1s0f0", "mac": "02:5e:00:01:00:00", "mtu": 1500, "linkSpeed": "10000 Mb/s",
        "numaNode": 0, "totalvfs": 7, "numVfs": 2,
        "Vfs": [
            {"pciAddress": "0000:01:10.0", "vendor": "8086", "deviceID": "10ca", "driver": "igbvf",
             "vfID": 0, "pfPciAddress": "0000:01:00.0", "pfName": "enp1s0f0",
             "name": "enp1s0f0v0", "mac": "02:5e:00:01:00:01", "mtu": 1500,
             "linkSpeed": "1000 Mb/s", "netdevState": "host"},
            {"pciAddress": "0000:01:10.2", "vendor": "8086", "deviceID": "10ca", "driver": "vfio-pci",
             "vfID": 1, "pfPciAddress": "0000:01:00.0", "pfName": "enp1s0f0",
             "netdevState": "userspace"}
        ]
    }]});
    assert_eq!(json, expected);

    // The other states, by name.
    for (netdev, state) in [
        (FakeVfNetdev::Moved, "moved"),
        (FakeVfNetdev::None, "noNetdev"),
    ] {
        let fake = FakeSysfs::new().unwrap();
        let mut pf = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 1);
        pf.sriov.as_mut().unwrap().vfs[0].netdev = netdev;
        fake.add(&pf).unwrap();
        json = serde_json::to_value(fake.sysfs().inventory().unwrap()).unwrap();
        assert_eq!(json["interfaces"][0]["Vfs"][0]["netdevState"], state);
    }
}

#[test]
fn newtypes_round_trip_through_serde() {
    let addr: PciAddr = serde_json::from_str("\"01:10.2\"").unwrap();
    assert_eq!(serde_json::to_string(&addr).unwrap(), "\"0000:01:10.2\"");
    let err = serde_json::from_str::<IfName>("\"eth0:1\"")
        .unwrap_err()
        .to_string();
    assert!(err.contains("':'"), "{err}");
    assert!(serde_json::from_str::<PciAddr>("7").is_err());
}

#[test]
fn fake_netdev_builder_is_deterministic() {
    let netdev = FakeNetdev::new("x", 0x0102_0304, 25000);
    assert_eq!(netdev.mac, "02:5e:01:02:03:04");
    assert_eq!(netdev.speed.as_deref(), Some("25000"));
}

// --- malformed trees: a clear error naming device and file, never a panic ---

#[test]
fn dangling_physfn_names_the_missing_pf() {
    let fake = two_pfs();
    let vf = addr("0000:01:10.0");
    let physfn = fake.device_dir(vf).join("physfn");
    relink(&physfn, "../0000:05:00.0");
    let err = fake.sysfs().vf(vf).unwrap_err();
    assert!(
        matches!(err, Error::NoSuchPciDevice { addr, .. } if addr == "0000:05:00.0".parse().unwrap()),
        "{err}"
    );
}

#[test]
fn physfn_to_garbage_is_a_bad_link() {
    let fake = two_pfs();
    let vf = addr("0000:01:10.0");
    let physfn = fake.device_dir(vf).join("physfn");
    relink(&physfn, "../not-a-device");
    let err = fake.sysfs().vf(vf).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadLink {
                device: Device::Vf(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().starts_with("VF 0000:01:10.0: "), "{err}");
}

#[test]
fn vf_missing_its_physfn_is_reported_by_index_lookup() {
    let fake = two_pfs();
    fs::remove_file(fake.device_dir(addr("0000:01:10.2")).join("physfn")).unwrap();
    let err = fake.sysfs().vf_by_index(&name("enp1s0f0"), 1).unwrap_err();
    assert!(err.to_string().starts_with("VF 0000:01:10.2: "), "{err}");
    assert!(
        err.to_string()
            .contains("physfn does not exist, but PF 0000:01:00.0 lists it"),
        "{err}"
    );
}

#[test]
fn non_numeric_numvfs_is_malformed() {
    let fake = two_pfs();
    fs::write(fake.device_dir(addr(PF0)).join("sriov_numvfs"), "seven\n").unwrap();
    let (listed, from_inventory) = listed_and_error(&fake.sysfs());
    assert_eq!(listed, two_pfs_without(&pf0_and_its_vfs()));
    for err in [
        fake.sysfs().pf(&name("enp1s0f0")).unwrap_err(),
        from_inventory,
    ] {
        assert!(matches!(err, Error::Malformed { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("sriov_numvfs holds \"seven\", expected a decimal number"),
            "{err}"
        );
    }
}

#[test]
fn missing_vendor_file_is_a_read_error() {
    let fake = two_pfs();
    fs::remove_file(fake.device_dir(addr("0000:01:10.4")).join("vendor")).unwrap();
    let err = fake.sysfs().vf(addr("0000:01:10.4")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Read {
                device: Device::Vf(_),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("0000:01:10.4/vendor"), "{err}");
}

#[test]
fn virtfn_link_to_nowhere_is_an_error_not_a_panic() {
    let fake = two_pfs();
    let link = fake.device_dir(addr(PF1)).join("virtfn1");
    relink(&link, "../0000:01:1f.7");
    let sysfs = fake.sysfs();
    let err = sysfs.vf_by_index(&name("enp1s0f1"), 1).unwrap_err();
    assert!(matches!(err, Error::NoSuchPciDevice { .. }), "{err}");
    let (listed, err) = listed_and_error(&sysfs);
    assert!(matches!(err, Error::NoSuchPciDevice { .. }), "{err}");
    assert_eq!(listed, two_pfs_without(&[addr("0000:01:10.3")]));
    relink(&link, "nowhere");
    let err = sysfs.pf(&name("enp1s0f1")).unwrap_err();
    assert!(matches!(err, Error::BadLink { .. }), "{err}");
    let err = sysfs.vf(addr("0000:01:10.3")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadLink {
                device: Device::Pf(_),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn two_virtfn_links_to_one_vf_are_refused_by_every_lookup() {
    let fake = two_pfs();
    // Both of PF1's links lead to its VF 0, and none to its VF 1.
    relink(
        &fake.device_dir(addr(PF1)).join("virtfn1"),
        "../0000:01:10.1",
    );
    let sysfs = fake.sysfs();
    let err = sysfs.vf(addr("0000:01:10.3")).unwrap_err();
    assert!(matches!(err, Error::VfNotListed { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("VF 0000:01:10.3: its PF 0000:01:00.1 has no virtfn link"),
        "{err}"
    );
    let virtfn1 = fake.path("bus/pci/devices/0000:01:00.1/virtfn1");
    for (err, pf) in [
        (
            sysfs.pf(&name("enp1s0f1")).unwrap_err(),
            Device::PfNetdev(name("enp1s0f1")),
        ),
        (
            sysfs.pf_by_addr(addr(PF1)).unwrap_err(),
            Device::Pf(addr(PF1)),
        ),
        (
            sysfs.vf_by_index(&name("enp1s0f1"), 1).unwrap_err(),
            Device::PfNetdev(name("enp1s0f1")),
        ),
        (
            {
                let (listed, err) = listed_and_error(&sysfs);
                // PF1's VF 0 is listed once, and the rest still.
                assert_eq!(listed, two_pfs_without(&[addr("0000:01:10.3")]));
                err
            },
            Device::Pci(addr(PF1)),
        ),
    ] {
        let Error::VirtfnDuplicate {
            pf: found_pf,
            vf,
            first,
            path,
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (found_pf, *vf, *first, path),
            (&pf, addr("0000:01:10.1"), 0, &virtfn1)
        );
        assert!(
            err.to_string()
                .ends_with("virtfn1 leads to VF 0000:01:10.1, which virtfn0 already leads to"),
            "{err}"
        );
    }
    // VF 0 itself is still found where it is.
    assert_eq!(
        sysfs.vf_by_index(&name("enp1s0f1"), 0).unwrap().addr,
        addr("0000:01:10.1")
    );
}

#[test]
fn pf_listing_a_vf_that_does_not_name_it_back_is_refused() {
    let fake = two_pfs();
    // PF1's VF 1 claims PF0 as its PF.
    relink(
        &fake.device_dir(addr("0000:01:10.3")).join("physfn"),
        "../0000:01:00.0",
    );
    let sysfs = fake.sysfs();
    let (listed, from_inventory) = listed_and_error(&sysfs);
    assert_eq!(listed, two_pfs_without(&[addr("0000:01:10.3")]));
    for err in [
        sysfs.pf(&name("enp1s0f1")).unwrap_err(),
        from_inventory,
        sysfs.vf_by_index(&name("enp1s0f1"), 1).unwrap_err(),
    ] {
        assert!(
            matches!(
                &err,
                Error::PhysfnMismatch { vf, pf, found: Some(found), .. }
                    if *vf == addr("0000:01:10.3") && *pf == addr(PF1) && *found == addr(PF0)
            ),
            "{err:?}"
        );
    }
}

#[test]
fn fewer_virtfn_links_than_numvfs_is_reported() {
    let fake = two_pfs();
    fs::remove_file(fake.device_dir(addr(PF0)).join("virtfn4")).unwrap();
    let err = fake.sysfs().pf(&name("enp1s0f0")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PF enp1s0f0: sriov_numvfs is 7 but "),
        "{err}"
    );
    // The inventory lists the PF without that VF.
    let (listed, err) = listed_and_error(&fake.sysfs());
    assert!(matches!(err, Error::VirtfnMissing { .. }), "{err}");
    let vf4 = FakeNic::pf(addr(PF0), "enp1s0f0", 7, 7).vf_addr(4).unwrap();
    assert_eq!(listed, two_pfs_without(&[vf4]));
}

#[test]
fn dangling_netdev_device_link_is_a_bad_link() {
    let fake = two_pfs();
    let link = fake.device_dir(addr(PF0)).join("net/enp1s0f0/device");
    relink(&link, "../../../gone");
    let err = fake.sysfs().pf(&name("enp1s0f0")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadLink {
                device: Device::Netdev(_),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_names_and_entries_are_malformed() {
    let fake = two_pfs();
    let net = fake.device_dir(addr("0000:01:10.0")).join("net");
    fs::rename(net.join("enp1s0f0v0"), net.join("bad:name")).unwrap();
    let err = fake.sysfs().vf(addr("0000:01:10.0")).unwrap_err();
    assert!(
        err.to_string().contains("expected a valid interface name"),
        "{err}"
    );
    fs::create_dir(fake.path("bus/pci/devices/junk")).unwrap();
    let inventory = fake.sysfs().inventory().unwrap();
    let [junk, bad_name] = &inventory.errors[..] else {
        panic!("{:?}", inventory.errors)
    };
    assert!(
        bad_name
            .to_string()
            .contains("expected a valid interface name"),
        "{bad_name}"
    );
    assert!(matches!(junk, Error::UnexpectedEntry { .. }), "{junk}");
    let vfs: Vec<_> = inventory.interfaces[0]
        .vfs
        .iter()
        .map(|vf| vf.index())
        .collect();
    assert_eq!(vfs, (1..7).map(Some).collect::<Vec<_>>());
}

#[test]
fn empty_address_reads_as_no_mac() {
    let fake = two_pfs();
    fs::write(
        fake.device_dir(addr(PF1)).join("net/enp1s0f1/address"),
        "\n",
    )
    .unwrap();
    let inventory = fake.sysfs().inventory().unwrap();
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    let pf1 = &inventory.interfaces[1];
    assert_eq!(pf1.netdev.as_ref().unwrap().mac, None);
    let json = serde_json::to_value(pf1).unwrap();
    assert_eq!(json["name"], "enp1s0f1");
    assert!(json.get("mac").is_none(), "{json}");
}

/// Renames a netdev's directory just before its address is read, as a
/// udev rename between listing `net/` and reading the netdev does.
struct RenameMidWalk {
    net: std::path::PathBuf,
    from: &'static str,
    to: &'static str,
}

impl Observer for RenameMidWalk {
    fn observe(&self, access: &Access<'_>) {
        let Access::Read(path) = *access else {
            return;
        };
        if path.ends_with(format!("net/{}/address", self.from)) {
            let _ = fs::rename(self.net.join(self.from), self.net.join(self.to));
        }
    }
}

#[test]
fn a_netdev_renamed_mid_walk_is_read_under_its_new_name() {
    let fake = two_pfs();
    fake.add(&FakeNic::plain(addr("0000:00:19.0"), "eno1"))
        .unwrap();
    let sysfs = fake
        .sysfs()
        .with_observer(std::sync::Arc::new(RenameMidWalk {
            net: fake.device_dir(addr(PF0)).join("net"),
            from: "enp1s0f0",
            to: "ens1f0",
        }));
    // Its name is read again, and the netdev under the new one.
    let inventory = sysfs.inventory().unwrap();
    assert!(inventory.errors.is_empty(), "{:?}", inventory.errors);
    assert_eq!(inventory.interfaces[1].name(), Some(&name("ens1f0")));
}

#[test]
fn missing_sysfs_root_is_a_listing_error() {
    let fake = FakeSysfs::new().unwrap();
    let sysfs = netplumb_vf::Sysfs::new(fake.path("nonexistent"));
    let err = sysfs.inventory().unwrap_err();
    assert!(matches!(err, Error::List { .. }), "{err}");
    assert!(
        err.to_string().contains("nonexistent/bus/pci/devices"),
        "{err}"
    );
}

/// Takes a netdev away just before its address is read, as a move to
/// another namespace between listing `net/` and reading the netdev does.
struct MoveMidWalk {
    net: std::path::PathBuf,
    name: &'static str,
}

impl Observer for MoveMidWalk {
    fn observe(&self, access: &Access<'_>) {
        let Access::Read(path) = *access else {
            return;
        };
        if path.ends_with(format!("net/{}/address", self.name)) {
            let entry = self.net.join(self.name);
            let _ = fs::remove_file(&entry).or_else(|_| fs::remove_dir_all(&entry));
        }
    }
}

#[test]
fn a_netdev_that_leaves_while_it_is_read_is_moved_not_an_error() {
    let fake = two_pfs();
    let vf = addr("0000:01:10.0");
    let sysfs = fake.sysfs().with_observer(std::sync::Arc::new(MoveMidWalk {
        net: fake.device_dir(vf).join("net"),
        name: "enp1s0f0v0",
    }));
    let pf = sysfs.pf(&name("enp1s0f0")).unwrap();
    assert_eq!(pf.vfs[0].netdev, VfNetdev::Moved);
    assert!(matches!(pf.vfs[1].netdev, VfNetdev::Host(_)));
    assert_eq!(sysfs.vf(vf).unwrap().netdev, VfNetdev::Moved);
}
