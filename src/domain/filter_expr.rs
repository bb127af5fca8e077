//! The `filter` and `order_by` strings of the canonical API (gRPC and
//! `/v1` REST), parsed into the query model.
//!
//! `filter` is a subset of AIP-160: comparisons joined by `AND`, each
//! `field OP value` with OP one of `= < <= > >= :` and the value a
//! double-quoted string (`\"` and `\\` escapes) or a bare word. `OR`, `NOT`
//! and parentheses are refused with a clear error rather than guessed at.
//! `order_by` is AIP-132: one field, then optional `asc`/`desc`.

use super::error::{Error, Result, quote};
use super::glob::NameGlob;
use super::model::{TokenKind, TokenStatus};
use super::query::{ClientFilter, ClientSortField, Direction, Sort, TokenFilter, TokenSortField};
use super::time::Timestamp;

const FIELD: &str = "filter";
/// Longest accepted filter expression, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
    Has,
}

#[derive(Debug)]
struct Comparison {
    field: String,
    op: Op,
    value: String,
}

fn err(msg: impl Into<String>) -> Error {
    Error::invalid(FIELD, msg)
}

fn parse(input: &str) -> Result<Vec<Comparison>> {
    if input.len() > MAX_FILTER_LEN {
        return Err(err(format!("longer than {MAX_FILTER_LEN} bytes")));
    }
    let mut out = Vec::new();
    let mut rest = input.trim_start();
    while !rest.is_empty() {
        if !out.is_empty() {
            rest = rest
                .strip_prefix("AND")
                .filter(|r| r.starts_with(char::is_whitespace))
                .ok_or_else(|| err("comparisons must be joined by AND (OR, NOT and parentheses are not supported)"))?
                .trim_start();
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let field = &rest[..end];
        if field.is_empty() {
            return Err(err(format!(
                "expected a field name at {}",
                quote(&head(rest))
            )));
        }
        if field == "OR" || field == "NOT" {
            return Err(err(
                "OR and NOT are not supported; join comparisons with AND",
            ));
        }
        rest = rest[end..].trim_start();
        let (op, len) = if rest.starts_with("<=") {
            (Op::Le, 2)
        } else if rest.starts_with(">=") {
            (Op::Ge, 2)
        } else if rest.starts_with("!=") {
            return Err(err("the != operator is not supported"));
        } else {
            match rest.chars().next() {
                Some('=') => (Op::Eq, 1),
                Some('<') => (Op::Lt, 1),
                Some('>') => (Op::Gt, 1),
                Some(':') => (Op::Has, 1),
                _ => return Err(err(format!("expected an operator after {}", quote(field)))),
            }
        };
        rest = rest[len..].trim_start();
        let (value, after) = value(rest)?;
        out.push(Comparison {
            field: field.to_owned(),
            op,
            value,
        });
        rest = after.trim_start();
    }
    Ok(out)
}

fn head(s: &str) -> String {
    s.chars().take(16).collect()
}

/// A quoted string or a bare word; returns the value and the remaining input.
fn value(s: &str) -> Result<(String, &str)> {
    if let Some(body) = s.strip_prefix('"') {
        let mut v = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((v, &body[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, e @ ('"' | '\\'))) => v.push(e),
                    _ => return Err(err("only \\\" and \\\\ escapes are allowed in strings")),
                },
                c => v.push(c),
            }
        }
        Err(err("unterminated string"))
    } else {
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        if end == 0 {
            return Err(err("expected a value"));
        }
        let word = &s[..end];
        if word.contains(['(', ')']) {
            return Err(err("parentheses are not supported"));
        }
        Ok((word.to_owned(), &s[end..]))
    }
}

fn expect_eq(c: &Comparison) -> Result<()> {
    if c.op == Op::Eq {
        Ok(())
    } else {
        Err(err(format!("{} only supports =", c.field)))
    }
}

fn non_empty(c: &Comparison) -> Result<String> {
    if c.value.is_empty() || c.value.len() > 256 {
        return Err(err(format!("{} needs a value of 1 to 256 bytes", c.field)));
    }
    Ok(c.value.clone())
}

/// Applies a time comparison to a `[from, to)` range. Times are stored to
/// the microsecond; a value with finer digits is compared exactly by
/// rounding per operator: `>=` and `<` round up, `<=` and `>` down, and `=`
/// matches nothing (no stored time equals it).
fn time_range(
    c: &Comparison,
    from: &mut Option<Timestamp>,
    to: &mut Option<Timestamp>,
) -> Result<()> {
    let (floor, finer) = Timestamp::parse_rfc3339_exact(&c.value).ok_or_else(|| {
        err(format!(
            "{} needs an RFC 3339 time, got {}",
            quote(&c.field),
            quote(&c.value)
        ))
    })?;
    let next = Timestamp::from_micros(floor.micros().saturating_add(1));
    let ceil = if finer { next } else { floor };
    let tighten_from =
        |f: &mut Option<Timestamp>, v| *f = Some(f.map_or(v, |o: Timestamp| o.max(v)));
    let tighten_to = |f: &mut Option<Timestamp>, v| *f = Some(f.map_or(v, |o: Timestamp| o.min(v)));
    match c.op {
        Op::Ge => tighten_from(from, ceil),
        Op::Gt => tighten_from(from, next),
        Op::Lt => tighten_to(to, ceil),
        Op::Le => tighten_to(to, next),
        Op::Eq => {
            // [ceil, next): empty when the value has digits below a µs.
            tighten_from(from, ceil);
            tighten_to(to, next);
        }
        Op::Has => return Err(err(format!("{} does not support :", c.field))),
    }
    Ok(())
}

fn once<T>(slot: &mut Option<T>, field: &str, v: T) -> Result<()> {
    if slot.is_some() {
        return Err(err(format!("{field} is given more than once")));
    }
    *slot = Some(v);
    Ok(())
}

/// Parses a token `filter`.
pub fn token_filter(input: &str) -> Result<TokenFilter> {
    let mut f = TokenFilter::default();
    for c in parse(input)? {
        match c.field.as_str() {
            "client_id" => {
                expect_eq(&c)?;
                once(&mut f.client_id, "client_id", non_empty(&c)?)?;
            }
            "user_id" => {
                expect_eq(&c)?;
                once(&mut f.user_id, "user_id", non_empty(&c)?)?;
            }
            "status" => {
                expect_eq(&c)?;
                let s = match c
                    .value
                    .to_ascii_uppercase()
                    .trim_start_matches("TOKEN_STATUS_")
                {
                    "ACTIVE" => TokenStatus::Active,
                    "EXPIRED" => TokenStatus::Expired,
                    "REVOKED" => TokenStatus::Revoked,
                    _ => {
                        return Err(err(format!(
                            "status must be ACTIVE, EXPIRED or REVOKED, got {}",
                            quote(&c.value)
                        )));
                    }
                };
                once(&mut f.status, "status", s)?;
            }
            "kind" => {
                expect_eq(&c)?;
                let k = TokenKind::parse(&c.value.to_ascii_lowercase().replace("token_kind_", ""))
                    .ok_or_else(|| {
                        err(format!(
                            "kind must be ACCESS or REFRESH, got {}",
                            quote(&c.value)
                        ))
                    })?;
                once(&mut f.kind, "kind", k)?;
            }
            "create_time" => time_range(&c, &mut f.created_from, &mut f.created_to)?,
            "update_time" => time_range(&c, &mut f.updated_from, &mut f.updated_to)?,
            "scopes" | "scope" => {
                if c.op != Op::Has && c.op != Op::Eq {
                    return Err(err("scopes supports : (has)"));
                }
                f.scopes.push(super::oauth::Scope::parse(FIELD, &c.value)?);
            }
            "name" => {
                expect_eq(&c)?;
                once(&mut f.name, "name", NameGlob::parse(FIELD, &c.value)?)?;
            }
            other => {
                return Err(err(format!(
                    "unknown field {}; filterable: client_id, user_id, status, kind, create_time, update_time, scopes, name",
                    quote(other)
                )));
            }
        }
    }
    Ok(f)
}

/// Parses a client `filter`.
pub fn client_filter(input: &str) -> Result<ClientFilter> {
    let mut f = ClientFilter::default();
    for c in parse(input)? {
        match c.field.as_str() {
            "client_name" | "name" => {
                expect_eq(&c)?;
                once(
                    &mut f.name,
                    "client_name",
                    NameGlob::parse(FIELD, &c.value)?,
                )?;
            }
            "grant_types" | "grant_type" => {
                let g = super::oauth::GrantType::parse(FIELD, &c.value)?;
                once(&mut f.grant_type, "grant_types", g)?;
            }
            "public" => {
                expect_eq(&c)?;
                let b = match c.value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(err("public must be true or false")),
                };
                once(&mut f.public, "public", b)?;
            }
            other => {
                return Err(err(format!(
                    "unknown field {}; filterable: client_name, grant_types, public",
                    quote(other)
                )));
            }
        }
    }
    Ok(f)
}

fn split_order(field_name: &str, input: &str) -> Result<(String, Direction)> {
    let parts: Vec<&str> = input.split_whitespace().collect();
    let bad = |m: String| Error::invalid(field_name, m);
    match parts.as_slice() {
        [] => Ok((String::new(), Direction::Desc)),
        [f] => Ok(((*f).to_owned(), Direction::Asc)),
        [f, d] => {
            let dir = match d.to_ascii_lowercase().as_str() {
                "asc" => Direction::Asc,
                "desc" => Direction::Desc,
                _ => {
                    return Err(bad(format!(
                        "direction must be asc or desc, got {}",
                        quote(d)
                    )));
                }
            };
            Ok(((*f).to_owned(), dir))
        }
        _ if input.contains(',') => {
            Err(bad("sorting by more than one field is not supported".into()))
        }
        _ => Err(bad(format!(
            "expected \"<field> [asc|desc]\", got {}",
            quote(input)
        ))),
    }
}

/// Parses a token `order_by`; empty means `create_time desc`.
pub fn token_order(input: &str) -> Result<Sort<TokenSortField>> {
    order(
        input,
        &[
            ("create_time", TokenSortField::Created),
            ("update_time", TokenSortField::Updated),
            ("name", TokenSortField::Name),
            ("status", TokenSortField::Status),
            ("id", TokenSortField::Id),
            ("expire_time", TokenSortField::Expires),
        ],
        "create_time, update_time, name, status, id or expire_time",
    )
}

/// Parses a client `order_by`; empty means `create_time desc`. `name` and
/// `id` stand for `client_name` and `client_id`.
pub fn client_order(input: &str) -> Result<Sort<ClientSortField>> {
    let fields = [
        ("create_time", ClientSortField::Created),
        ("update_time", ClientSortField::Updated),
        ("client_name", ClientSortField::Name),
        ("client_id", ClientSortField::Id),
    ];
    let aliases = [("name", "client_name"), ("id", "client_id")];
    order_with(
        input,
        &fields,
        &aliases,
        "create_time, update_time, client_name or client_id",
    )
}

/// `<field> [asc|desc]` with the field one of `fields`; `expected` lists
/// them for the error.
fn order<F: Copy + Default>(input: &str, fields: &[(&str, F)], expected: &str) -> Result<Sort<F>> {
    order_with(input, fields, &[], expected)
}

/// As [`order`], with `aliases` (alias, field) for some fields.
fn order_with<F: Copy + Default>(
    input: &str,
    fields: &[(&str, F)],
    aliases: &[(&str, &str)],
    expected: &str,
) -> Result<Sort<F>> {
    let (field, direction) = split_order("order_by", input)?;
    let field = field.trim_end_matches(',');
    let field = aliases
        .iter()
        .find(|(alias, _)| *alias == field)
        .map_or(field, |(_, name)| name);
    if field.is_empty() {
        return Ok(Sort::default());
    }
    match fields.iter().find(|(name, _)| *name == field) {
        Some((_, f)) => Ok(Sort {
            field: *f,
            direction,
        }),
        None => Err(Error::invalid(
            "order_by",
            format!("cannot sort by {}; use {expected}", quote(field)),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_conjunction() {
        let f = token_filter(r#"user_id = "u 1" AND status = ACTIVE AND scopes:"read" AND name = "my*app" AND create_time >= 2024-01-01T00:00:00Z"#).unwrap();
        assert_eq!(f.user_id.as_deref(), Some("u 1"));
        assert_eq!(f.status, Some(TokenStatus::Active));
        assert_eq!(f.scopes, vec!["read".to_string()]);
        assert_eq!(f.name.unwrap().as_str(), "my*app");
        assert!(f.created_from.is_some());
    }

    #[test]
    fn refuses_what_it_does_not_support() {
        for bad in [
            "user_id = a OR user_id = b",
            "bogus = 1",
            "status = SLEEPING",
            "create_time > yesterday",
            "name = \"unterminated",
            "user_id",
            "(user_id = a)",
            "user_id != a",
        ] {
            let e = token_filter(bad).unwrap_err();
            assert!(
                matches!(&e, Error::InvalidArgument(v) if v[0].field == "filter"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn order_by() {
        assert_eq!(token_order("").unwrap(), Sort::default());
        assert_eq!(
            token_order("name desc").unwrap(),
            Sort {
                field: TokenSortField::Name,
                direction: Direction::Desc
            }
        );
        assert_eq!(token_order("status").unwrap().direction, Direction::Asc);
        assert!(token_order("name sideways").is_err());
        assert!(token_order("secret").is_err());
    }
}
