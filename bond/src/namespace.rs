//! The two namespaces a bond involves, as two types so that one is never
//! passed for the other: the pod's, where the bond is built, and home,
//! where ports come from and go back to.

use netplumb_netns::{NetNs, Netlink};

/// A netlink client, opened for the purpose or lent by the caller.
#[derive(Debug)]
enum Client<'a> {
    Own(Netlink),
    Lent(&'a Netlink),
}

impl Client<'_> {
    fn get(&self) -> &Netlink {
        match self {
            Client::Own(netlink) => netlink,
            Client::Lent(netlink) => netlink,
        }
    }
}

macro_rules! namespace_role {
    ($(#[$doc:meta])* $name:ident, $role:literal) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<'a>(Client<'a>);

        impl $name<'static> {
            #[doc = concat!(
                "The ", $role, " namespace `ns`, with a netlink client of its own ",
                "opened inside it."
            )]
            pub fn open(ns: &NetNs) -> Result<Self, netplumb_netns::Error> {
                Ok($name(Client::Own(ns.netlink()?)))
            }
        }

        impl<'a> $name<'a> {
            #[doc = concat!(
                "The ", $role, " namespace that `netlink` is bound to ",
                "([`Netlink::namespace`]), used through `netlink`."
            )]
            pub fn new(netlink: &'a Netlink) -> Self {
                $name(Client::Lent(netlink))
            }

            /// The netlink client bound to this namespace.
            pub fn netlink(&self) -> &Netlink {
                self.0.get()
            }

            /// The namespace itself.
            pub fn ns(&self) -> &NetNs {
                self.netlink().namespace()
            }
        }
    };
}

namespace_role!(
    /// The pod's network namespace: where the bond is built and its ports
    /// are enslaved.
    ///
    /// Made from a namespace handle ([`Pod::open`]) or from a netlink client
    /// already bound to the namespace ([`Pod::new`]); either way the client
    /// and the namespace cannot disagree.
    Pod,
    "pod"
);

namespace_role!(
    /// The namespace ports are moved in from and go back to (bond-cni's
    /// `linksInContainer: false`), usually the host's.
    ///
    /// Made like a [`Pod`], and a type of its own so that the two are never
    /// swapped by mistake:
    ///
    /// ```compile_fail
    /// # fn f(pod: &netplumb_bond::Pod<'_>, record: &netplumb_bond::BondRecord) {
    /// // A pod is not a home.
    /// let _ = netplumb_bond::release(None, Some(pod), record);
    /// # }
    /// ```
    Home,
    "home"
);
