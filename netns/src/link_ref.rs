//! Value types shared by links, addresses and routes.

use std::fmt;

use netplumb_types::{AltName, Escaped, IfName};

/// Names a link: by index, or by name (an alternative name works too).
///
/// A name is bytes, as the kernel takes it; it is checked against the
/// kernel's rules for names ([`AltName`]: up to 127 bytes) when a request
/// is built, and one that breaks them is refused before anything is sent.
/// Verbs that take `impl Into<LinkRef>` take an index, an [`IfName`], an
/// [`AltName`] or text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LinkRef {
    /// The interface index.
    Index(u32),
    /// The interface name or one of its alternative names.
    Name(Vec<u8>),
}

impl fmt::Display for LinkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkRef::Index(i) => write!(f, "#{i}"),
            LinkRef::Name(n) => Escaped(n).fmt(f),
        }
    }
}

impl From<u32> for LinkRef {
    fn from(index: u32) -> LinkRef {
        LinkRef::Index(index)
    }
}

impl From<&str> for LinkRef {
    fn from(name: &str) -> LinkRef {
        LinkRef::Name(name.as_bytes().to_vec())
    }
}

impl From<String> for LinkRef {
    fn from(name: String) -> LinkRef {
        LinkRef::Name(name.into_bytes())
    }
}

impl From<&String> for LinkRef {
    fn from(name: &String) -> LinkRef {
        LinkRef::Name(name.as_bytes().to_vec())
    }
}

impl From<&IfName> for LinkRef {
    fn from(name: &IfName) -> LinkRef {
        LinkRef::Name(name.as_bytes().to_vec())
    }
}

impl From<IfName> for LinkRef {
    fn from(name: IfName) -> LinkRef {
        LinkRef::Name(name.as_bytes().to_vec())
    }
}

impl From<&AltName> for LinkRef {
    fn from(name: &AltName) -> LinkRef {
        LinkRef::Name(name.as_bytes().to_vec())
    }
}

impl From<&LinkRef> for LinkRef {
    fn from(link: &LinkRef) -> LinkRef {
        link.clone()
    }
}

/// Route and address scope (`RT_SCOPE_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// Global (`RT_SCOPE_UNIVERSE`, 0).
    #[default]
    Universe,
    /// Site-local (`RT_SCOPE_SITE`, 200).
    Site,
    /// On-link (`RT_SCOPE_LINK`, 253).
    Link,
    /// This host only (`RT_SCOPE_HOST`, 254).
    Host,
    /// Nowhere (`RT_SCOPE_NOWHERE`, 255).
    Nowhere,
    /// Any other value.
    Other(u8),
}

impl From<u8> for Scope {
    fn from(v: u8) -> Scope {
        match v {
            0 => Scope::Universe,
            200 => Scope::Site,
            253 => Scope::Link,
            254 => Scope::Host,
            255 => Scope::Nowhere,
            v => Scope::Other(v),
        }
    }
}

impl From<Scope> for u8 {
    fn from(s: Scope) -> u8 {
        match s {
            Scope::Universe => 0,
            Scope::Site => 200,
            Scope::Link => 253,
            Scope::Host => 254,
            Scope::Nowhere => 255,
            Scope::Other(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_convert_to_link_refs() {
        let name: IfName = "net1".parse().unwrap();
        assert_eq!(LinkRef::from(&name), LinkRef::Name(b"net1".to_vec()));
        assert_eq!(LinkRef::from(name), LinkRef::from("net1"));
        let odd = IfName::new(b"a\xff").unwrap();
        assert_eq!(LinkRef::from(odd).to_string(), "a\\xff");
    }

    #[test]
    fn link_ref_display() {
        assert_eq!(LinkRef::from(3).to_string(), "#3");
        assert_eq!(LinkRef::from("eth0").to_string(), "eth0");
    }

    proptest! {
        #[test]
        fn scope_round_trips(v: u8) {
            prop_assert_eq!(u8::from(Scope::from(v)), v);
        }
    }
}
