//! Reading JSON objects field by field, so that every error names the field's
//! full path, numbers may be written as strings, keys match in any ASCII
//! case, and unknown fields survive.

use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::Error;

/// What is being read: decides which error a bad field becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A network configuration: bad values are code 7.
    Config,
    /// A result or reply: bad values are decoding failures (code 6).
    Result,
}

/// A JSON object being taken apart; what is left over is the unknown fields.
#[derive(Debug)]
pub(crate) struct Obj {
    map: Map<String, Value>,
    prefix: String,
    kind: Kind,
    exact_keys: bool,
}

impl Obj {
    /// Parses `bytes` as a JSON object.
    pub(crate) fn parse(bytes: &[u8], input: &'static str, kind: Kind) -> Result<Obj, Error> {
        let value: Value =
            serde_json::from_slice(bytes).map_err(|source| Error::Json { input, source })?;
        Obj::from_value(value, String::new(), kind)
    }

    /// Takes `value` as the object at `path` (empty for the top level).
    pub(crate) fn from_value(value: Value, path: String, kind: Kind) -> Result<Obj, Error> {
        match value {
            Value::Object(map) => Ok(Obj {
                map,
                prefix: path,
                kind,
                exact_keys: false,
            }),
            other => Err(Error::WrongType {
                field: if path.is_empty() {
                    "(top level)".into()
                } else {
                    path
                },
                expected: "an object",
                found: describe(&other),
            }),
        }
    }

    /// Matches keys exactly from now on. For objects the reference tools
    /// read as a plain map (libcni reads a configuration list so), where
    /// `Plugins` is not `plugins`.
    pub(crate) fn with_exact_keys(mut self) -> Obj {
        self.exact_keys = true;
        self
    }

    /// The full path of `key` inside this object.
    pub(crate) fn path(&self, key: &str) -> String {
        join(&self.prefix, key)
    }

    /// The kind of input this object belongs to.
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }

    /// An error saying that `key` holds a bad value.
    pub(crate) fn invalid(&self, key: &str, message: impl Display) -> Error {
        invalid(self.kind, self.path(key), message)
    }

    fn wrong(&self, key: &str, expected: &'static str, found: &Value) -> Error {
        Error::WrongType {
            field: self.path(key),
            expected,
            found: describe(found),
        }
    }

    /// The spelling under which `key` is present: `key` itself or one that
    /// differs only in ASCII case, as Go's encoding/json (and so sriov-cni
    /// and bond-cni) matches struct fields. Two spellings of one key are an
    /// error naming both, since which one is meant cannot be known.
    fn spelling(&self, key: &str) -> Result<Option<String>, Error> {
        if self.exact_keys {
            return Ok(self.map.contains_key(key).then(|| key.to_string()));
        }
        let mut found = self.map.keys().filter(|k| k.eq_ignore_ascii_case(key));
        match (found.next(), found.next()) {
            (None, _) => Ok(None),
            (Some(one), None) => Ok(Some(one.clone())),
            (Some(a), Some(b)) => Err(self.invalid(
                key,
                format_args!("is given twice, as {a:?} and as {b:?}, expected one of them"),
            )),
        }
    }

    /// Removes `key` in whichever ASCII case it is spelled; JSON `null`
    /// counts as absent, as Go's decoders treat it.
    pub(crate) fn take(&mut self, key: &str) -> Result<Option<Value>, Error> {
        Ok(match self.spelling(key)? {
            Some(k) => self.map.remove(&k).filter(|v| !v.is_null()),
            None => None,
        })
    }

    /// Whether no field is left.
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(crate) fn string(&mut self, key: &str) -> Result<Option<String>, Error> {
        match self.take(key)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(key, "a string", &other)),
        }
    }

    /// A string field that must be present; `hint` says what it should hold.
    pub(crate) fn required_string(&mut self, key: &str, hint: &str) -> Result<String, Error> {
        self.string(key)?
            .ok_or_else(|| self.invalid(key, format_args!("missing, expected {hint}")))
    }

    /// A string field parsed by `parse`, whose error says what is wrong.
    pub(crate) fn parsed<T, E: Display>(
        &mut self,
        key: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Result<Option<T>, Error> {
        match self.string(key)? {
            None => Ok(None),
            Some(s) => parse(&s).map(Some).map_err(|why| self.invalid(key, why)),
        }
    }

    pub(crate) fn boolean(&mut self, key: &str) -> Result<Option<bool>, Error> {
        match self.take(key)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(other) => Err(self.wrong(key, "true or false", &other)),
        }
    }

    /// A whole number in `range`, written as a JSON number or as a string of
    /// digits (real configs write `"miimon": "100"`).
    pub(crate) fn number(
        &mut self,
        key: &str,
        range: RangeInclusive<u64>,
    ) -> Result<Option<u64>, Error> {
        let expected = format!("expected {}-{}", range.start(), range.end());
        self.number_where(key, |n| range.contains(&n), &expected)
    }

    /// A whole number for which `allowed` holds, written as [`Obj::number`]
    /// takes it; `expected` (such as `expected 0-4094`) ends every message
    /// about a number that is not allowed, whatever the number.
    pub(crate) fn number_where(
        &mut self,
        key: &str,
        allowed: impl Fn(u64) -> bool,
        expected: &str,
    ) -> Result<Option<u64>, Error> {
        let Some(value) = self.take(key)? else {
            return Ok(None);
        };
        match whole_number(&value) {
            Ok(n) if allowed(n) => Ok(Some(n)),
            Ok(n) => Err(self.invalid(key, format_args!("{n} is out of range, {expected}"))),
            Err(NumberError::WrongType) => Err(self.wrong(key, "a number", &value)),
            Err(NumberError::OutOfRange(shown)) => {
                Err(self.invalid(key, format_args!("{shown} is out of range, {expected}")))
            }
            Err(NumberError::NotWhole(shown)) => Err(self.invalid(
                key,
                format_args!("{shown} is not a whole number, {expected}"),
            )),
        }
    }

    /// A setting written as text that `T`'s parser reads, or as the
    /// kernel's number for it in a JSON number (bond-cni's configs write
    /// `"failOverMac": 1`), which `from_number` reads.
    pub(crate) fn name_or_number<T>(
        &mut self,
        key: &str,
        from_number: fn(u8) -> Option<T>,
    ) -> Result<Option<T>, Error>
    where
        T: FromStr,
        T::Err: Display,
    {
        let parsed = match self.take(key)? {
            None => return Ok(None),
            Some(Value::String(text)) => text.parse(),
            Some(Value::Number(n)) => {
                match n
                    .as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .and_then(from_number)
                {
                    Some(t) => Ok(t),
                    // The parser's error lists the names and numbers it takes.
                    None => n.to_string().parse(),
                }
            }
            Some(other) => return Err(self.wrong(key, "a string or a number", &other)),
        };
        parsed.map(Some).map_err(|why| self.invalid(key, why))
    }

    /// A JSON `true`/`false`, or one of the names in `names` in any case.
    pub(crate) fn bool_or_keyword(
        &mut self,
        key: &str,
        names: &[(&str, bool)],
    ) -> Result<Option<bool>, Error> {
        match self.take(key)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::String(text)) => find_name(names, &text).map(Some).ok_or_else(|| {
                let list: Vec<String> = names.iter().map(|(n, _)| format!("{n:?}")).collect();
                self.invalid(
                    key,
                    format_args!(
                        "{text:?} is not allowed, expected one of {}",
                        list.join(", ")
                    ),
                )
            }),
            Some(value) => Err(self.wrong(key, "a string, true or false", &value)),
        }
    }

    /// A yes/no setting written as `true`/`false`, `0`/`1` or `"0"`/`"1"`.
    pub(crate) fn flag(&mut self, key: &str) -> Result<Option<bool>, Error> {
        const EXPECTED: &str = "a JSON boolean true/false or the number 0/1";
        match self.take(key)? {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(value) => match whole_number(&value) {
                Ok(n @ (0 | 1)) => Ok(Some(n == 1)),
                Err(NumberError::WrongType) => Err(self.wrong(key, EXPECTED, &value)),
                _ => Err(self.invalid(
                    key,
                    format_args!("{} is not allowed, expected {EXPECTED}", describe(&value)),
                )),
            },
        }
    }

    pub(crate) fn object(&mut self, key: &str) -> Result<Option<Obj>, Error> {
        match self.take(key)? {
            None => Ok(None),
            Some(value) => Obj::from_value(value, self.path(key), self.kind).map(Some),
        }
    }

    pub(crate) fn array(&mut self, key: &str) -> Result<Option<Vec<Value>>, Error> {
        match self.take(key)? {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong(key, "a list", &other)),
        }
    }

    /// A list of strings, each parsed by `parse`; absent means empty.
    pub(crate) fn list<T, E: Display>(
        &mut self,
        key: &str,
        mut parse: impl FnMut(&str) -> Result<T, E>,
    ) -> Result<Vec<T>, Error> {
        let items = self.array(key)?.unwrap_or_default();
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            let field = format!("{key}[{i}]");
            match item {
                Value::String(s) => out.push(parse(&s).map_err(|why| self.invalid(&field, why))?),
                other => return Err(self.wrong(&field, "a string", &other)),
            }
        }
        Ok(out)
    }

    /// The fields nobody took: kept so that they are written back unchanged.
    pub(crate) fn into_rest(self) -> Map<String, Value> {
        self.map
    }
}

/// Why a value is not a whole number of `u64`; the strings show the value
/// as a message should.
pub(crate) enum NumberError {
    WrongType,
    NotWhole(String),
    OutOfRange(String),
}

/// Reads a whole number from a JSON number or a string of digits.
pub(crate) fn whole_number(value: &Value) -> Result<u64, NumberError> {
    match value {
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => Ok(u),
            (None, Some(i)) => Err(NumberError::OutOfRange(i.to_string())),
            (None, None) => Err(NumberError::NotWhole(n.to_string())),
        },
        Value::String(s) => {
            let t = s.trim();
            let digits = t.strip_prefix('-').unwrap_or(t);
            match t.parse::<u64>() {
                Ok(u) => Ok(u),
                // Negative, or more digits than fit: a number, just not one
                // in range.
                Err(_) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                    Err(NumberError::OutOfRange(t.to_string()))
                }
                Err(_) => Err(NumberError::NotWhole(format!("{s:?}"))),
            }
        }
        _ => Err(NumberError::WrongType),
    }
}

pub(crate) fn invalid(kind: Kind, field: String, message: impl Display) -> Error {
    let message = message.to_string();
    match kind {
        Kind::Config => Error::InvalidConfig { field, message },
        Kind::Result => Error::InvalidResult { field, message },
    }
}

/// For [`Obj::list`] of plain strings: any text is fine.
pub(crate) fn any_text(s: &str) -> Result<String, std::convert::Infallible> {
    Ok(s.to_string())
}

pub(crate) fn join(prefix: &str, key: &str) -> String {
    match (prefix.is_empty(), key.starts_with('[')) {
        (true, _) => key.to_string(),
        (false, true) => format!("{prefix}{key}"),
        (false, false) => format!("{prefix}.{key}"),
    }
}

/// How a JSON value is named in an error message.
pub(crate) fn describe(value: &Value) -> String {
    match value {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("{b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// The value `text` names in a keyword table, in any case and ignoring
/// surrounding spaces.
pub(crate) fn find_name<T: Copy>(names: &[(&str, T)], text: &str) -> Option<T> {
    names
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(text.trim()))
        .map(|(_, t)| *t)
}

/// The name `value` has in a keyword table.
pub(crate) fn name_of<T: PartialEq + Copy>(table: &[(&'static str, T)], value: T) -> &'static str {
    table
        .iter()
        .find(|(_, t)| *t == value)
        .map(|(n, _)| *n)
        .unwrap_or_default()
}

/// Writes `value` under `key` when there is one.
pub(crate) fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v.into());
    }
}

/// Writes a list of displayable items under `key` unless it is empty.
pub(crate) fn put_list<T: Display>(map: &mut Map<String, Value>, key: &str, items: &[T]) {
    if !items.is_empty() {
        let list = items.iter().map(|i| Value::String(i.to_string())).collect();
        map.insert(key.to_string(), Value::Array(list));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Obj {
        Obj::from_value(v, "runtimeConfig".into(), Kind::Config).unwrap()
    }

    #[test]
    fn numbers_may_be_strings() {
        let mut o = obj(json!({"a": "100", "b": 7, "c": " 3 "}));
        assert_eq!(o.number("a", 0..=1000).unwrap(), Some(100));
        assert_eq!(o.number("b", 0..=10).unwrap(), Some(7));
        assert_eq!(o.number("c", 0..=10).unwrap(), Some(3));
        assert_eq!(o.number("missing", 0..=10).unwrap(), None);
    }

    #[test]
    fn number_errors_name_the_full_path_and_the_range() {
        let mut o = obj(json!({"a": -1, "b": "x", "c": 1.5, "d": [1], "e": 11}));
        let msg = |r: Result<Option<u64>, Error>| r.unwrap_err().to_string();
        assert_eq!(
            msg(o.number("a", 0..=10)),
            "runtimeConfig.a: -1 is out of range, expected 0-10"
        );
        assert_eq!(
            msg(o.number("b", 0..=10)),
            "runtimeConfig.b: \"x\" is not a whole number, expected 0-10"
        );
        assert!(msg(o.number("c", 0..=10)).contains("1.5 is not a whole number"));
        assert_eq!(
            msg(o.number("d", 0..=10)),
            "runtimeConfig.d: expected a number, found a list"
        );
        assert_eq!(
            msg(o.number("e", 0..=10)),
            "runtimeConfig.e: 11 is out of range, expected 0-10"
        );
    }

    #[test]
    fn null_is_absent_and_unknown_fields_are_kept() {
        let mut o = obj(json!({"a": null, "keep": {"x": 1}}));
        assert_eq!(o.string("a").unwrap(), None);
        let rest = o.into_rest();
        assert_eq!(rest.get("keep"), Some(&json!({"x": 1})));
        assert!(!rest.contains_key("a"));
    }

    #[test]
    fn keys_match_in_any_ascii_case_unless_exact() {
        let mut o = obj(json!({"MIIMON": "100", "Mode": 1, "other": true}));
        assert_eq!(o.number("miimon", 0..=1000).unwrap(), Some(100));
        assert_eq!(o.number("mode", 0..=6).unwrap(), Some(1));
        assert_eq!(o.string("Missing").unwrap(), None);
        // What was not taken stays, spelled as it was.
        assert_eq!(o.into_rest().keys().collect::<Vec<_>>(), ["other"]);

        let mut o = obj(json!({"Plugins": []})).with_exact_keys();
        assert_eq!(o.array("plugins").unwrap(), None);
        assert!(o.into_rest().contains_key("Plugins"));
    }

    #[test]
    fn two_spellings_of_one_key_are_an_error_naming_both() {
        let mut o = obj(json!({"vlan": 1, "Vlan": 2}));
        let err = o.number("vlan", 0..=4094).unwrap_err();
        assert_eq!(err.code(), crate::codes::INVALID_NETWORK_CONFIG);
        assert_eq!(
            err.to_string(),
            "runtimeConfig.vlan: is given twice, as \"Vlan\" and as \"vlan\", expected one of them"
        );
    }

    #[test]
    fn list_items_are_named_by_index() {
        let mut o = obj(json!({"ips": ["a", 5]}));
        let err = o.list("ips", any_text).unwrap_err();
        assert_eq!(
            err.to_string(),
            "runtimeConfig.ips[1]: expected a string, found the number 5"
        );
    }
}
