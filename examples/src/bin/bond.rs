//! `bond`: the CNI plugin that bonds links of a pod (see
//! `netplumb_plugin::Bond`). Its name is the CNI `type` it serves.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    netplumb_plugin::process::run(&mut netplumb_plugin::Bond::default())
}
