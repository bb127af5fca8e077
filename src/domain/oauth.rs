//! OAuth values as types: a scope token, a grant type, a redirect URI. Each
//! is parsed once at the face (with the field's name in the error) and is
//! valid wherever it travels after that; the store reads them back trusted.
//! `Debug` prints the plain string, so the filter fingerprint bound into
//! page tokens reads the same as when these were strings.

use std::fmt;

use super::error::{Error, Result, quote};
use super::ids::text_type;

text_type!(
    /// One RFC 6749 §3.3 scope token: 1..128 characters of %x21 / %x23-5B /
    /// %x5D-7E (no space, `"` or `\`).
    Scope
);

impl Scope {
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let ok = !s.is_empty()
            && s.len() <= 128
            && s.bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if ok {
            Ok(Scope(s.to_owned()))
        } else {
            Err(Error::invalid(
                field,
                format!("{} is not a valid scope (RFC 6749 §3.3)", quote(s)),
            ))
        }
    }
}

text_type!(
    /// An absolute redirection URI without fragment (RFC 6749 §3.1.2):
    /// `scheme://...`, or a native app's private-use scheme such as
    /// `com.example.app:/path` (RFC 8252 §7.1: reverse-domain, so it holds
    /// a dot, then a path). Relative references are refused.
    RedirectUri
);

impl RedirectUri {
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        let valid_scheme = |scheme: &str| {
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        };
        let shape_ok = match s.split_once(':') {
            Some((scheme, rest)) if valid_scheme(scheme) => match rest.strip_prefix("//") {
                // scheme://authority...
                Some(after) => !after.is_empty(),
                // private-use scheme: com.example.app:/path
                None => scheme.contains('.') && rest.starts_with('/') && rest.len() > 1,
            },
            _ => false,
        };
        let ok = shape_ok
            && s.len() <= 2048
            && !s.contains('#')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if ok {
            Ok(RedirectUri(s.to_owned()))
        } else {
            Err(Error::invalid(
                field,
                format!(
                    "{} is not an absolute URI without fragment (scheme://... or, for native apps, a reverse-domain scheme such as com.example.app:/callback)",
                    quote(s)
                ),
            ))
        }
    }
}

/// The grant types a client may use.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    ClientCredentials,
    AuthorizationCode,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::ClientCredentials,
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::ClientCredentials => "client_credentials",
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self> {
        GrantType::ALL
            .into_iter()
            .find(|g| g.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "{} is not a grant type; expected client_credentials, authorization_code or refresh_token",
                        quote(s)
                    ),
                )
            })
    }
}

impl AsRef<str> for GrantType {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values as plain strings, for a face's response.
pub fn strings<T: AsRef<str>>(values: &[T]) -> Vec<String> {
    values.iter().map(|v| v.as_ref().to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(Scope::parse("s", "only.User.read").is_ok());
        assert!(Scope::parse("s", "a b").is_err() && Scope::parse("s", "a\"").is_err());
        let ok = |s| RedirectUri::parse("u", s).is_ok();
        assert!(ok("https://example.com/cb"));
        assert!(!ok("example.com/cb"));
        assert!(!ok("https://x/#f"));
        // RFC 8252: loopback and private-use (reverse-domain) schemes.
        assert!(ok("http://127.0.0.1:8765/cb"));
        assert!(ok("com.example.app:/oauth2redirect/example-provider"));
        assert!(!ok("com.example.app:/cb#frag"));
        assert!(!ok("myapp:/cb"), "not reverse-domain");
        assert!(!ok("com.example.app:"));
        assert!(!ok("/relative/cb"));
        assert!(!ok("https://"));
        assert_eq!(
            GrantType::parse("g", "refresh_token").unwrap(),
            GrantType::RefreshToken
        );
        assert!(GrantType::parse("g", "password").is_err());
        // The page-token fingerprint depends on this.
        assert_eq!(
            format!("{:?}", vec![Scope::parse("s", "read").unwrap()]),
            r#"["read"]"#
        );
        assert_eq!(
            format!("{:?}", Some(GrantType::RefreshToken)),
            r#"Some("refresh_token")"#
        );
    }
}
