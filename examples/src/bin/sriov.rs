//! `sriov`: the CNI plugin that attaches an SR-IOV VF to a pod (see
//! `netplumb_plugin::Sriov`). Its name is the CNI `type` it serves.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    netplumb_plugin::process::run(&mut netplumb_plugin::Sriov::default())
}
