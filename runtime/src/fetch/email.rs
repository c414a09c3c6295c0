//! Email address syntax for report values. An address is accepted only in the plain
//! `local@domain.tld` form (RFC 5322 dot-atom, internationalized letters allowed): no
//! quoting, comments, spaces, brackets or IP literals. Addresses become profile keys, LDAP
//! and SCIM filter values and mail headers, and no legitimate HR address needs more, so
//! anything else is refused with the reason rather than provisioned.

/// Characters RFC 5322 allows in an unquoted local part besides letters and digits.
const LOCAL_SYMBOLS: &str = "!#$%&'*+-/=?^_`{|}~.";

/// Longest address (RFC 5321: a 256-octet path less the angle brackets).
const MAX_ADDRESS: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

/// Why `text` is not an email address, or `Ok` when it is one.
pub fn check(text: &str) -> Result<(), &'static str> {
    if text.len() > MAX_ADDRESS {
        return Err("it is longer than 254 bytes");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains a space or a control character");
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err("it has no @");
    };
    check_local(local)?;
    check_domain(domain)
}

fn check_local(local: &str) -> Result<(), &'static str> {
    if local.is_empty() {
        return Err("nothing comes before the @");
    }
    if local.len() > MAX_LOCAL {
        return Err("the part before the @ is longer than 64 bytes");
    }
    if local.contains('@') {
        return Err("it has more than one @");
    }
    if !local
        .chars()
        .all(|c| c.is_alphanumeric() || LOCAL_SYMBOLS.contains(c))
    {
        return Err("the part before the @ has a character an address cannot have unquoted");
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err("the part before the @ starts or ends with a dot, or has two in a row");
    }
    Ok(())
}

fn check_domain(domain: &str) -> Result<(), &'static str> {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err("the domain has no dot (e.g. acme.com)");
    }
    for label in &labels {
        if label.is_empty() || label.len() > MAX_LABEL {
            return Err("the domain has an empty part or one longer than 63 bytes");
        }
        if !label.chars().all(|c| c.is_alphanumeric() || c == '-')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err("the domain has a character a domain name cannot have");
        }
    }
    if labels
        .last()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err("the domain ends in a number, not a name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn plain_addresses_pass() {
        for ok in [
            "jane.doe@example.com",
            "j+hr@sub.acme.co.uk",
            "o'brien@acme.test",
            "x_y-z@a-b.io",
            "müller@bücher.de",
            "1001@acme.test",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_refused_with_a_reason() {
        for (bad, reason) in [
            ("42", "no @"),
            ("", "no @"),
            ("@acme.test", "nothing comes before"),
            ("a@b@acme.test", "more than one @"),
            ("jane doe@acme.test", "space"),
            ("jane@acme.test\n", "control"),
            ("\"jane\"@acme.test", "cannot have unquoted"),
            ("jane)(uid=*@acme.test", "cannot have unquoted"),
            ("<jane@acme.test>", "cannot have unquoted"),
            (".jane@acme.test", "dot"),
            ("ja..ne@acme.test", "two in a row"),
            ("jane@localhost", "no dot"),
            ("jane@acme..test", "empty part"),
            ("jane@-acme.test", "cannot have"),
            ("jane@[10.0.0.1]", "cannot have"),
            ("jane@10.0.0.1", "ends in a number"),
            ("jane@acme.test,bob@acme.test", "more than one @"),
        ] {
            let got = check(bad).expect_err(bad);
            assert!(got.contains(reason), "{bad:?}: {got}");
        }
        let long_local = format!("{}@acme.test", "a".repeat(65));
        assert!(check(&long_local).unwrap_err().contains("64"));
        let long = format!("a@{}.test", "b.".repeat(130));
        assert!(check(&long).unwrap_err().contains("254"));
    }
}
