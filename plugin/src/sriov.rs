//! The `sriov` plugin: a VF of an SR-IOV NIC into a pod, configured PF-side
//! and with IPAM; a NIC passed into a VM (no visible PF) into a pod as
//! host-device moves one; a VF bound to a userspace (DPDK) driver
//! configured PF-side without moving anything.

use std::path::{Path, PathBuf};

use netplumb_cniconf::skel::{Plugin, Request};
use netplumb_cniconf::{CniResult, Command, ErrorReply, Interface, SriovConf, VfSelector};
use netplumb_netns::{NetNs, Scope};
use netplumb_types::{Chain, IfName, MacAddr};
use netplumb_vf::{AttachSpec, AttachUndo, Holder, Host, Vf, VfId, VfSettings, VfState};

use crate::attachment::{self, Attach, Invocation, Node};
use crate::journal::{Key, Record, Step};
use crate::{crash, device_info, ipam, vf_settings, Error};

/// The `sriov` plugin. Stateless between invocations: everything an
/// invocation needs from an earlier one is in the attachment journal.
#[derive(Debug, Clone, Default)]
pub struct Sriov {
    node: Node,
}

impl Sriov {
    /// A plugin finding VFs and claiming them as `node` says.
    pub fn new(node: Node) -> Sriov {
        Sriov { node }
    }
}

impl Plugin for Sriov {
    fn add(&mut self, req: &Request<'_>) -> Result<CniResult, ErrorReply> {
        attachment::add(self, req)
    }

    fn del(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::del(self, req)
    }

    fn check(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::check(self, req)
    }

    fn status(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::status::<SriovConf>(req)
    }

    fn gc(&mut self, req: &Request<'_>) -> Result<(), ErrorReply> {
        attachment::gc(self, req)
    }
}

impl Attach for Sriov {
    type Conf = SriovConf;
    const NAME: &'static str = "sriov";

    fn node(&self) -> &Node {
        &self.node
    }

    /// The steps of ADD, each written down before it is taken.
    fn attach(
        &self,
        inv: &Invocation<'_, SriovConf>,
        netns: &Path,
        record: &mut Record,
    ) -> Result<CniResult, Error> {
        let conf = &inv.conf;
        let pod = NetNs::open(netns).map_err(Error::at("opening the pod's network namespace"))?;
        let host = self.node.host()?;
        let settings = vf_settings(conf).map_err(Error::at("reading the VF settings"))?;
        let mac = conf.effective_mac(&inv.req.env.args)?;
        let allocator = self.node.allocator()?;
        let holder = inv.holder(&pod);

        let claim = match conf.vf_selector()? {
            VfSelector::Device { pci, expected_pf } => {
                let claim = allocator
                    .claim(pci, &holder)
                    .map_err(Error::at("claiming the VF"))?;
                if let Some(master) = expected_pf {
                    check_master(&claim.vf, &master)?;
                }
                claim
            }
            VfSelector::FreeVfOf(pf) => allocator
                .claim_free(&pf, &holder)
                .map_err(Error::at("claiming a free VF"))?,
        };
        let mut vf = claim.vf.clone();
        let id = vf.id();
        if let Some(previous) = &claim.reclaimed_from {
            inv.log.info(format!(
                "{id} taken back from {}, whose namespace is gone",
                previous.owner
            ));
        }
        inv.note(
            record,
            Step::Claim {
                claim: claim.undo(),
            },
        )?;
        inv.log.info(format!("{id} claimed"));
        if let Some(previous) = &claim.reclaimed_from {
            if put_back_reclaimed(inv, &host, &id, previous)? {
                // Its netdev may have its old name back.
                vf = host
                    .sysfs()
                    .vf(id.addr)
                    .map_err(Error::at("finding the VF again"))?;
            }
        }

        let state = host
            .snapshot(&vf)
            .map_err(Error::at("recording the VF's state"))?;
        inv.note(
            record,
            Step::VfState {
                state: Box::new(state.clone()),
            },
        )?;
        let mode = Mode::of(&state);
        if mode == Mode::Vm && !settings.is_empty() {
            return Err(Error::Unsupported {
                field: setting_names(&settings),
                problem: format!(
                    "{id} has no visible PF (a NIC passed into a virtual machine), and PF-side \
                     settings need one"
                ),
            });
        }

        refuse_in_use(&host, &state, conf)?;

        // PF-side settings (and, for a VF without a netdev to carry it,
        // the MAC), all in one request where the driver takes it; the
        // recorded state puts them back.
        let pf_side = VfSettings {
            mac: if mode == Mode::Userspace { mac } else { None },
            ..settings
        };
        if !pf_side.is_empty() {
            host.configure(&id, &pf_side)
                .map_err(Error::at("applying the VF's PF-side settings"))?;
            inv.log.info(format!("{id}: PF-side settings applied"));
            crash::point(|| "PF-side settings applied".into());
        }

        let interface = match mode {
            Mode::Userspace => {
                inv.log.info(format!(
                    "{id} is bound to {}, a userspace driver: it stays where it is",
                    vf.driver.as_deref().unwrap_or("a userspace driver")
                ));
                let admin = host
                    .vf_config(&id)
                    .map_err(Error::at("reading the VF's PF-side settings"))?
                    .mac;
                Interface {
                    name: inv.ifname().to_string(),
                    mac: mac
                        .or((!admin.is_zero()).then_some(admin))
                        .map(|m| m.to_string()),
                    sandbox: Some(netns.display().to_string()),
                    pci_id: Some(vf.addr.to_string()),
                    ..Interface::default()
                }
            }
            Mode::Netdev | Mode::Vm => {
                let mut spec = AttachSpec::new(inv.ifname());
                if let Some(mac) = mac {
                    spec = spec.mac(mac);
                }
                let undo = AttachUndo::new(&state, &pod, &spec)
                    .map_err(Error::at("preparing to move the VF into the pod"))?;
                inv.note(
                    record,
                    Step::Attach {
                        undo: Box::new(undo),
                    },
                )?;
                host.attach(&state, &pod, &spec)
                    .map_err(Error::at("moving the VF into the pod"))?;
                crash::point(|| "moved into the pod".into());
                inv.log
                    .info(format!("{id} moved into the pod as {}", inv.ifname()));
                let link = pod
                    .netlink()
                    .and_then(|nl| nl.link(inv.ifname()))
                    .map_err(Error::at("reading the pod's interface"))?;
                Interface {
                    name: inv.ifname().to_string(),
                    mac: link.mac.map(|m| m.to_string()),
                    mtu: Some(link.mtu),
                    sandbox: Some(netns.display().to_string()),
                    pci_id: Some(vf.addr.to_string()),
                    ..Interface::default()
                }
            }
        };

        let addresses = match &conf.net.ipam {
            Some(ipam_conf) => {
                inv.note(
                    record,
                    Step::Ipam {
                        plugin: ipam_conf.plugin_type.clone(),
                    },
                )?;
                let answer = ipam::run(inv.req, Command::Add)?.ok_or_else(|| Error::Ipam {
                    plugin: ipam_conf.plugin_type.clone(),
                    problem: "it printed no result".into(),
                })?;
                if answer.ips.is_empty() {
                    return Err(Error::Ipam {
                        plugin: ipam_conf.plugin_type.clone(),
                        problem: "it gave no address".into(),
                    });
                }
                if mode != Mode::Userspace {
                    let config = ipam::ip_config(&answer);
                    pod.configure_ip(&inv.ifname(), &config)
                        .map_err(Error::at("configuring the pod's addresses and routes"))?;
                    crash::point(|| "addresses configured".into());
                    inv.log.info(format!(
                        "addresses {:?} configured",
                        config
                            .addresses
                            .iter()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                    ));
                }
                Some(answer)
            }
            None => None,
        };

        if let Some(path) = device_info_path(inv) {
            inv.note(record, Step::DeviceInfo { path: path.clone() })?;
            let pf = vf.pf.as_ref().map(|pf| pf.addr);
            device_info::write(&path, &device_info::pci(vf.addr, pf))?;
            crash::point(|| "device info written".into());
        }

        if let (Some(answer), true) = (&addresses, mode != Mode::Userspace) {
            ipam::announce(&inv.log, &pod, inv.ifname(), answer);
        }

        let prev = inv.req.conf.prev_result()?;
        Ok(ipam::result(
            prev,
            interface,
            addresses.as_ref(),
            inv.conf.net.dns.as_ref(),
        ))
    }

    /// A claim is taken before it is written down: an ADD killed in
    /// between leaves the VF claimed, untouched, by this attachment.
    fn undo_unnoted(&self, inv: &Invocation<'_, SriovConf>, record: &Record) -> Result<(), Error> {
        if record.steps.iter().any(|s| matches!(s, Step::Claim { .. })) {
            return Ok(());
        }
        let allocator = self.node.allocator()?;
        let owner = inv.owner();
        let held = allocator
            .held_by_owner(&owner)
            .map_err(Error::at("looking for the VF's claim"))?;
        for vf in held {
            let lock = allocator.lock(vf).map_err(Error::at("locking the VF"))?;
            if let Some(holder) = lock
                .holder()
                .map_err(Error::at("reading who holds the VF"))?
                .filter(|h| h.owner == owner)
            {
                lock.release(&holder)
                    .map_err(Error::at("releasing the VF's claim"))?;
                inv.log
                    .info(format!("{vf}: claimed, never written down; released"));
            }
        }
        Ok(())
    }

    fn check(
        &self,
        inv: &Invocation<'_, SriovConf>,
        record: &Record,
        expected: &CniResult,
        differences: &mut Vec<String>,
    ) -> Result<(), Error> {
        let netns = inv.req.env.netns.clone().expect("CHECK has CNI_NETNS");
        let pod = NetNs::open(&netns).map_err(Error::at("opening the pod's network namespace"))?;
        let allocator = self.node.allocator()?;
        let holder = inv.holder(&pod);
        for step in &record.steps {
            if let Step::Claim { claim } = step {
                let held = allocator
                    .lock(claim.vf)
                    .and_then(|lock| lock.is_held_by(&holder))
                    .map_err(Error::at("reading who holds the VF"))?;
                if !held {
                    differences.push(format!("VF {} is not held by this attachment", claim.vf));
                }
            }
        }
        let attached = record.steps.iter().find_map(|s| match s {
            Step::Attach { undo } => Some(undo.vf.addr),
            _ => None,
        });
        if let Some(vf) = attached {
            check_interface(inv, &pod, vf, expected, differences)?;
        }
        Ok(())
    }
}

/// A VF taken back from a holder whose namespace is gone is as that pod
/// left it (the kernel hands it back so): its MAC, VLAN and trust, and an
/// administrative MAC that keeps the VF from setting its own. When this
/// journal has that holder's record, and the record agrees it held the VF,
/// the VF is put back as the record found it, so that this attachment
/// starts from, and later restores, the VF's own state; the holder's late
/// DEL then finds the VF someone else's and cleans only its record.
/// Returns whether it put anything back.
fn put_back_reclaimed(
    inv: &Invocation<'_, SriovConf>,
    host: &Host,
    vf: &VfId,
    previous: &Holder,
) -> Result<bool, Error> {
    // The owner is what `Invocation::holder` writes.
    let mut parts = previous.owner.splitn(3, '/');
    let key = match (parts.next(), parts.next(), parts.next()) {
        (Some(network), Some(id), Some(ifname)) => match (id.parse(), ifname.parse()) {
            (Ok(id), Ok(ifname)) => Key::new(network, &id, ifname).ok(),
            _ => None,
        },
        _ => None,
    };
    let record = match key.map(|key| inv.journal.load(&key)) {
        Some(Ok(Some(record))) => record,
        Some(Err(e)) => {
            inv.log.warning(format!(
                "the record of {} cannot be read ({}): the VF is taken as it is",
                previous.owner,
                Chain(&e)
            ));
            return Ok(false);
        }
        _ => {
            inv.log.info(format!(
                "no record of {} in this journal: the VF is taken as it is",
                previous.owner
            ));
            return Ok(false);
        }
    };
    let held = record.steps.iter().any(
        |s| matches!(s, Step::Claim { claim } if claim.holder == *previous && claim.vf == vf.addr),
    );
    let state = record.steps.iter().find_map(|s| match s {
        Step::VfState { state } => Some(state),
        _ => None,
    });
    match state {
        Some(state) if held => {
            host.restore(state)
                .map_err(Error::at("putting back the VF its dead pod left"))?;
            inv.log.info(format!(
                "{}: put back as {} found it",
                state.vf, previous.owner
            ));
            Ok(true)
        }
        _ => {
            inv.log.info(format!(
                "the record of {} does not hold this VF: the VF is taken as it is",
                previous.owner
            ));
            Ok(false)
        }
    }
}

/// Refuses to move a netdev that has addresses of global scope on the
/// host: it is in use there (a NIC without a PF may be the node's own
/// uplink), and moving it would take its addresses and routes away, which
/// no DEL brings back.
fn refuse_in_use(host: &Host, state: &VfState, conf: &SriovConf) -> Result<(), Error> {
    let Some(netdev) = &state.netdev else {
        return Ok(());
    };
    let in_use: Vec<String> = host
        .netlink()
        .addresses(netdev.index)
        .map_err(Error::at("reading the VF's addresses on the host"))?
        .into_iter()
        .filter(|a| a.scope == Scope::Universe)
        .map(|a| a.address.to_string())
        .collect();
    if in_use.is_empty() {
        return Ok(());
    }
    let field = match conf.vf_selector()? {
        VfSelector::Device { .. } => "deviceID",
        VfSelector::FreeVfOf(_) => "master",
    };
    Err(Error::Unsupported {
        field: field.into(),
        problem: format!(
            "{} ({}) has the addresses {} on the host: it is in use there, and is not moved",
            netdev.name,
            state.vf.addr,
            in_use.join(", ")
        ),
    })
}

/// How the VF is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A VF with a netdev and a visible PF: moved in, configured PF-side.
    Netdev,
    /// A NIC with no visible PF (a VF passed into a VM): moved in only.
    Vm,
    /// A VF bound to a userspace driver: configured PF-side, not moved.
    Userspace,
}

impl Mode {
    fn of(state: &VfState) -> Mode {
        match (&state.netdev, &state.config) {
            (None, _) => Mode::Userspace,
            (Some(_), None) => Mode::Vm,
            (Some(_), Some(_)) => Mode::Netdev,
        }
    }
}

/// The configuration fields behind `settings`, for an error naming them.
fn setting_names(settings: &VfSettings) -> String {
    let mut names = Vec::new();
    if settings.vlan.is_some() {
        names.push("vlan");
    }
    if settings.spoofchk.is_some() {
        names.push("spoofchk");
    }
    if settings.trust.is_some() {
        names.push("trust");
    }
    if settings.link_state.is_some() {
        names.push("link_state");
    }
    if settings.min_tx_rate.is_some() {
        names.push("min_tx_rate");
    }
    if settings.max_tx_rate.is_some() {
        names.push("max_tx_rate");
    }
    names.join(", ")
}

/// Checks that `vf` belongs to the PF `master` names.
fn check_master(vf: &Vf, master: &IfName) -> Result<(), Error> {
    match vf.pf_name() {
        Some(pf) if pf == master => Ok(()),
        pf => Err(Error::Unsupported {
            field: "master".into(),
            problem: format!(
                "{} is not a VF of {master} but of {}",
                vf.addr,
                pf.map_or("a PF without a netdev".to_owned(), |p| p.to_string())
            ),
        }),
    }
}

fn device_info_path(inv: &Invocation<'_, SriovConf>) -> Option<PathBuf> {
    inv.conf
        .net
        .runtime_config
        .as_ref()
        .and_then(|rc| rc.device_info_file.clone())
}

/// Compares the pod's interface with what ADD reported in `expected`:
/// it is there, it is the VF, its MAC and MTU, its addresses and routes.
fn check_interface(
    inv: &Invocation<'_, SriovConf>,
    pod: &NetNs,
    vf: netplumb_types::PciAddr,
    expected: &CniResult,
    differences: &mut Vec<String>,
) -> Result<(), Error> {
    let ifname = inv.ifname();
    let nl = pod.netlink().map_err(Error::at("reading the pod"))?;
    let link = match nl.link(ifname) {
        Ok(link) => link,
        Err(e) if e.is_no_such_link() => {
            differences.push(format!("{ifname} is not in the pod"));
            return Ok(());
        }
        Err(e) => return Err(Error::step("reading the pod's interface", e)),
    };
    // Kernels before 5.16 report no parent device: the driver says it then.
    let device = nl
        .device_of(&link)
        .map_err(Error::at("reading the pod's interface"))?;
    if device.as_deref() != Some(vf.to_string().as_str()) {
        differences.push(format!("{ifname} is not VF {vf}"));
    }
    let name = ifname.to_string();
    let Some((index, reported)) = expected
        .interfaces
        .iter()
        .enumerate()
        .find(|(_, i)| i.name == name)
    else {
        differences.push(format!("prevResult does not list {ifname}"));
        return Ok(());
    };
    if let Some(mac) = reported
        .mac
        .as_deref()
        .and_then(|m| m.parse::<MacAddr>().ok())
    {
        if link.mac != Some(mac) {
            differences.push(format!(
                "{ifname}'s MAC is {}, not {mac}",
                link.mac.map_or("none".to_owned(), |m| m.to_string())
            ));
        }
    }
    if let Some(mtu) = reported.mtu {
        if link.mtu != mtu {
            differences.push(format!("{ifname}'s MTU is {}, not {mtu}", link.mtu));
        }
    }
    let have = nl
        .addresses(link.index)
        .map_err(Error::at("reading the pod's addresses"))?;
    for ip in expected
        .ips
        .iter()
        .filter(|ip| ip.interface == u32::try_from(index).ok())
    {
        if !have.iter().any(|a| a.address == ip.address) {
            differences.push(format!("{ifname} does not have {}", ip.address));
        }
    }
    let routes = nl.routes().map_err(Error::at("reading the pod's routes"))?;
    for route in &expected.routes {
        let there = routes
            .iter()
            .any(|r| r.destination == route.dst && route.gw.is_none_or(|gw| r.gateway == Some(gw)));
        if !there {
            differences.push(format!("the route to {} is missing", route.dst));
        }
    }
    Ok(())
}
