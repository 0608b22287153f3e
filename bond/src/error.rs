use thiserror::Error;

/// Everything that can go wrong building, inspecting or releasing a bond.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// A bond option's value is not one the kernel knows.
    #[error("{option}: {value:?} is not valid, expected {expected}")]
    InvalidOption {
        /// The option, by its kernel name.
        option: &'static str,
        /// The value as it was written.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },
    /// The settings do not fit each other, the ports, or what the kernel accepts.
    #[error("bond {bond}: {reason}")]
    InvalidConfig {
        /// The bond's name.
        bond: String,
        /// What is wrong, naming the option or port.
        reason: String,
    },
}
