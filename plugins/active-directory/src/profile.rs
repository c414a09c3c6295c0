//! The outgoing-mapped profile (playbooks/mappers/active-directory.rhai) split into what
//! places the account (sAMAccountName, OU, CN, DN, manager) and the attributes written.

use ilm_plugin_sdk::{app_error, AppError};
use serde_json::Value;

/// A mapped profile. The keys `ou`, `cn`, `dn` and `manageremail` are not attributes of the
/// entry: `ou` places it, `cn` names it, `dn` overrides both, `manageremail`
/// becomes `manager`.
pub struct Mapped {
    pub sam: String,
    /// The DN of the OU the account belongs in.
    pub ou: String,
    pub cn: Option<String>,
    pub dn: Option<String>,
    pub manager_email: Option<String>,
    /// Real attributes with their values (sAMAccountName included), empty values dropped.
    pub attributes: Vec<(String, Vec<String>)>,
}

impl Mapped {
    /// Parses and checks a mapped profile: sAMAccountName and ou are required.
    pub fn parse(profile: &str) -> Result<Self, AppError> {
        let map = ilm_plugin_sdk::json_object(profile, "the mapped user profile")?;
        let mut mapped = Mapped {
            sam: String::new(),
            ou: String::new(),
            cn: None,
            dn: None,
            manager_email: None,
            attributes: Vec::new(),
        };
        for (key, value) in &map {
            let values = texts(value);
            let first = values.first().cloned();
            match key.to_ascii_lowercase().as_str() {
                "ou" => mapped.ou = first.unwrap_or_default(),
                "cn" => mapped.cn = first,
                "dn" => mapped.dn = first,
                "manageremail" => mapped.manager_email = first,
                lower => {
                    if lower == "samaccountname" {
                        mapped.sam = first.unwrap_or_default();
                    }
                    if !values.is_empty() {
                        mapped.attributes.push((key.clone(), values));
                    }
                }
            }
        }
        if mapped.sam.is_empty() {
            return Err(app_error(
                "400",
                "the mapped profile has no sAMAccountName: the Active Directory outgoing mapper must produce one, e.g. sAMAccountName: transform(\"samaccountname\", profile) in playbooks/mappers/active-directory.rhai",
            ));
        }
        if mapped.ou.is_empty() {
            return Err(app_error(
                "400",
                format!(
                    "the mapped profile of {} has no ou (the DN of the user's OU): the Active Directory outgoing mapper needs an OU transformer, e.g. ou: transform(\"ou-mapping\", profile), and playbooks/transformers/ou-mapping.rhai a row that matches this user",
                    mapped.sam
                ),
            ));
        }
        Ok(mapped)
    }

    /// The mapped value of attribute `name`, if any.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.first())
            .map(String::as_str)
    }
}

/// A mapped value as LDAP values: scalars as text, lists flattened; nulls and empty texts
/// dropped (AD refuses empty values).
fn texts(value: &Value) -> Vec<String> {
    match value {
        Value::Null => Vec::new(),
        Value::String(s) if s.trim().is_empty() => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Bool(b) => vec![if *b { "TRUE" } else { "FALSE" }.to_owned()],
        Value::Number(n) => vec![n.to_string()],
        Value::Array(items) => items.iter().flat_map(texts).collect(),
        Value::Object(_) => vec![value.to_string()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudo_keys_are_split_off_and_empty_values_dropped() {
        let mapped = Mapped::parse(
            r#"{"sAMAccountName":"jdoe","ou":"OU=Staff,DC=x","cn":"Jane Doe","manageremail":"boss@x.test",
                "title":"Engineer","description":"","mobile":null,"otherMailbox":["a","b"],"employeeID":42}"#,
        )
        .expect("valid");
        assert_eq!(
            (mapped.sam.as_str(), mapped.ou.as_str()),
            ("jdoe", "OU=Staff,DC=x")
        );
        assert_eq!(mapped.cn.as_deref(), Some("Jane Doe"));
        assert_eq!(mapped.manager_email.as_deref(), Some("boss@x.test"));
        let names: Vec<&str> = mapped.attributes.iter().map(|(n, _)| n.as_str()).collect();
        // serde_json's maps are sorted here (no preserve_order in the guest).
        assert_eq!(
            names,
            ["employeeID", "otherMailbox", "sAMAccountName", "title"]
        );
        assert_eq!(mapped.value("employeeid"), Some("42"));
    }

    #[test]
    fn sam_and_ou_are_required_with_guidance() {
        let no_ou = Mapped::parse(r#"{"sAMAccountName":"jdoe"}"#)
            .err()
            .expect("no ou");
        assert_eq!(no_ou.code, "400");
        assert!(no_ou.message.contains("ou-mapping"), "{}", no_ou.message);
        let no_sam = Mapped::parse(r#"{"ou":"OU=Staff,DC=x"}"#)
            .err()
            .expect("no sam");
        assert!(
            no_sam.message.contains("samaccountname"),
            "{}",
            no_sam.message
        );
    }
}
