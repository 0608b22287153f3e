//! What a plugin binary's `main` does: stdin and the environment in, the
//! plugin run, the result or error out, the exit code back.

use std::io::{Read, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

use netplumb_cniconf::skel::{self, Plugin};
use netplumb_cniconf::{codes, CniVersion, ErrorReply};

/// The most stdin a plugin reads: far more than any configuration, so a
/// runaway writer is refused instead of read into memory.
pub const MAX_STDIN: u64 = 4 << 20;

/// Runs `plugin` as a CNI runtime invokes it: the configuration from
/// stdin, the `CNI_*` variables from the environment, the result or the
/// error reply to stdout (and nothing else there), and the exit code.
///
/// A panic in the plugin is not a crash the runtime sees: it becomes an
/// error reply (its message to stderr, for the log).
pub fn run(plugin: &mut impl Plugin) -> ExitCode {
    let mut stdin = Vec::new();
    let read = std::io::stdin()
        .lock()
        .take(MAX_STDIN + 1)
        .read_to_end(&mut stdin);
    let outcome = match read {
        Err(e) => refuse(codes::IO_FAILURE, format!("cannot read stdin: {e}")),
        Ok(_) if stdin.len() as u64 > MAX_STDIN => refuse(
            codes::DECODING_FAILURE,
            format!(
                "the configuration on stdin is larger than {} MiB",
                MAX_STDIN >> 20
            ),
        ),
        Ok(_) => {
            let ran = catch_unwind(AssertUnwindSafe(|| {
                skel::run(std::env::vars_os(), &stdin, plugin)
            }));
            match ran {
                Ok(outcome) => outcome,
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "a panic".to_owned());
                    refuse(crate::KERNEL_FAILURE, format!("internal error: {what}"))
                }
            }
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&outcome.stdout)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::FAILURE;
    }
    u8::try_from(outcome.exit_code).map_or(ExitCode::FAILURE, ExitCode::from)
}

fn refuse(code: u32, msg: String) -> skel::Outcome {
    let mut reply = ErrorReply::new(code, msg);
    reply.cni_version = CniVersion::LATEST.to_string();
    skel::Outcome {
        stdout: reply.to_vec(),
        exit_code: 1,
    }
}
