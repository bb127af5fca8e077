//! A watch decides in memory whether an event's row matches its filter
//! (`TokenFilter::matches`); a listing decides in SQL. They must agree, or
//! list-then-watch would drift: every single condition and every pair of
//! them, on varied rows (ties, all statuses, both kinds, globs with
//! wildcards and non-ASCII names), gives the same rows both ways on both
//! backends.

use crate::common::{Backend, DAY, insert_tokens, spawn_app};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::filter_expr::token_filter;
use oauth_registry::domain::query::{Sort, TokenQuery};

fn rfc3339(micros: i64) -> String {
    Timestamp::from_micros(micros).to_rfc3339()
}

async fn memory_and_sql_agree(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 120).await;
    let now = Timestamp::now();
    let day = |d: i64| rfc3339(now.micros() + d * DAY);
    let mut atoms: Vec<String> = vec![
        r#"user_id = "user-1""#.into(),
        "status = ACTIVE".into(),
        "status = EXPIRED".into(),
        "status = REVOKED".into(),
        "kind = REFRESH".into(),
        r#"scopes:"read""#.into(),
        r#"scopes:"email""#.into(),
        r#"name = "alpha*""#.into(),
        r#"name = "?eta-*""#.into(),
        r#"name = "a*b-?""#.into(),
        r#"name = "ßeta-1""#.into(),
        r#"name = "*""#.into(),
    ];
    for (field, op, d) in [
        ("create_time", ">=", -25),
        ("create_time", "<", -24),
        ("update_time", "<=", -20),
        ("update_time", ">", -27),
    ] {
        atoms.push(format!(r#"{field} {op} "{}""#, day(d)));
    }
    let mut filters: Vec<String> = atoms.clone();
    for (i, a) in atoms.iter().enumerate() {
        for b in &atoms[i + 1..] {
            filters.push(format!("{a} AND {b}"));
        }
    }
    let store = app.registry.store();
    let query = |filter| TokenQuery {
        org_id: app.org_a.clone(),
        filter,
        sort: Sort::default(),
        now,
        after: None,
        offset: 0,
        limit: 10_000,
    };
    let all = store
        .list_tokens(&query(Default::default()))
        .await
        .expect("all");
    assert_eq!(all.len(), 120);
    let mut nonempty = 0;
    for text in &filters {
        // Pairs that repeat a field (status twice, two names) are refused.
        let Ok(f) = token_filter(text) else {
            assert!(text.contains(" AND "), "single conditions parse: {text}");
            continue;
        };
        let mut sql: Vec<String> = store
            .list_tokens(&query(f.clone()))
            .await
            .expect("list")
            .into_iter()
            .map(|t| t.id.to_string())
            .collect();
        let mut memory: Vec<String> = all
            .iter()
            .filter(|t| f.matches(t, now))
            .map(|t| t.id.to_string())
            .collect();
        sql.sort();
        memory.sort();
        assert_eq!(sql, memory, "filter {text}");
        nonempty += usize::from(!sql.is_empty());
    }
    assert!(
        nonempty > filters.len() / 3,
        "the filters select something: {nonempty} of {}",
        filters.len()
    );
}

crate::backend_tests!(memory_and_sql_agree);
