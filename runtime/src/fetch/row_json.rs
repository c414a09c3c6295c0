//! A report row's (or a stored profile's) JSON text read without building a JSON value: its
//! members as keys and values borrowed from the text (a string is copied only when it has
//! escapes). A realistic row has about 45 members; as a `serde_json::Value` each is a
//! hashed map entry and a heap string or two, which made parsing most of a fetch's time.

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// A member's value: a string, or any other JSON value.
#[derive(Debug)]
pub(super) enum Member<'r> {
    Str(Cow<'r, str>),
    Other(Value),
}

/// What a row's text holds.
pub(super) enum RowJson<'r> {
    /// Its members, in the order of the text.
    Object(Vec<(Cow<'r, str>, Member<'r>)>),
    /// Not an object: the JSON type it is ("an array").
    Not(&'static str),
}

/// Reads a row's text.
pub(super) fn parse(text: &str) -> serde_json::Result<RowJson<'_>> {
    if !text.trim_start().starts_with('{') {
        let value: Value = serde_json::from_str(text)?;
        return Ok(RowJson::Not(super::values::json_type(&value)));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_map(MembersVisitor)?;
    de.end()?;
    Ok(RowJson::Object(members))
}

struct MembersVisitor;

impl<'r> Visitor<'r> for MembersVisitor {
    type Value = Vec<(Cow<'r, str>, Member<'r>)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'r>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(48));
        while let Some(Key(key)) = map.next_key()? {
            members.push((key, map.next_value()?));
        }
        Ok(members)
    }
}

/// A member's key.
pub(super) struct Key<'r>(pub Cow<'r, str>);

impl<'r> Deserialize<'r> for Key<'r> {
    fn deserialize<D: Deserializer<'r>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_str(StrVisitor).map(Key)
    }
}

impl<'r> Deserialize<'r> for Member<'r> {
    fn deserialize<D: Deserializer<'r>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_any(MemberVisitor)
    }
}

/// A string, borrowed when it has no escapes.
struct StrVisitor;

impl<'r> Visitor<'r> for StrVisitor {
    type Value = Cow<'r, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'r str) -> Result<Cow<'r, str>, E> {
        Ok(Cow::Borrowed(s))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Cow<'r, str>, E> {
        Ok(Cow::Owned(s.to_owned()))
    }
}

struct MemberVisitor;

impl<'r> Visitor<'r> for MemberVisitor {
    type Value = Member<'r>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'r str) -> Result<Member<'r>, E> {
        StrVisitor.visit_borrowed_str(s).map(Member::Str)
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Member<'r>, E> {
        StrVisitor.visit_str(s).map(Member::Str)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Member<'r>, E> {
        Ok(Member::Other(Value::Null))
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Member<'r>, E> {
        Ok(Member::Other(Value::Bool(b)))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Member<'r>, E> {
        Ok(Member::Other(Value::from(n)))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Member<'r>, E> {
        Ok(Member::Other(Value::from(n)))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Member<'r>, E> {
        Ok(Member::Other(Value::from(n)))
    }

    fn visit_seq<A: SeqAccess<'r>>(self, seq: A) -> Result<Member<'r>, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Member::Other)
    }

    fn visit_map<A: MapAccess<'r>>(self, map: A) -> Result<Member<'r>, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(Member::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_borrowed_unless_escaped_and_keep_their_order() {
        let text = r#"{"b": "plain", "a\u00e9": "tab\there", "n": 1.5, "o": {"x": [null]}, "f": false, "z": null}"#;
        let RowJson::Object(members) = parse(text).unwrap() else {
            panic!("an object");
        };
        let keys: Vec<&str> = members.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["b", "aé", "n", "o", "f", "z"]);
        assert!(matches!(
            &members[0],
            (Cow::Borrowed(_), Member::Str(Cow::Borrowed("plain")))
        ));
        assert!(
            matches!(&members[1], (Cow::Owned(_), Member::Str(Cow::Owned(s))) if s == "tab\there")
        );
        assert!(matches!(&members[2].1, Member::Other(v) if *v == json!(1.5)));
        assert!(matches!(&members[3].1, Member::Other(v) if *v == json!({"x": [null]})));
        assert!(matches!(&members[4].1, Member::Other(Value::Bool(false))));
        assert!(matches!(&members[5].1, Member::Other(Value::Null)));
    }

    #[test]
    fn a_row_that_is_no_object_says_what_it_is() {
        for (text, found) in [
            ("[1]", "an array"),
            (" \"x\"", "a string"),
            ("null", "null"),
        ] {
            assert!(
                matches!(parse(text), Ok(RowJson::Not(f)) if f == found),
                "{text}"
            );
        }
        for bad in ["{\"a\": ", "{\"a\": 1} x", "{1: 2}"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
