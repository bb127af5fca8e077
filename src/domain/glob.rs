//! `NameGlob`: the name filter shared by every face (`my*app`). `*` matches
//! any run of characters, `?` exactly one; everything else is literal and
//! **case-sensitive** on both backends (SQLite `GLOB`, PostgreSQL `LIKE` on a
//! `COLLATE "C"` column), so both return the same rows.

use super::error::{Error, Result};

/// Longest accepted pattern, in bytes.
pub const MAX_GLOB_LEN: usize = 256;

/// A checked name pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameGlob(String);

impl NameGlob {
    /// Parses a pattern; `field` names the request field in errors.
    pub fn parse(field: &str, s: &str) -> Result<Self> {
        if s.is_empty() {
            return Err(Error::invalid(field, "name pattern must not be empty"));
        }
        if s.len() > MAX_GLOB_LEN {
            return Err(Error::invalid(
                field,
                format!("name pattern longer than {MAX_GLOB_LEN} bytes"),
            ));
        }
        if s.contains('\0') {
            return Err(Error::invalid(field, "name pattern contains NUL"));
        }
        Ok(NameGlob(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The pattern for SQLite's `GLOB`, where `[` opens a character class:
    /// a literal `[` becomes the class `[[]`.
    pub fn to_sqlite_glob(&self) -> String {
        self.0.replace('[', "[[]")
    }

    /// The pattern for SQL `LIKE ... ESCAPE '\'`.
    pub fn to_like(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 4);
        for c in self.0.chars() {
            match c {
                '*' => out.push('%'),
                '?' => out.push('_'),
                '%' | '_' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c => out.push(c),
            }
        }
        out
    }

    /// Whether `name` matches, by the same rules the databases apply.
    pub fn matches(&self, name: &str) -> bool {
        let p: Vec<char> = self.0.chars().collect();
        let s: Vec<char> = name.chars().collect();
        // Iterative wildcard match with single-star backtracking: O(|p|·|s|).
        let (mut pi, mut si) = (0, 0);
        let (mut star, mut mark) = (None, 0);
        while si < s.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == s[si]) {
                pi += 1;
                si += 1;
            } else if pi < p.len() && p[pi] == '*' {
                star = Some(pi);
                mark = si;
                pi += 1;
            } else if let Some(st) = star {
                pi = st + 1;
                mark += 1;
                si = mark;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matching_is_case_sensitive_and_literal() {
        let g = NameGlob::parse("f", "my*app").unwrap();
        assert!(g.matches("myapp") && g.matches("my cool app"));
        assert!(!g.matches("MyApp") && !g.matches("myapp2"));
        let q = NameGlob::parse("f", "a?c[1]%_").unwrap();
        assert!(q.matches("abc[1]%_"));
        assert_eq!(q.to_like(), "a_c[1]\\%\\_");
        assert_eq!(q.to_sqlite_glob(), "a?c[[]1]%_");
    }

    #[test]
    fn bad_patterns_name_the_field() {
        assert!(
            matches!(NameGlob::parse("filter", ""), Err(Error::InvalidArgument(v)) if v[0].field == "filter")
        );
        assert!(NameGlob::parse("filter", &"x".repeat(MAX_GLOB_LEN + 1)).is_err());
    }
}
