//! Bond option values (`mode`, `fail_over_mac`, `xmit_hash_policy`) as
//! configs write them, and the rules on how options combine
//! (`BondOptions::check`): parsing never panics, a value's canonical name
//! and number parse back to it, case does not matter, an error holds the
//! input, and options that pass the check are ones the kernel keeps as
//! given.
#![no_main]

use std::fmt::Display;
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use netplumb_types::{BondMode, BondOptions, Error, FailOverMac, IfName, XmitHashPolicy};

/// What the three enumerations share.
trait Keyword: FromStr<Err = Error> + Display + Copy + PartialEq + std::fmt::Debug {
    fn name(self) -> &'static str;
    fn number(self) -> u8;
    fn from_number(n: u8) -> Option<Self>;
}

macro_rules! keyword {
    ($ty:ty) => {
        impl Keyword for $ty {
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

keyword!(BondMode);
keyword!(FailOverMac);
keyword!(XmitHashPolicy);

fn check<T: Keyword>(text: &str) {
    match text.parse::<T>() {
        Ok(value) => {
            assert_eq!(value.to_string(), value.name());
            assert_eq!(value.name().parse::<T>().ok(), Some(value));
            assert_eq!(value.number().to_string().parse::<T>().ok(), Some(value));
            assert_eq!(T::from_number(value.number()), Some(value));
            assert_eq!(text.to_ascii_uppercase().parse::<T>().ok(), Some(value));
        }
        Err(err) => assert!(
            matches!(&err, Error::Keyword { value, .. } if value == text),
            "the error holds the input: {err:?}"
        ),
    }
}

/// Options built from the input's bytes, checked against two or three
/// ports: the check never panics, and what passes has delays the kernel
/// keeps as they are (multiples of the monitoring it has).
fn check_options(data: &[u8]) {
    let byte = |i: usize| data.get(i).copied().unwrap_or(0);
    let word = |i: usize| u32::from_le_bytes([byte(i), byte(i + 1), byte(i + 2), byte(i + 3)]);
    let Some(mode) = BondMode::from_number(byte(0) % 8) else {
        return;
    };
    let mut options = BondOptions::new(mode);
    let maybe = |flag: u8, value: u32| (flag & 1 == 1).then_some(value);
    options.miimon = maybe(byte(1), word(2) % 1000);
    options.updelay = maybe(byte(1) >> 1, word(6) % 5000);
    options.downdelay = maybe(byte(1) >> 2, word(10));
    options.tlb_dynamic_lb = maybe(byte(1) >> 3, 0).map(|_| true);
    let ports: Vec<IfName> = ["net1", "net2", "net3"][..2 + usize::from(byte(14) % 2)]
        .iter()
        .map(|n| n.parse().unwrap())
        .collect();
    options.primary = maybe(byte(1) >> 4, 0).map(|_| ports[usize::from(byte(15)) % ports.len()]);
    if options.check(&ports).is_ok() {
        let miimon = options.effective_miimon();
        for delay in [options.updelay, options.downdelay].into_iter().flatten() {
            assert!(delay == 0 || (miimon > 0 && delay % miimon == 0), "{options:?}");
        }
        assert!(options.primary.is_none() || mode.supports_primary(), "{options:?}");
        assert!(options.tlb_dynamic_lb.is_none() || mode.supports_tlb_dynamic_lb());
    }
}

fuzz_target!(|data: &[u8]| {
    check_options(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    check::<BondMode>(text);
    check::<FailOverMac>(text);
    check::<XmitHashPolicy>(text);
});
