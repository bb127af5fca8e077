//! Differential test: the same rows in SQLite and PostgreSQL, the same
//! queries through gRPC, the same answers (rows, order, fields, precision).
//! Names are chosen to expose collation differences (case, accents, LIKE
//! metacharacters); timestamps carry microseconds.

use crate::common::{Backend, TestApp, authed, scopes, spawn_app};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::ids::{OrgId, TokenId};
use oauth_registry::domain::model::{Token, TokenKind};
use oauth_registry::grpc::pb;
use oauth_registry::store::NewTokenRow;

const NAMES: [&str; 12] = [
    "abc", "Abc", "ábc", "ABC", "a_c", "a%c", "a\\c", "Zeta", "zeta", "_x", "日本", "a c",
];
const DAY: i64 = 86_400_000_000;

fn rows(org: &OrgId, base: i64) -> Vec<NewTokenRow> {
    (0..150)
        .map(|i: i64| {
            let created = base - 40 * DAY + (i % 17) * 3_600_000_123 + i % 3;
            NewTokenRow {
                token: Token {
                    id: TokenId::parse("id", &format!("0190{:032x}", i * 7919 % 1000)).expect("id"),
                    org_id: org.clone(),
                    client_id: None,
                    user_id: format!("user-{}", i % 4),
                    audience: "aud".into(),
                    subject: format!("user-{}", i % 4),
                    scopes: scopes(&[["read", "write", "a%b", "x_y"][(i % 4) as usize]]),
                    name: format!(
                        "{}{}",
                        NAMES[(i % 12) as usize],
                        if i % 5 == 0 { "" } else { "-" }
                    ),
                    description: String::new(),
                    default_role: String::new(),
                    pkce: None,
                    redirect_uri: None,
                    kind: if i % 3 == 0 {
                        TokenKind::Refresh
                    } else {
                        TokenKind::Access
                    },
                    secret_prefix: format!("oat_{i:08}"),
                    expires_at: Timestamp::from_micros(base + ((i % 5) - 2) * DAY + 17),
                    created_at: Timestamp::from_micros(created),
                    updated_at: Timestamp::from_micros(created + (i % 2) * 999),
                    revoked_at: (i % 7 == 0).then(|| Timestamp::from_micros(created + 1)),
                },
                secret_hash: vec![0; 32],
            }
        })
        .collect()
}

async fn walk(app: &TestApp, filter: &str, order_by: &str) -> Vec<pb::Token> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = app
            .tokens()
            .list_tokens(authed(
                &app.key_a,
                pb::ListTokensRequest {
                    page_size: 9,
                    page_token: token,
                    filter: filter.into(),
                    order_by: order_by.into(),
                    ..Default::default()
                },
            ))
            .await
            .expect("list")
            .into_inner();
        out.extend(page.tokens);
        if page.next_page_token.is_empty() {
            return out;
        }
        token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn sqlite_and_postgres_answer_alike() {
    let lite = spawn_app(Backend::Sqlite).await;
    let pg = spawn_app(Backend::Postgres).await;
    let base = Timestamp::now().micros();
    lite.registry
        .store()
        .insert_tokens(&rows(&lite.org_a, base))
        .await
        .expect("sqlite rows");
    pg.registry
        .store()
        .insert_tokens(&rows(&pg.org_a, base))
        .await
        .expect("pg rows");

    let filters = [
        "",
        "user_id = \"user-1\"",
        "status = ACTIVE",
        "status = EXPIRED",
        "status = REVOKED",
        "kind = REFRESH",
        "scopes:\"a%b\"",
        "scopes:\"x_y\"",
        "name = \"a*\"",
        "name = \"A*\"",
        "name = \"a?c*\"",
        "name = \"a%c*\"",
        "name = \"a_c\"",
        "name = \"*-\"",
        "name = \"日*\"",
        "name = \"a\\\\c*\"",
    ];
    let orders = [
        "",
        "name",
        "name desc",
        "create_time",
        "update_time desc",
        "status",
        "status desc",
        "expire_time",
        "id desc",
    ];
    let mut compared = 0;
    for f in filters {
        for o in orders {
            let a = walk(&lite, f, o).await;
            let b = walk(&pg, f, o).await;
            assert_eq!(a, b, "filter {f:?} order_by {o:?}");
            compared += a.len();
        }
        let count = |app: &TestApp| {
            let f = f.to_owned();
            let key = app.key_a.clone();
            let mut c = app.tokens();
            async move {
                c.count_tokens(authed(&key, pb::CountTokensRequest { filter: f }))
                    .await
                    .expect("count")
                    .into_inner()
                    .total_size
            }
        };
        assert_eq!(count(&lite).await, count(&pg).await, "count {f:?}");
    }
    eprintln!(
        "compared {compared} rows across {} queries",
        filters.len() * orders.len()
    );
    assert!(compared > 1000);
}
