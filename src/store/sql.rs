//! Builds the listing SQL both backends share. Every fragment is a static
//! string chosen by the (already validated) query model; every value, including
//! everything decoded from a page token, becomes a bound `$n` parameter, so no
//! input is ever spliced into SQL. SQLite accepts `$n` placeholders too.

use std::fmt::Write;

use crate::domain::model::TokenStatus;
use crate::domain::query::{
    ClientFilter, ClientQuery, ClientSortField, Direction, Position, SortValue, TokenFilter, TokenQuery,
    TokenSortField,
};
use crate::domain::Timestamp;

/// Where the two backends' SQL differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// A bound value.
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    Int(i64),
    Bool(bool),
}

/// SQL text plus its parameters, in placeholder order.
#[derive(Debug)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Param>,
    dialect: Dialect,
}

pub const TOKEN_COLUMNS: &str = "id, org_id, client_id, user_id, audience, subject, scopes, name, description, \
     default_role, code_challenge, code_challenge_method, redirect_uri, kind, secret_prefix, expires_at, \
     created_at, updated_at, revoked_at";

pub const CLIENT_COLUMNS: &str = "id, org_id, name, grant_types, response_types, scopes, redirect_uris, public, \
     access_token_duration, refresh_token_duration, secret_prefix, created_at, updated_at, last_used";

impl Sql {
    pub fn new(dialect: Dialect, head: &str) -> Self {
        Sql {
            text: head.to_owned(),
            params: Vec::new(),
            dialect,
        }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder bound to `p`.
    pub fn bind(&mut self, p: Param) -> &mut Self {
        self.params.push(p);
        let _ = write!(self.text, "${}", self.params.len());
        self
    }

    fn text_param(&mut self, s: &str) -> &mut Self {
        self.bind(Param::Text(s.to_owned()))
    }

    fn int(&mut self, i: i64) -> &mut Self {
        self.bind(Param::Int(i))
    }

    /// `AND <list column> contains the JSON string "<value>"`. List columns
    /// hold JSON arrays of validated tokens that never need escaping, so a
    /// substring test on the quoted value is exact.
    fn json_list_contains(&mut self, column: &str, value: &str) {
        let f = match self.dialect {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        };
        let _ = write!(self.text, " AND {f}({column}, ");
        self.text_param(&format!("\"{value}\""));
        self.push(") > 0");
    }

    fn name_glob(&mut self, column: &str, glob: &crate::domain::glob::NameGlob) {
        match self.dialect {
            Dialect::Sqlite => {
                let _ = write!(self.text, " AND {column} GLOB ");
                self.text_param(&glob.to_sqlite_glob());
            }
            Dialect::Postgres => {
                let _ = write!(self.text, " AND {column} LIKE ");
                self.text_param(&glob.to_like());
                self.push(" ESCAPE '\\'");
            }
        }
    }

    fn range(&mut self, column: &str, from: Option<Timestamp>, to: Option<Timestamp>) {
        if let Some(f) = from {
            let _ = write!(self.text, " AND {column} >= ");
            self.int(f.micros());
        }
        if let Some(t) = to {
            let _ = write!(self.text, " AND {column} < ");
            self.int(t.micros());
        }
    }

    /// `ORDER BY key dir, id dir` plus the keyset predicate, limit and offset.
    fn page(&mut self, key: &str, key_is_expr: bool, dir: Direction, after: Option<&Position>, key_binds: &[Param], offset: u64, limit: u32) {
        let (cmp, d) = match dir {
            Direction::Asc => (">", "ASC"),
            Direction::Desc => ("<", "DESC"),
        };
        if let Some(pos) = after {
            if key == "id" {
                let _ = write!(self.text, " AND id {cmp} ");
                self.text_param(&pos.id);
            } else {
                // Row-value comparison: both SQLite and PostgreSQL turn it
                // into one index range seek on (org_id, key, id).
                self.push(" AND (");
                self.key_expr(key, key_is_expr, key_binds);
                let _ = write!(self.text, ", id) {cmp} (");
                match &pos.key {
                    SortValue::Int(i) => self.int(*i),
                    SortValue::Text(s) => self.text_param(s),
                };
                self.push(", ");
                self.text_param(&pos.id);
                self.push(")");
            }
        }
        self.push(" ORDER BY ");
        if key != "id" {
            self.key_expr(key, key_is_expr, key_binds);
            let _ = write!(self.text, " {d}, ");
        }
        let _ = write!(self.text, "id {d} LIMIT ");
        self.int(i64::from(limit));
        if offset > 0 {
            self.push(" OFFSET ");
            self.int(offset as i64);
        }
    }

    fn key_expr(&mut self, key: &str, is_expr: bool, binds: &[Param]) {
        if !is_expr {
            self.push(key);
            return;
        }
        // An expression key with placeholders: `?` marks where each bind goes.
        let mut binds = binds.iter();
        for (i, part) in key.split('?').enumerate() {
            if i > 0 {
                if let Some(b) = binds.next() {
                    self.bind(b.clone());
                }
            }
            self.push(part);
        }
    }
}

/// Status as a sortable rank at instant `?` (active 0, expired 1, revoked 2).
const STATUS_RANK: &str = "(CASE WHEN revoked_at IS NOT NULL THEN 2 WHEN expires_at <= ? THEN 1 ELSE 0 END)";

fn token_where(sql: &mut Sql, org_id: &str, f: &TokenFilter, now: Timestamp) {
    sql.push(" WHERE org_id = ");
    sql.text_param(org_id);
    if let Some(c) = &f.client_id {
        sql.push(" AND client_id = ");
        sql.text_param(c);
    }
    if let Some(u) = &f.user_id {
        sql.push(" AND user_id = ");
        sql.text_param(u);
    }
    if let Some(k) = f.kind {
        sql.push(" AND kind = ");
        sql.text_param(k.as_str());
    }
    match f.status {
        None => {}
        Some(TokenStatus::Revoked) => {
            sql.push(" AND revoked_at IS NOT NULL");
        }
        Some(s) => {
            let op = if s == TokenStatus::Active { ">" } else { "<=" };
            let _ = write!(sql.text, " AND revoked_at IS NULL AND expires_at {op} ");
            sql.int(now.micros());
        }
    }
    sql.range("created_at", f.created_from, f.created_to);
    sql.range("updated_at", f.updated_from, f.updated_to);
    for s in &f.scopes {
        sql.json_list_contains("scopes", s);
    }
    if let Some(g) = &f.name {
        sql.name_glob("name", g);
    }
}

/// One page (plus the look-ahead row the caller asked for) of tokens.
pub fn list_tokens(dialect: Dialect, q: &TokenQuery) -> Sql {
    let mut sql = Sql::new(dialect, &format!("SELECT {TOKEN_COLUMNS} FROM tokens"));
    token_where(&mut sql, &q.org_id, &q.filter, q.now);
    let (key, is_expr) = match q.sort.field {
        TokenSortField::Created => ("created_at", false),
        TokenSortField::Updated => ("updated_at", false),
        TokenSortField::Name => ("name", false),
        TokenSortField::Id => ("id", false),
        TokenSortField::Expires => ("expires_at", false),
        TokenSortField::Status => (STATUS_RANK, true),
    };
    let now = [Param::Int(q.now.micros())];
    sql.page(key, is_expr, q.sort.direction, q.after.as_ref(), &now, q.offset, q.limit);
    sql
}

pub fn count_tokens(dialect: Dialect, org_id: &str, f: &TokenFilter, now: Timestamp) -> Sql {
    let mut sql = Sql::new(dialect, "SELECT COUNT(*) FROM tokens");
    token_where(&mut sql, org_id, f, now);
    sql
}

fn client_where(sql: &mut Sql, org_id: &str, f: &ClientFilter) {
    sql.push(" WHERE org_id = ");
    sql.text_param(org_id);
    if let Some(g) = &f.name {
        sql.name_glob("name", g);
    }
    if let Some(g) = &f.grant_type {
        sql.json_list_contains("grant_types", g);
    }
    if let Some(p) = f.public {
        sql.push(" AND public = ");
        sql.bind(Param::Bool(p));
    }
}

pub fn list_clients(dialect: Dialect, q: &ClientQuery) -> Sql {
    let mut sql = Sql::new(dialect, &format!("SELECT {CLIENT_COLUMNS} FROM clients"));
    client_where(&mut sql, &q.org_id, &q.filter);
    let key = match q.sort.field {
        ClientSortField::Created => "created_at",
        ClientSortField::Updated => "updated_at",
        ClientSortField::Name => "name",
        ClientSortField::Id => "id",
    };
    sql.page(key, false, q.sort.direction, q.after.as_ref(), &[], q.offset, q.limit);
    sql
}

pub fn count_clients(dialect: Dialect, org_id: &str, f: &ClientFilter) -> Sql {
    let mut sql = Sql::new(dialect, "SELECT COUNT(*) FROM clients");
    client_where(&mut sql, org_id, f);
    sql
}

/// A multi-row INSERT of `rows` tokens (bulk seeding and single creates).
pub fn insert_tokens(dialect: Dialect, rows: usize) -> String {
    let mut s = format!("INSERT INTO tokens ({TOKEN_COLUMNS}, secret_hash) VALUES ");
    let _ = dialect;
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..20 {
            n += 1;
            if c > 0 {
                s.push_str(", ");
            }
            let _ = write!(s, "${n}");
        }
        s.push(')');
    }
    s
}
