//! The SQL the service generates for every sort, first page, keyset page
//! and deep offset is served by an index on both backends: no full scan of
//! tokens, and no sort of the table (the status sort only orders the rows
//! its index-served runs return, and the few tokens revoked after the walk's
//! instant). Run with `--nocapture` to print the plans (docs/query-plans.md
//! quotes them).

use crate::common::{Backend, TestApp, insert_tokens, spawn_app};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::ids::{ClientId, OrgId};
use oauth_registry::domain::model::{Client, Token};
use oauth_registry::domain::oauth::GrantType;
use oauth_registry::domain::query::{
    ClientFilter, ClientQuery, ClientSortField, Direction, Position, Sort, TokenFilter, TokenQuery,
    TokenSortField,
};
use oauth_registry::store::sql::{self, Engine, Param, Sql};
use sqlx::{Connection, Row};

const FIELDS: [TokenSortField; 6] = [
    TokenSortField::Created,
    TokenSortField::Updated,
    TokenSortField::Name,
    TokenSortField::Status,
    TokenSortField::Id,
    TokenSortField::Expires,
];

fn position(t: &Token, field: TokenSortField, now: Timestamp) -> Position {
    Position {
        key: field.value(t, now),
        id: t.id.to_string(),
    }
}

/// Every query to check: (label, sql).
fn queries(engine: Engine, org: &OrgId, deep: &Token) -> Vec<(String, Sql)> {
    let now = Timestamp::now();
    let mut out = Vec::new();
    for field in FIELDS {
        for direction in [Direction::Asc, Direction::Desc] {
            for keyset in [false, true] {
                let q = TokenQuery {
                    org_id: org.clone(),
                    filter: TokenFilter::default(),
                    sort: Sort { field, direction },
                    now,
                    after: keyset.then(|| position(deep, field, now)),
                    offset: 0,
                    limit: 51,
                };
                let label = format!(
                    "tokens {field:?} {} {}",
                    direction.as_str(),
                    if keyset { "keyset page" } else { "first page" }
                );
                out.push((label, sql::list_tokens(engine, &q)));
            }
        }
    }
    let by_owner = TokenQuery {
        org_id: org.clone(),
        filter: TokenFilter {
            user_id: Some("user-1".into()),
            ..Default::default()
        },
        sort: Sort::default(),
        now,
        after: Some(position(deep, TokenSortField::Created, now)),
        offset: 0,
        limit: 101,
    };
    out.push((
        "tokens of one owner, created desc, keyset page".into(),
        sql::list_tokens(engine, &by_owner),
    ));
    // Deep offsets (Review Board's `start`, SlashID's `offset`, `skip`):
    // skipped in an index, then a seek; never a scan and sort of them all.
    for (field, offset) in [
        (TokenSortField::Created, 2500),
        (TokenSortField::Name, 2900),
        (TokenSortField::Id, 2000),
    ] {
        for direction in [Direction::Asc, Direction::Desc] {
            let q = TokenQuery {
                org_id: org.clone(),
                filter: TokenFilter::default(),
                sort: Sort { field, direction },
                now,
                after: None,
                offset,
                limit: 26,
            };
            let label = format!("tokens {field:?} {} offset {offset}", direction.as_str());
            out.push((label, sql::list_tokens(engine, &q)));
        }
    }
    let owner_offset = TokenQuery {
        after: None,
        offset: 900,
        ..by_owner
    };
    out.push((
        "tokens of one owner, created desc, offset 900".into(),
        sql::list_tokens(engine, &owner_offset),
    ));
    // The status window (totals and ETags): four seeks, no scan, no sort.
    let mut window = Sql::new(engine, sql::STATUS_WINDOW);
    window.params = vec![
        Param::Text(org.as_str().to_owned()),
        Param::Int(now.micros()),
    ];
    out.push(("tokens: the status window".into(), window));
    for field in [
        ClientSortField::Created,
        ClientSortField::Updated,
        ClientSortField::Name,
        ClientSortField::Id,
    ] {
        let q = ClientQuery {
            org_id: org.clone(),
            filter: ClientFilter::default(),
            sort: Sort {
                field,
                direction: Direction::Desc,
            },
            now,
            after: None,
            offset: 0,
            limit: 51,
        };
        out.push((
            format!("clients {field:?} desc"),
            sql::list_clients(engine, &q),
        ));
    }
    let clients_offset = ClientQuery {
        org_id: org.clone(),
        filter: ClientFilter::default(),
        sort: Sort {
            field: ClientSortField::Created,
            direction: Direction::Asc,
        },
        now,
        after: None,
        offset: 900,
        limit: 101,
    };
    out.push((
        "clients Created asc offset 900".into(),
        sql::list_clients(engine, &clients_offset),
    ));
    out
}

async fn seed(app: &TestApp) -> Token {
    let tokens = insert_tokens(app, &app.org_a, 3000).await;
    insert_tokens(app, &app.org_b, 3000).await;
    // Enough clients that a planner prefers an index to reading the table.
    let now = Timestamp::now();
    for i in 0..2000 {
        let org = if i % 2 == 0 { &app.org_a } else { &app.org_b };
        let c = Client {
            id: ClientId::parse("id", &uuid::Uuid::now_v7().to_string()).expect("id"),
            org_id: org.clone(),
            name: format!("client {}", i % 97),
            grant_types: vec![GrantType::ClientCredentials],
            response_types: vec![],
            scopes: vec![],
            redirect_uris: vec![],
            public: true,
            access_token_duration: 86_400,
            refresh_token_duration: 864_000,
            secret_prefix: None,
            created_at: Timestamp::from_micros(now.micros() - i64::from(i % 500) * 1_000_000),
            updated_at: now,
            last_used: None,
        };
        app.registry
            .store()
            .insert_client(&c, None)
            .await
            .expect("insert client");
    }
    tokens[1500].clone()
}

macro_rules! explain {
    ($conn:expr, $prefix:expr, $sql:expr) => {{
        let mut q = sqlx::query(sqlx::AssertSqlSafe(format!("{}{}", $prefix, $sql.text)));
        for p in &$sql.params {
            q = match p {
                Param::Text(s) => q.bind(s.clone()),
                Param::Int(i) => q.bind(*i),
                Param::Bool(b) => q.bind(*b),
            };
        }
        q.fetch_all(&mut $conn).await.expect("explain")
    }};
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_plans_use_indexes() {
    let app = spawn_app(Backend::Sqlite).await;
    let deep = seed(&app).await;
    let mut conn = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .expect("connect");
    sqlx::query("ANALYZE")
        .execute(&mut conn)
        .await
        .expect("analyze");
    for (label, sql) in queries(Engine::Sqlite, &app.org_a, &deep) {
        let rows = explain!(conn, "EXPLAIN QUERY PLAN ", sql);
        let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>("detail")).collect();
        println!("-- {label}\n{}\n", plan.join("\n"));
        let table = if label.starts_with("clients") {
            "clients"
        } else {
            "tokens"
        };
        assert!(
            !plan.iter().any(|l| l == &format!("SCAN {table}")),
            "{label}: full scan\n{plan:#?}"
        );
        assert!(
            plan.iter()
                .any(|l| l.contains(table) && l.contains("INDEX")),
            "{label}: no index\n{plan:#?}"
        );
        let temp_sort = plan.iter().any(|l| l.contains("TEMP B-TREE"));
        if label.contains("Status") {
            // Each run left to walk is an id-ordered index search; only the
            // union of their (at most 3 × page) rows is sorted.
            let runs: Vec<&String> = plan.iter().filter(|l| l.contains(" tokens ")).collect();
            assert!(
                !runs.is_empty() && runs.iter().all(|l| l.contains("USING INDEX tokens_org_")),
                "{label}\n{plan:#?}"
            );
        } else {
            assert!(
                !temp_sort,
                "{label}: sorts instead of reading an index in order\n{plan:#?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn postgres_plans_use_indexes() {
    let app = spawn_app(Backend::Postgres).await;
    let deep = seed(&app).await;
    let mut conn = sqlx::PgConnection::connect(&app.database_url)
        .await
        .expect("connect");
    // As autovacuum keeps a table: statistics, and the visibility map that
    // lets a deep offset skip rows in the index alone.
    sqlx::query("VACUUM (ANALYZE)")
        .execute(&mut conn)
        .await
        .expect("vacuum");
    for (label, sql) in queries(Engine::Postgres, &app.org_a, &deep) {
        let rows = explain!(conn, "EXPLAIN (COSTS OFF) ", sql);
        let plan: Vec<String> = rows.iter().map(|r| r.get::<String, _>(0)).collect();
        println!("-- {label}\n{}\n", plan.join("\n"));
        assert!(
            !plan.iter().any(|l| l.contains("Seq Scan")),
            "{label}: sequential scan\n{plan:#?}"
        );
        assert!(
            plan.iter().any(|l| l.contains("Index")),
            "{label}: no index\n{plan:#?}"
        );
        let sorts = plan
            .iter()
            .map(|l| l.trim_start().trim_start_matches("->").trim_start())
            .filter(|l| *l == "Sort" || l.starts_with("Incremental Sort"))
            .count();
        if label.contains("Status") {
            // The union of the runs, and each of the (two) small sets of
            // tokens revoked after the walk's instant, found by revoked_at.
            assert!(
                sorts <= 3,
                "{label}: only the union of runs and the revoked-later sets may be sorted\n{plan:#?}"
            );
        } else {
            assert_eq!(
                sorts, 0,
                "{label}: sorts instead of reading an index in order\n{plan:#?}"
            );
        }
    }
}
