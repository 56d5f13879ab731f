//! Percent-encoding for the URLs the sandbox writes: its own client's requests, and the
//! `@odata.nextLink`/`deltaLink` URLs Graph's stand-in hands out.

/// Percent-encodes one path segment or query value: every byte but RFC 3986's unreserved
/// characters (refresh tokens and ids may hold any character, user ids carry `@`).
pub fn segment(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_unreserved_characters_pass_unencoded() {
        assert_eq!(segment("agent+1@x.test"), "agent%2B1%40x.test");
        assert_eq!(segment("a b/c?d'é"), "a%20b%2Fc%3Fd%27%C3%A9");
        assert_eq!(segment("A-z_0.9~"), "A-z_0.9~");
        assert_eq!(segment("a b/c+d"), "a%20b%2Fc%2Bd");
        assert_eq!(segment("sandbox-refresh-token"), "sandbox-refresh-token");
    }
}
