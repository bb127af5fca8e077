//! Field rules shared by every face. Each function takes the field name to
//! report, so a violation always says which field and why.

use super::error::{Error, FieldViolation, Result, quote};
use super::ids::ParseId;
use super::model::ChallengeMethod;
use super::oauth::Scope;

pub const RESPONSE_TYPES: [&str; 3] = ["code", "id_token", "token"];
/// Upper bound for names, descriptions, ids and similar short strings.
pub const MAX_TEXT: usize = 256;
pub const MAX_DESCRIPTION: usize = 4096;
pub const MAX_LIST: usize = 100;

/// A list of scopes: each valid, duplicates removed, order kept.
pub fn scopes(field: &str, list: &[String]) -> Result<Vec<Scope>> {
    if list.len() > MAX_LIST {
        return Err(Error::invalid(field, format!("at most {MAX_LIST} scopes")));
    }
    let mut out: Vec<Scope> = Vec::with_capacity(list.len());
    for (i, s) in list.iter().enumerate() {
        let s = Scope::parse(&format!("{field}[{i}]"), s)?;
        if !out.contains(&s) {
            out.push(s);
        }
    }
    Ok(out)
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

/// A resource id as sent by a client (see [`ParseId`]); the type the
/// caller needs picks which kind of id.
pub fn id<T: ParseId>(field: &str, s: &str) -> Result<T> {
    T::parse_id(field, s)
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
        assert_eq!(
            response_type("r", "id_token code").unwrap(),
            "code id_token"
        );
        assert!(response_type("r", "code code").is_err());
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
