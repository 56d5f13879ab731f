//! The few OData query expressions the stand-in understands: the extended-property `any`
//! filter and the extended-property `$expand`. String literals use `'` quotes with `''`
//! as the escaped quote.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Literal(String),
    Open,
    Close,
    Colon,
    Equals,
}

fn tokenize(input: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut chars = input.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | ':' | '=' => {
                chars.next();
                tokens.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    ':' => Token::Colon,
                    _ => Token::Equals,
                });
            }
            '\'' => {
                chars.next();
                let mut literal = String::new();
                loop {
                    match chars.next()? {
                        '\'' if chars.peek() == Some(&'\'') => {
                            chars.next();
                            literal.push('\'');
                        }
                        '\'' => break,
                        other => literal.push(other),
                    }
                }
                tokens.push(Token::Literal(literal));
            }
            c if c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '$') => {
                let mut word = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '$') {
                        word.push(c);
                        chars.next();
                    } else {
                        break;
                    }
                }
                tokens.push(Token::Word(word));
            }
            _ => return None,
        }
    }
    Some(tokens)
}

fn word(token: Option<&Token>, expected: &str) -> Option<()> {
    match token {
        Some(Token::Word(w)) if w.eq_ignore_ascii_case(expected) => Some(()),
        _ => None,
    }
}

/// `singleValueExtendedProperties/Any(ep: ep/id eq '<id>' and ep/value eq '<value>')`
/// (either order of the two comparisons) → `(id, value)`.
pub fn parse_property_filter(filter: &str) -> Option<(String, String)> {
    let tokens = tokenize(filter)?;
    let mut it = tokens.iter();
    word(it.next(), "singleValueExtendedProperties/any")?;
    (it.next()? == &Token::Open).then_some(())?;
    let Token::Word(var) = it.next()? else {
        return None;
    };
    (it.next()? == &Token::Colon).then_some(())?;
    let mut id = None;
    let mut value = None;
    for i in 0..2 {
        if i == 1 {
            word(it.next(), "and")?;
        }
        let Token::Word(path) = it.next()? else {
            return None;
        };
        word(it.next(), "eq")?;
        let Token::Literal(literal) = it.next()? else {
            return None;
        };
        let (v, member) = path.split_once('/')?;
        if v != var {
            return None;
        }
        let slot = if member.eq_ignore_ascii_case("id") {
            &mut id
        } else if member.eq_ignore_ascii_case("value") {
            &mut value
        } else {
            return None;
        };
        if slot.replace(literal.clone()).is_some() {
            return None;
        }
    }
    (it.next()? == &Token::Close).then_some(())?;
    it.next().is_none().then_some(())?;
    Some((id?, value?))
}

/// `singleValueExtendedProperties($filter=id eq '<id>')` → the property id.
pub fn parse_property_expand(expand: &str) -> Option<String> {
    let tokens = tokenize(expand)?;
    let mut it = tokens.iter();
    word(it.next(), "singleValueExtendedProperties")?;
    (it.next()? == &Token::Open).then_some(())?;
    word(it.next(), "$filter")?;
    (it.next()? == &Token::Equals).then_some(())?;
    word(it.next(), "id")?;
    word(it.next(), "eq")?;
    let Token::Literal(id) = it.next()? else {
        return None;
    };
    (it.next()? == &Token::Close).then_some(())?;
    it.next().is_none().then_some(())?;
    Some(id.clone())
}

/// `String {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx} Name <name>`.
pub fn is_valid_property_id(id: &str) -> bool {
    let Some(rest) = strip_prefix_ci(id.trim(), "String {") else {
        return false;
    };
    let Some((guid, rest)) = rest.split_once('}') else {
        return false;
    };
    let groups: Vec<&str> = guid.split('-').collect();
    let guid_ok = groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    guid_ok && strip_prefix_ci(rest, " Name ").is_some_and(|name| !name.trim().is_empty())
}

/// The `<name>` of `String {guid} Name <name>`.
pub fn property_name(id: &str) -> Option<&str> {
    let (_, rest) = id.split_once('}')?;
    strip_prefix_ci(rest, " Name ").map(str::trim)
}

/// Property ids compare case-insensitively (Exchange normalises them).
pub fn same_property_id(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name booking_id";

    #[test]
    fn any_filters_parse_with_escaped_quotes_in_either_order() {
        let f = format!(
            "singleValueExtendedProperties/Any(ep: ep/id eq '{ID}' and ep/value eq 'O''Brien')"
        );
        assert_eq!(
            parse_property_filter(&f),
            Some((ID.to_owned(), "O'Brien".to_owned()))
        );
        let g = format!("singleValueExtendedProperties/any(x:x/value eq 'v' and x/id eq '{ID}')");
        assert_eq!(
            parse_property_filter(&g),
            Some((ID.to_owned(), "v".to_owned()))
        );
        assert_eq!(parse_property_filter("subject eq 'x'"), None);
        assert_eq!(
            parse_property_filter(&format!(
                "singleValueExtendedProperties/Any(ep: ep/id eq '{ID}')"
            )),
            None
        );
        assert_eq!(
            parse_property_filter(&format!(
                "singleValueExtendedProperties/Any(ep: ep/id eq '{ID}' and ep/value eq 'unterminated)"
            )),
            None
        );
    }

    #[test]
    fn expands_parse() {
        assert_eq!(
            parse_property_expand(&format!(
                "singleValueExtendedProperties($filter=id eq '{ID}')"
            )),
            Some(ID.to_owned())
        );
        assert_eq!(parse_property_expand("attachments"), None);
    }

    #[test]
    fn property_ids_need_a_guid_and_a_name() {
        assert!(is_valid_property_id(ID));
        assert_eq!(property_name(ID), Some("booking_id"));
        assert!(!is_valid_property_id("booking_id"));
        assert!(!is_valid_property_id("String {not-a-guid} Name x"));
        assert!(!is_valid_property_id(
            "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name "
        ));
    }
}
