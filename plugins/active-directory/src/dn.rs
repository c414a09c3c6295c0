//! Distinguished names, filter values and GUIDs as AD writes them.

/// Escapes a value for an RFC 4515 search filter.
pub fn filter_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            other => out.push(other),
        }
    }
    out
}

/// Escapes an attribute value for use in an RDN (RFC 4514).
pub fn rdn_value(value: &str) -> String {
    let last = value.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(value.len());
    for (i, ch) in value.chars().enumerate() {
        let edge_space = ch == ' ' && (i == 0 || i == last);
        if matches!(ch, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || edge_space
            || (i == 0 && ch == '#')
        {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// Splits a DN into its first RDN and its parent at the first unescaped comma.
pub fn split_rdn(dn: &str) -> (&str, &str) {
    let mut escaped = false;
    for (i, ch) in dn.char_indices() {
        match ch {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => return (&dn[..i], dn[i + 1..].trim_start()),
            _ => {}
        }
    }
    (dn, "")
}

/// DNs compare without case and without spaces after separators.
pub fn same_dn(a: &str, b: &str) -> bool {
    let norm = |dn: &str| {
        dn.split(',')
            .map(|part| part.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    norm(a) == norm(b)
}

/// The text form of an objectGUID (its first three fields are little-endian).
pub fn guid_text(bytes: &[u8]) -> Option<String> {
    let b: &[u8; 16] = bytes.try_into().ok()?;
    Some(format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]
    ))
}

/// A GUID's text form as an escaped binary filter value, e.g. `\67\45\23\01...`.
pub fn guid_filter_value(text: &str) -> Option<String> {
    let hex: String = text.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| &hex[i * 2..i * 2 + 2];
    // The wire order of the text's bytes: the first three fields reversed.
    let order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
    Some(order.iter().map(|&i| format!("\\{}", byte(i))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_are_escaped() {
        assert_eq!(filter_value("a*b(c)\\"), "a\\2ab\\28c\\29\\5c");
    }

    #[test]
    fn rdn_values_are_escaped() {
        assert_eq!(rdn_value("Doe, Jane"), "Doe\\, Jane");
        assert_eq!(rdn_value("#x "), "\\#x\\ ");
        assert_eq!(rdn_value(" x#"), "\\ x#");
        assert_eq!(rdn_value("Jane Doe"), "Jane Doe");
    }

    #[test]
    fn the_first_rdn_ends_at_an_unescaped_comma() {
        assert_eq!(
            split_rdn("CN=Doe\\, Jane,OU=Staff,DC=x"),
            ("CN=Doe\\, Jane", "OU=Staff,DC=x")
        );
        assert_eq!(split_rdn("DC=x"), ("DC=x", ""));
        assert!(same_dn("OU=Staff, DC=X", "ou=staff,dc=x"));
        assert!(!same_dn("OU=Sales,DC=x", "OU=Staff,DC=x"));
    }

    #[test]
    fn guids_round_trip_between_bytes_text_and_filter() {
        let bytes: Vec<u8> = (0u8..16).collect();
        let text = guid_text(&bytes).expect("16 bytes");
        assert_eq!(text, "03020100-0504-0706-0809-0a0b0c0d0e0f");
        let filter = guid_filter_value(&text).expect("a GUID");
        let expected: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
        assert_eq!(filter, expected);
        assert_eq!(guid_filter_value("not-a-guid"), None);
        assert_eq!(guid_text(&[1, 2]), None);
    }
}
