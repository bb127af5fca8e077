//! Builds the listing SQL both backends share. Every fragment is a static
//! string chosen by the (already validated) query model; every value, including
//! everything decoded from a page token, becomes a bound `$n` parameter, so no
//! input is ever spliced into SQL (LIMIT and OFFSET are integers the query
//! model computed, written literally; see `Sql::limit`). SQLite accepts `$n`
//! placeholders too.

use std::fmt::Write;

mod page;
mod plans;
mod status;

use page::Order;
pub use plans::index_exact;
pub use status::STATUS_WINDOW;
use status::{Slice, status_clause};

use crate::domain::Timestamp;
use crate::domain::ids::{ClientId, OrgId, TokenId};
use crate::domain::query::{
    ClientFilter, ClientQuery, ClientSortField, TokenFilter, TokenQuery, TokenSortField,
};

/// The database engine a statement is for: where the two backends' SQL
/// differs. (A REST "dialect" is a vendor's API; this is SQL.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
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
    engine: Engine,
    /// The outer `LIMIT`, when the statement has one: how many rows a
    /// reader can expect at most (`sqlite_read` runs small reads inline).
    pub limit: Option<i64>,
    /// One index serves the statement's filter and order exactly
    /// ([`index_exact`]), so its best plan is the same for every value
    /// bound: PostgreSQL may reuse one plan instead of planning each call.
    pub stable_plan: bool,
}

pub use super::rows::{API_KEY_COLUMNS, CLIENT_COLUMNS, ORG_COLUMNS, TOKEN_COLUMNS};

impl Sql {
    pub fn new(engine: Engine, head: &str) -> Self {
        Sql {
            text: head.to_owned(),
            params: Vec::new(),
            engine,
            limit: None,
            stable_plan: false,
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

    /// `LIMIT n [OFFSET m]`, written as literals: both are integers the
    /// query model computed (never input text), and SQLite re-plans a
    /// statement whose LIMIT is a bound parameter every time it is rebound
    /// (it plans for the value), which cost ~14% of streaming's CPU.
    fn limit(&mut self, limit: i64, offset: u64) {
        self.limit = Some(limit);
        let _ = write!(self.text, "LIMIT {limit}");
        if offset > 0 {
            let _ = write!(self.text, " OFFSET {offset}");
        }
    }

    /// `AND <list column> contains the JSON string "<value>"`. List columns
    /// hold JSON arrays of validated tokens that never need escaping, so a
    /// substring test on the quoted value is exact.
    fn json_list_contains(&mut self, column: &str, value: &str) {
        let f = match self.engine {
            Engine::Sqlite => "instr",
            Engine::Postgres => "strpos",
        };
        let _ = write!(self.text, " AND {f}({column}, ");
        self.text_param(&format!("\"{value}\""));
        self.push(") > 0");
    }

    fn name_glob(&mut self, column: &str, glob: &crate::domain::glob::NameGlob) {
        match self.engine {
            Engine::Sqlite => {
                let _ = write!(self.text, " AND {column} GLOB ");
                self.text_param(&glob.to_sqlite_glob());
            }
            Engine::Postgres => {
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
}

fn token_where(sql: &mut Sql, org_id: &str, f: &TokenFilter, now: Timestamp) {
    token_where_slice(sql, org_id, f, now, Slice::Both);
}

fn token_where_slice(sql: &mut Sql, org_id: &str, f: &TokenFilter, now: Timestamp, slice: Slice) {
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
    status_clause(sql, f.status, now, slice);
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
pub fn list_tokens(engine: Engine, q: &TokenQuery) -> Sql {
    let order = match q.sort.field {
        TokenSortField::Created => Order::Column("created_at"),
        TokenSortField::Updated => Order::Column("updated_at"),
        TokenSortField::Name => Order::Column("name"),
        TokenSortField::Expires => Order::Column("expires_at"),
        TokenSortField::Id => Order::Id,
        TokenSortField::Status => return status::list_tokens_by_status(engine, q),
    };
    let mut sql = Sql::new(engine, &format!("SELECT {TOKEN_COLUMNS} FROM tokens"));
    let filter = |sql: &mut Sql| token_where(sql, &q.org_id, &q.filter, q.now);
    filter(&mut sql);
    sql.page(order, q, "tokens", filter);
    sql.stable_plan = index_exact(q);
    sql
}

pub fn count_tokens(engine: Engine, org_id: &OrgId, f: &TokenFilter, now: Timestamp) -> Sql {
    let mut sql = Sql::new(engine, "SELECT COUNT(*) FROM tokens");
    token_where(&mut sql, org_id, f, now);
    sql
}

/// The tokens a bulk action selects: matching `f` (status as of `now`),
/// created by `as_of`, and for a revoke not revoked yet. `head` is the
/// SELECT list (`COUNT(*)` or the columns).
fn bulk_where(
    head: &str,
    engine: Engine,
    org_id: &OrgId,
    f: &TokenFilter,
    now: Timestamp,
    as_of: Timestamp,
    unrevoked: bool,
) -> Sql {
    let mut sql = Sql::new(engine, &format!("SELECT {head} FROM tokens"));
    token_where(&mut sql, org_id, f, now);
    sql.push(" AND created_at <= ");
    sql.int(as_of.micros());
    if unrevoked {
        sql.push(" AND revoked_at IS NULL");
    }
    sql
}

/// How many tokens a bulk action would act on (see [`bulk_tokens`]).
pub fn count_bulk(
    engine: Engine,
    org_id: &OrgId,
    f: &TokenFilter,
    now: Timestamp,
    as_of: Timestamp,
    unrevoked: bool,
) -> Sql {
    bulk_where("COUNT(*)", engine, org_id, f, now, as_of, unrevoked)
}

/// The next `limit` tokens (by id) a bulk action acts on; on PostgreSQL
/// locked (`FOR UPDATE`) when `lock`, so the batch's rows cannot change
/// between this read and its write.
#[expect(
    clippy::too_many_arguments,
    reason = "the selection's parts, each needed"
)]
pub fn bulk_tokens(
    engine: Engine,
    org_id: &OrgId,
    f: &TokenFilter,
    now: Timestamp,
    as_of: Timestamp,
    unrevoked: bool,
    limit: u32,
    lock: bool,
) -> Sql {
    let mut sql = bulk_where(TOKEN_COLUMNS, engine, org_id, f, now, as_of, unrevoked);
    sql.push(" ORDER BY id ");
    sql.limit(i64::from(limit), 0);
    if lock && engine == Engine::Postgres {
        sql.push(" FOR UPDATE");
    }
    sql
}

fn client_where(sql: &mut Sql, org_id: &str, f: &ClientFilter) {
    sql.push(" WHERE org_id = ");
    sql.text_param(org_id);
    if let Some(g) = &f.name {
        sql.name_glob("name", g);
    }
    if let Some(g) = &f.grant_type {
        sql.json_list_contains("grant_types", g.as_str());
    }
    if let Some(p) = f.public {
        sql.push(" AND public = ");
        sql.bind(Param::Bool(p));
    }
}

pub fn list_clients(engine: Engine, q: &ClientQuery) -> Sql {
    let mut sql = Sql::new(engine, &format!("SELECT {CLIENT_COLUMNS} FROM clients"));
    let filter = |sql: &mut Sql| client_where(sql, &q.org_id, &q.filter);
    filter(&mut sql);
    let order = match q.sort.field {
        ClientSortField::Created => Order::Column("created_at"),
        ClientSortField::Updated => Order::Column("updated_at"),
        ClientSortField::Name => Order::Column("name"),
        ClientSortField::Id => Order::Id,
    };
    sql.page(order, q, "clients", filter);
    sql
}

pub fn count_clients(engine: Engine, org_id: &OrgId, f: &ClientFilter) -> Sql {
    let mut sql = Sql::new(engine, "SELECT COUNT(*) FROM clients");
    client_where(&mut sql, org_id, f);
    sql
}

/// The organization's token `id`: a primary-key lookup, marked as a
/// one-row read so that SQLite runs it inline (`sqlite_read`) rather than
/// through sqlx's worker thread (two hand-offs per GetToken).
pub fn token_by_id(engine: Engine, org_id: &OrgId, id: &TokenId) -> Sql {
    let mut sql = Sql::new(
        engine,
        &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE org_id = "),
    );
    sql.text_param(org_id);
    sql.push(" AND id = ");
    sql.text_param(id);
    sql.limit = Some(1);
    sql
}

/// Most ids one `IN (...)` list binds; longer lists are split (SQLite's
/// default limit is 32,766 parameters, PostgreSQL's 65,535).
pub const MAX_IN_LIST: usize = 500;

/// The organization's clients whose id is in `ids` (at most `MAX_IN_LIST`).
pub fn clients_by_id(engine: Engine, org_id: &OrgId, ids: &[ClientId]) -> Sql {
    let mut sql = Sql::new(
        engine,
        &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE org_id = "),
    );
    sql.text_param(org_id);
    sql.push(" AND id IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.text_param(id);
    }
    sql.push(")");
    sql
}

/// `INSERT INTO table (columns) VALUES ($1, ..), (..)`: `rows` rows of
/// `per_row` placeholders each (multi-row token inserts, single inserts).
pub fn insert(table: &str, columns: &str, rows: usize, per_row: usize) -> String {
    let mut s = format!("INSERT INTO {table} ({columns}) VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..per_row {
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

/// As [`insert`], for `engine`: on SQLite with anonymous `?` placeholders,
/// which sqlx binds in order. sqlx looks up each numbered parameter's name
/// before binding it, and SQLite finds a name by walking the statement's
/// list of named parameters, so binding n numbered parameters costs O(n²):
/// for the audit sink's 50-row inserts (700 parameters) that lookup was the
/// largest part of read auditing's cost on SQLite. Anonymous parameters are
/// not in that list.
pub fn insert_for(
    engine: Engine,
    table: &str,
    columns: &str,
    rows: usize,
    per_row: usize,
) -> String {
    match engine {
        Engine::Postgres => insert(table, columns, rows, per_row),
        Engine::Sqlite => {
            let row = format!("({})", vec!["?"; per_row].join(", "));
            format!(
                "INSERT INTO {table} ({columns}) VALUES {}",
                vec![row; rows].join(", ")
            )
        }
    }
}
