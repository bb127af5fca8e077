//! Field rules shared by every face. Each function takes the field name to
//! report, so a violation always says which field and why.

use super::error::{Error, FieldViolation, Result, quote};
use super::model::ChallengeMethod;

pub const GRANT_TYPES: [&str; 3] = ["client_credentials", "authorization_code", "refresh_token"];
pub const RESPONSE_TYPES: [&str; 3] = ["code", "id_token", "token"];
/// Upper bound for names, descriptions, ids and similar short strings.
pub const MAX_TEXT: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_LIST: usize = 100;

/// One RFC 6749 scope token: 1..128 chars of %x21 / %x23-5B / %x5D-7E (no
/// space, `"` or `\`).
pub fn scope_token(field: &str, s: &str) -> Result<String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(Error::invalid(
            field,
            format!("{} is not a valid scope (RFC 6749 §3.3)", quote(s)),
        ))
    }
}

/// A list of scopes: each valid, duplicates removed, order kept.
pub fn scopes(field: &str, list: &[String]) -> Result<Vec<String>> {
    if list.len() > MAX_LIST {
        return Err(Error::invalid(field, format!("at most {MAX_LIST} scopes")));
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let s = scope_token(&format!("{field}[{i}]"), s)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
}

pub fn grant_type(field: &str, s: &str) -> Result<String> {
    if GRANT_TYPES.contains(&s) {
        Ok(s.to_owned())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "{} is not a grant type; expected client_credentials, authorization_code or refresh_token",
                quote(s)
            ),
        ))
    }
}

/// A response-type combination such as `code id_token`, normalised to the
/// order code, id_token, token.
pub fn response_type(field: &str, s: &str) -> Result<String> {
    let parts: Vec<&str> = s.split(' ').collect();
    let valid = !s.is_empty()
        && parts.iter().all(|p| RESPONSE_TYPES.contains(p))
        && parts
            .iter()
            .enumerate()
            .all(|(i, p)| !parts[..i].contains(p));
    if !valid {
        return Err(Error::invalid(
            field,
            format!(
                "{} is not a combination of code, id_token and token",
                quote(s)
            ),
        ));
    }
    Ok(RESPONSE_TYPES
        .iter()
        .filter(|r| parts.contains(r))
        .copied()
        .collect::<Vec<_>>()
        .join(" "))
}

/// An absolute URI with no fragment (RFC 6749 §3.1.2): `scheme://...`, or
/// a native app's private-use scheme `com.example.app:/path` (RFC 8252
/// §7.1: a reverse-domain scheme, so it contains a dot, then a path).
/// Relative references are refused.
pub fn redirect_uri(field: &str, s: &str) -> Result<String> {
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
        Ok(s.to_owned())
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

/// A required short text (trimmed length 1..=MAX_TEXT).
pub fn required_text(field: &str, s: &str) -> Result<String> {
    if s.trim().is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    optional_text(field, s, MAX_TEXT)
}

pub fn optional_text(field: &str, s: &str, max: usize) -> Result<String> {
    if s.len() > max {
        return Err(Error::invalid(field, format!("longer than {max} bytes")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "contains control characters"));
    }
    Ok(s.to_owned())
}

/// A resource id as sent by a client: non-empty, short, printable.
pub fn id(field: &str, s: &str) -> Result<String> {
    if s.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if s.len() > 64 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::invalid(field, "is not a valid id"));
    }
    Ok(s.to_owned())
}

/// RFC 7636 §4.2: S256 challenges are 43 base64url characters; plain ones
/// are the verifier itself, 43..128 unreserved characters.
pub fn pkce(field: &str, challenge: &str, method: ChallengeMethod) -> Result<()> {
    let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~".contains(c);
    let ok = match method {
        ChallengeMethod::S256 => {
            challenge.len() == 43
                && challenge
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        ChallengeMethod::Plain => {
            (43..=128).contains(&challenge.len()) && challenge.chars().all(unreserved)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            match method {
                ChallengeMethod::S256 => {
                    "an S256 code_challenge is 43 base64url characters (RFC 7636)"
                }
                ChallengeMethod::Plain => {
                    "a plain code_challenge is 43 to 128 unreserved characters (RFC 7636)"
                }
            },
        ))
    }
}

/// Collects violations so a request reports all bad fields at once.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// Keeps the value when valid; records the violations otherwise.
    pub fn check<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(Error::InvalidArgument(v)) => {
                self.0.extend(v);
                None
            }
            Err(other) => {
                self.0.push(FieldViolation::new("", other.to_string()));
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(scope_token("s", "only.User.read").is_ok());
        assert!(scope_token("s", "a b").is_err() && scope_token("s", "a\"").is_err());
        assert_eq!(
            response_type("r", "id_token code").unwrap(),
            "code id_token"
        );
        assert!(response_type("r", "code code").is_err());
        assert!(redirect_uri("u", "https://example.com/cb").is_ok());
        assert!(redirect_uri("u", "example.com/cb").is_err());
        assert!(redirect_uri("u", "https://x/#f").is_err());
        // RFC 8252: loopback and private-use (reverse-domain) schemes.
        assert!(redirect_uri("u", "http://127.0.0.1:8765/cb").is_ok());
        assert!(redirect_uri("u", "com.example.app:/oauth2redirect/example-provider").is_ok());
        assert!(redirect_uri("u", "com.example.app:/cb#frag").is_err());
        assert!(
            redirect_uri("u", "myapp:/cb").is_err(),
            "not reverse-domain"
        );
        assert!(redirect_uri("u", "com.example.app:").is_err());
        assert!(redirect_uri("u", "/relative/cb").is_err());
        assert!(redirect_uri("u", "https://").is_err());
        assert!(
            pkce(
                "c",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                ChallengeMethod::S256
            )
            .is_ok()
        );
        assert!(pkce("c", "short", ChallengeMethod::S256).is_err());
    }
}
