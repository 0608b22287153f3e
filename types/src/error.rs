//! Why a value is refused, and the classes of every netplumb error.

use std::fmt;

use crate::BondOption;

/// Why a text or a value is not one of this crate's types.
///
/// The message says what is wrong and what would be right, and names no
/// field: the caller knows which field or variable held the value and adds
/// it (`CNI_IFNAME: "net%d" is not a valid interface name: ...`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not an interface name the kernel would give a link.
    #[error("{value:?} is not a valid interface name: {}", rule.explain())]
    IfName {
        /// The value, with bytes that are not UTF-8 written as `\xNN`.
        value: String,
        /// The rule it breaks.
        rule: IfNameRule,
    },

    /// Not an alternative name the kernel would give a link.
    #[error("{value:?} is not a valid alternative name: {}", rule.explain_alt())]
    AltName {
        /// The value, with bytes that are not UTF-8 written as `\xNN`.
        value: String,
        /// The rule it breaks.
        rule: IfNameRule,
    },

    /// Not an alias the kernel keeps.
    #[error(
        "an alias of {len} bytes{} is not valid: expected at most 255 bytes without NUL",
        if *has_nul { " holding NUL" } else { "" }
    )]
    Alias {
        /// Its length in bytes.
        len: usize,
        /// Whether it holds a NUL byte.
        has_nul: bool,
    },

    /// Not a MAC address.
    #[error(
        "{value:?} is not a MAC address: expected six two-digit hex octets separated by ':' \
         (or all by '-'), such as 02:00:00:00:00:01"
    )]
    MacAddr {
        /// The text given.
        value: String,
    },

    /// Not a PCI address, or parts that make none.
    #[error(
        "{value:?} is not a PCI address: {reason}; expected domain:bus:device.function such as \
         0000:03:02.0, or bus:device.function (domain 0000) such as 03:02.0"
    )]
    PciAddr {
        /// The text given, or the parts as `domain:bus:device.function`.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Not one of the names (or numbers) a setting takes.
    #[error("{value:?} is not a valid {what}: expected {expected}")]
    Keyword {
        /// The kind of value, such as `"bonding mode"`.
        what: &'static str,
        /// The text given.
        value: String,
        /// What would be accepted.
        expected: &'static str,
    },

    /// A number outside the range a setting takes.
    #[error("{value} is out of range for {what}: expected {expected}")]
    Range {
        /// The kind of value, such as `"VLAN id"`.
        what: &'static str,
        /// The value given.
        value: u64,
        /// What would be accepted.
        expected: &'static str,
    },

    /// Bond options that do not fit together, the bond's mode, or its ports.
    #[error("{option}: {problem}")]
    BondOption {
        /// The option at fault, by its kernel name.
        option: BondOption,
        /// What is wrong, and what would be right.
        problem: String,
    },
}

impl Error {
    /// Every value error is [`ErrorKind::Invalid`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Invalid
    }
}

/// The rule of the kernel's `dev_valid_name()` (and of new names) that an
/// interface name breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IfNameRule {
    /// It is empty.
    Empty,
    /// It is longer than 15 bytes (`IFNAMSIZ - 1`).
    TooLong,
    /// It is `.` or `..`.
    Reserved,
    /// It holds `/`.
    Slash,
    /// It holds `:`.
    Colon,
    /// It holds a NUL byte.
    Nul,
    /// It holds a byte the kernel counts as whitespace: 9 to 13, 32, or
    /// 0xA0 (so UTF-8 text whose encoding holds 0xA0, such as `à`, too).
    Whitespace,
    /// It holds `%`, which the kernel takes as a pattern in a new name
    /// (`net%d` becomes the first free `net0`, `net1`...), so the link would
    /// not get the name asked for.
    Percent,
}

impl IfNameRule {
    /// What is wrong, then every rule.
    pub fn explain(self) -> &'static str {
        macro_rules! rules {
            ($reason:literal) => {
                concat!(
                    $reason,
                    "; a name is 1 to 15 bytes, not \".\" or \"..\", without '/', ':', '%', NUL \
                     or whitespace"
                )
            };
        }
        match self {
            IfNameRule::Empty => rules!("it is empty"),
            IfNameRule::TooLong => rules!("it is longer than 15 bytes"),
            IfNameRule::Reserved => rules!("\".\" and \"..\" are reserved"),
            IfNameRule::Slash => rules!("it contains '/'"),
            IfNameRule::Colon => rules!("it contains ':'"),
            IfNameRule::Nul => rules!("it contains a NUL byte"),
            IfNameRule::Whitespace => rules!("it contains whitespace"),
            IfNameRule::Percent => rules!("it contains '%', which the kernel takes as a pattern"),
        }
    }
}

impl IfNameRule {
    /// What is wrong, then every rule, for an alternative name.
    pub fn explain_alt(self) -> &'static str {
        macro_rules! rules {
            ($reason:literal) => {
                concat!(
                    $reason,
                    "; an alternative name is 1 to 127 bytes, not \".\" or \"..\", without \
                     '/', ':', NUL or whitespace"
                )
            };
        }
        match self {
            IfNameRule::Empty => rules!("it is empty"),
            IfNameRule::TooLong => rules!("it is longer than 127 bytes"),
            IfNameRule::Reserved => rules!("\".\" and \"..\" are reserved"),
            IfNameRule::Slash => rules!("it contains '/'"),
            IfNameRule::Colon => rules!("it contains ':'"),
            IfNameRule::Nul => rules!("it contains a NUL byte"),
            IfNameRule::Whitespace | IfNameRule::Percent => rules!("it contains whitespace"),
        }
    }
}

/// The class of an error, whichever netplumb crate it comes from: what a
/// plugin needs to pick a CNI error code, and a caller to decide whether to
/// retry.
///
/// Each crate's error type has a `kind()` that says which one it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A value or setting was refused before anything was asked of the
    /// kernel: the input is wrong.
    Invalid,
    /// The device, link, namespace or record asked for does not exist.
    NotFound,
    /// Something with that name or identity already exists where it would
    /// go.
    AlreadyExists,
    /// Someone else holds it now (another pod, a lock held past its wait,
    /// every VF taken): trying again later may work.
    Busy,
    /// The kernel or a driver refused a well-formed request (a setting the
    /// driver does not support, a value it does not take).
    Refused,
    /// Anything else: I/O, a socket, an answer that could not be read.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Invalid => "invalid",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::Busy => "busy",
            ErrorKind::Refused => "refused",
            ErrorKind::Other => "other",
        })
    }
}

/// An error and its chain of sources, displayed as one line: the error's
/// message, then each source's, joined by `": "`.
///
/// netplumb's errors follow one convention: a message says what failed
/// and never repeats its source's text, which is reached through
/// [`source`](std::error::Error::source). Where the whole story goes on one
/// line (a CNI error reply, a log line, an error listed inside another),
/// this writes it.
///
/// ```
/// use netplumb_types::Chain;
/// let io = std::io::Error::other("disk on fire");
/// #[derive(Debug, thiserror::Error)]
/// #[error("cannot write the journal")]
/// struct Write(#[source] std::io::Error);
/// assert_eq!(Chain(&Write(io)).to_string(), "cannot write the journal: disk on fire");
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut next = self.0.source();
        while let Some(source) = next {
            write!(f, ": {source}")?;
            next = source.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
