//! The address check every provider applies, in the loose form they share: one `@`, a
//! non-empty local part, a dotted domain, no whitespace.

pub fn is_valid(address: &str) -> bool {
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !address.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn accepts_ordinary_addresses_and_rejects_broken_ones() {
        assert!(is_valid("lead@example.com"));
        assert!(is_valid("first.last+tag@sub.example.co.uk"));
        for bad in [
            "",
            "lead",
            "@example.com",
            "lead@",
            "lead@example",
            "a b@example.com",
            "a@b@c.com",
            "lead@.com",
        ] {
            assert!(!is_valid(bad), "{bad} should be invalid");
        }
    }
}
