//! Bond option values (`mode`, `fail_over_mac`, `xmit_hash_policy`) as
//! configs write them: parsing never panics, a value's canonical name and
//! number parse back to it, case does not matter, and an error names the
//! option and the value.
#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use netplumb_bond::{Error, FailOverMac, Mode, XmitHashPolicy};

/// What the three option types share.
trait BondOption: FromStr<Err = Error> + Display + Copy + PartialEq + std::fmt::Debug {
    const OPTION: &'static str;
    fn name(self) -> &'static str;
    fn number(self) -> u8;
    fn from_number(n: u8) -> Option<Self>;
}

macro_rules! bond_option {
    ($ty:ty, $option:literal) => {
        impl BondOption for $ty {
            const OPTION: &'static str = $option;
            fn name(self) -> &'static str {
                <$ty>::name(self)
            }
            fn number(self) -> u8 {
                <$ty>::number(self)
            }
            fn from_number(n: u8) -> Option<Self> {
                <$ty>::from_number(n)
            }
        }
    };
}

bond_option!(Mode, "mode");
bond_option!(FailOverMac, "fail_over_mac");
bond_option!(XmitHashPolicy, "xmit_hash_policy");

fn check<T: BondOption>(text: &str) {
    match text.parse::<T>() {
        Ok(value) => {
            assert_eq!(value.to_string(), value.name());
            assert_eq!(value.name().parse::<T>().ok(), Some(value));
            assert_eq!(value.number().to_string().parse::<T>().ok(), Some(value));
            assert_eq!(T::from_number(value.number()), Some(value));
            assert_eq!(text.to_ascii_uppercase().parse::<T>().ok(), Some(value));
        }
        Err(err) => assert!(
            matches!(&err, Error::InvalidOption { option, value, .. }
                if *option == T::OPTION && value == text),
            "the error names the option and the value: {err:?}"
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check::<Mode>(text);
    check::<FailOverMac>(text);
    check::<XmitHashPolicy>(text);
});
