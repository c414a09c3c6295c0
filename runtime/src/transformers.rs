//! Transformers: Rhai scripts in `playbooks/transformers/` with a `transform(input)`
//! function (OU mapping, password generation, sAMAccountName, …) that playbooks and mappers
//! call and an administrator edits.

use crate::scripting::{self, ScriptCache};
use anyhow::Result;
use serde_json::Value;
use std::path::Path;

pub struct Transformers(ScriptCache);

impl Transformers {
    pub fn new(dir: &Path) -> Self {
        Self(ScriptCache::new(dir, "transformer", scripting::engine()))
    }

    pub fn names(&self) -> Result<Vec<String>> {
        self.0.names()
    }

    /// Runs transformer `name` on `input`; a failure of the script is a
    /// [`crate::scripting::ScriptError`].
    pub fn run(&self, name: &str, input: &Value) -> Result<Value> {
        let script = self.0.get(name)?;
        Ok(script.call("transform", std::slice::from_ref(input))?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipped() -> Transformers {
        Transformers::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks/transformers"))
    }

    fn password(input: Value) -> Result<String> {
        let out = shipped().run("generate-password", &input)?;
        Ok(out["NEW_PASSWORD"].as_str().unwrap_or_default().to_owned())
    }

    #[test]
    fn s48_exact_class_counts() {
        let input = json!({"min_lcase": 2, "max_lcase": 2, "min_ucase": 2, "max_ucase": 2,
                           "min_digits": 2, "max_digits": 2, "min_symbols": 2, "max_symbols": 2});
        for _ in 0..20 {
            let p = password(input.clone()).unwrap();
            assert_eq!(p.chars().count(), 8, "{p}");
            let count = |f: fn(&char) -> bool| p.chars().filter(f).count();
            assert_eq!(count(char::is_ascii_lowercase), 2, "{p}");
            assert_eq!(count(char::is_ascii_uppercase), 2, "{p}");
            assert_eq!(count(char::is_ascii_digit), 2, "{p}");
            assert_eq!(
                count(|c| "!@#$%^&*()[]+:\"?_><=';/-.,\\|".contains(*c)),
                2,
                "{p}"
            );
        }
    }

    #[test]
    fn passwords_differ_and_respect_ranges() {
        let input = json!({"min_lcase": 4, "max_lcase": 8, "min_ucase": 2, "min_digits": 2, "max_digits": 3, "min_symbols": 1, "max_symbols": 1, "max_ucase": 2});
        let a = password(input.clone()).unwrap();
        let b = password(input).unwrap();
        assert_ne!(a, b);
        assert!((9..=14).contains(&a.len()), "{a}");
    }

    #[test]
    fn s49_all_minimums_zero_is_an_error() {
        let err = password(json!({})).unwrap_err().to_string();
        assert!(
            err.contains("At least one of the following arguments should be above 0"),
            "{err}"
        );
    }

    #[test]
    fn s50_negative_is_an_error() {
        let err = password(json!({"min_digits": -1, "min_lcase": 3}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("All numeral arguments must be positive."),
            "{err}"
        );
    }

    #[test]
    fn ou_mapping_picks_the_first_matching_row() {
        let t = shipped();
        let us = t
            .run(
                "ou-mapping",
                &json!({"department": "Engineering", "countryname": "United States"}),
            )
            .unwrap();
        assert_eq!(
            us,
            json!("OU=Engineering,OU=US,OU=Staff,DC=example,DC=test")
        );
        let other = t
            .run(
                "ou-mapping",
                &json!({"department": "engineering", "countryname": "France"}),
            )
            .unwrap();
        assert_eq!(other, json!("OU=Engineering,OU=Staff,DC=example,DC=test"));
    }

    #[test]
    fn an_unmapped_user_is_an_error_naming_the_values() {
        let err = shipped()
            .run(
                "ou-mapping",
                &json!({"department": "Legal", "location": "Paris"}),
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no OU mapping for department \"Legal\", location \"Paris\""),
            "{err}"
        );
    }

    #[test]
    fn samaccountname_follows_ad_rules() {
        let t = shipped();
        assert_eq!(
            t.run("samaccountname", &json!({"email": "Jane.Doe@acme.test"}))
                .unwrap(),
            json!("jane.doe")
        );
        assert_eq!(
            t.run(
                "samaccountname",
                &json!({"email": "averyveryverylongname.x@acme.test"})
            )
            .unwrap(),
            json!("averyveryverylongnam")
        );
        assert_eq!(
            t.run("samaccountname", &json!("a+b.@x.test")).unwrap(),
            json!("ab")
        );
        assert!(t.run("samaccountname", &json!({})).is_err());
    }
}
