//! Keeps secret values out of logs and failure messages.

use std::sync::Arc;

use crate::secret::Secret;

const MASK: &str = "[REDACTED]";

/// Replaces every configured secret value (and any `Bearer` token or `Basic` credentials) in a
/// string with a mask.
/// Every response body that reaches a log line or a Temporal failure goes through here.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Arc<Vec<Secret>>,
}

impl Redactor {
    pub fn new(secrets: impl IntoIterator<Item = Secret>) -> Self {
        let mut secrets: Vec<Secret> = secrets
            .into_iter()
            // A one-character "secret" would shred every message; real ones are long.
            .filter(|s| s.expose().len() >= 4)
            .collect();
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.expose().len()));
        Self {
            secrets: Arc::new(secrets),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in self.secrets.iter() {
            if out.contains(secret.expose()) {
                out = out.replace(secret.expose(), MASK);
            }
        }
        ["Bearer ", "Basic "]
            .into_iter()
            .fold(out, |out, scheme| redact_after(&out, scheme))
    }
}

/// Masks the credentials after any `scheme` (`Bearer `: access tokens are not configured, they
/// are minted; `Basic `: base64 of an id and a secret, which masking the secret alone misses).
fn redact_after(text: &str, scheme: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(scheme) {
        let (before, after) = rest.split_at(at + scheme.len());
        out.push_str(before);
        let end = after
            .find(|c: char| c.is_whitespace() || c == '"' || c == ',')
            .unwrap_or(after.len());
        if end > 0 {
            out.push_str(MASK);
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_every_configured_secret_and_bearer_tokens() {
        let r = Redactor::new([Secret::new("sk-live-123"), Secret::new("x")]);
        assert_eq!(
            r.redact(r#"key sk-live-123 and "Authorization: Bearer ya29.abc" x"#),
            r#"key [REDACTED] and "Authorization: Bearer [REDACTED]" x"#
        );
        assert_eq!(r.redact("nothing here"), "nothing here");
        assert_eq!(
            r.redact("Authorization: Basic QUM6dG9rZW4=, then"),
            "Authorization: Basic [REDACTED], then"
        );
    }
}
