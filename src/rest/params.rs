//! Query-string parameters, read as text and parsed by each face so that a
//! malformed value becomes that face's own error naming the parameter.

use axum::extract::Query;

/// The decoded query string, in order (repeated names allowed).
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn new(Query(pairs): Query<Vec<(String, String)>>) -> Self {
        Params(pairs)
    }

    /// The last value given for `name` (later values win, as in most servers).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Like `get`, treating an empty value as absent.
    pub fn non_blank(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}
