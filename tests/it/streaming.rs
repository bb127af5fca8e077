//! StreamTokens / StreamClients on both backends: every row once, resuming
//! after a dropped stream with no duplicate and no gap, `max_pages`, and a
//! cancelled stream stopping the server's database work.

use std::collections::HashSet;
use std::time::Duration;

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app};
use oauth_registry::grpc::pb;
use tonic::Code;

async fn collect(app: &TestApp, req: pb::StreamTokensRequest) -> Vec<pb::StreamTokensResponse> {
    let mut stream = app
        .tokens()
        .stream_tokens(authed(&app.key_a, req))
        .await
        .expect("stream")
        .into_inner();
    let mut pages = Vec::new();
    while let Some(page) = stream.message().await.expect("page") {
        pages.push(page);
    }
    pages
}

fn ids(pages: &[pb::StreamTokensResponse]) -> Vec<String> {
    pages
        .iter()
        .flat_map(|p| p.tokens.iter().map(|t| t.id.clone()))
        .collect()
}

async fn stream_yields_every_row_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = insert_tokens(&app, &app.org_a, 1234).await;
    insert_tokens(&app, &app.org_b, 50).await;
    let pages = collect(
        &app,
        pb::StreamTokensRequest {
            page_size: 100,
            order_by: "name".into(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(pages.len(), 13);
    for (i, p) in pages.iter().enumerate() {
        let last = i + 1 == pages.len();
        assert_eq!(
            p.next_page_token.is_empty(),
            last,
            "only the last page has no resume token"
        );
        assert_eq!(p.tokens.len(), if last { 34 } else { 100 });
    }
    let got = ids(&pages);
    let unique: HashSet<&str> = got.iter().map(String::as_str).collect();
    assert_eq!(got.len(), tokens.len());
    assert_eq!(unique.len(), tokens.len());
    let want: HashSet<&str> = tokens.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(unique, want);
    // The default page size (0) is the documented streaming default.
    let default = collect(&app, pb::StreamTokensRequest::default()).await;
    assert_eq!(default[0].tokens.len(), 1000);
    // An empty listing is one empty, final page... or none: never an error.
    let none = collect(
        &app,
        pb::StreamTokensRequest {
            filter: "user_id = \"nobody\"".into(),
            ..Default::default()
        },
    )
    .await;
    assert!(ids(&none).is_empty());
    assert!(none.iter().all(|p| p.next_page_token.is_empty()));
}

async fn resume_after_drop_has_no_gap_or_duplicate(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 503).await;
    let base = pb::StreamTokensRequest {
        page_size: 50,
        order_by: "create_time desc".into(),
        ..Default::default()
    };
    let full = ids(&collect(&app, base.clone()).await);

    // Read three pages, then drop the stream mid-way.
    let mut stream = app
        .tokens()
        .stream_tokens(authed(&app.key_a, base.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    let mut resume = String::new();
    for _ in 0..3 {
        let page = stream.message().await.unwrap().expect("page");
        seen.extend(page.tokens.into_iter().map(|t| t.id));
        resume = page.next_page_token;
    }
    drop(stream);
    // Meanwhile rows are inserted and deleted elsewhere in the listing.
    let first = full[0].clone();
    app.tokens()
        .delete_token(authed(
            &app.key_a,
            pb::DeleteTokenRequest {
                id: first,
                ..Default::default()
            },
        ))
        .await
        .unwrap();

    let rest = collect(
        &app,
        pb::StreamTokensRequest {
            page_token: resume,
            ..base.clone()
        },
    )
    .await;
    seen.extend(ids(&rest));
    assert_eq!(
        seen, full,
        "resumed stream continues exactly where the dropped one stopped"
    );

    // The resume token also works with ListTokens (same query binding).
    let p = app
        .tokens()
        .stream_tokens(authed(
            &app.key_a,
            pb::StreamTokensRequest {
                max_pages: 1,
                ..base.clone()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .message()
        .await
        .unwrap()
        .unwrap();
    let next = app
        .tokens()
        .list_tokens(authed(
            &app.key_a,
            pb::ListTokensRequest {
                page_size: 50,
                order_by: base.order_by.clone(),
                page_token: p.next_page_token,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    // full[0] was deleted, so the first page is full[1..=50] and ListTokens
    // continues at full[51].
    assert_eq!(
        p.tokens.first().map(|t| t.id.as_str()),
        Some(full[1].as_str())
    );
    let continued: Vec<String> = next.tokens.into_iter().map(|t| t.id).collect();
    assert_eq!(continued, full[51..101].to_vec());
}

async fn max_pages_stops_with_a_resume_token(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 95).await;
    let base = pb::StreamTokensRequest {
        page_size: 10,
        order_by: "id".into(),
        ..Default::default()
    };
    let two = collect(
        &app,
        pb::StreamTokensRequest {
            max_pages: 2,
            ..base.clone()
        },
    )
    .await;
    assert_eq!(two.len(), 2);
    let resume = two[1].next_page_token.clone();
    assert!(!resume.is_empty());
    let rest = collect(
        &app,
        pb::StreamTokensRequest {
            page_token: resume,
            ..base.clone()
        },
    )
    .await;
    let mut all = ids(&two);
    all.extend(ids(&rest));
    assert_eq!(all, ids(&collect(&app, base.clone()).await));
    assert_eq!(all.len(), 95);
    let err = app
        .tokens()
        .stream_tokens(authed(
            &app.key_a,
            pb::StreamTokensRequest {
                max_pages: -1,
                ..base
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
}

/// A stream reads several pages per query after its first; the pages it
/// cuts from one run are still exact pages, each resumable, whether the
/// run ends the listing, ends just before its last row, or is cut short
/// by `max_pages`.
async fn runs_of_pages_are_cut_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 6001).await;
    let base = pb::StreamTokensRequest {
        page_size: 1000,
        order_by: "create_time desc".into(),
        ..Default::default()
    };
    let before = app.registry.metrics().pages_fetched();
    let all = collect(&app, base.clone()).await;
    let sizes: Vec<usize> = all.iter().map(|p| p.tokens.len()).collect();
    assert_eq!(sizes, [1000, 1000, 1000, 1000, 1000, 1000, 1]);
    let queries = app.registry.metrics().pages_fetched() - before;
    let per_run = app.registry.store().stream_run_rows() / 1000;
    // The first page alone, then runs of `per_run` pages (the last has 1 row).
    assert_eq!(queries, 1 + 6u64.div_ceil(u64::from(per_run.max(1))));
    let full = ids(&all);
    assert_eq!(full.iter().collect::<HashSet<_>>().len(), 6001);
    for (i, p) in all.iter().enumerate() {
        assert_eq!(p.next_page_token.is_empty(), i == 6, "page {i}");
    }
    // Every page's token resumes right after it, mid-run too.
    for i in [1, 3, 5] {
        let rest = collect(
            &app,
            pb::StreamTokensRequest {
                page_token: all[i].next_page_token.clone(),
                ..base.clone()
            },
        )
        .await;
        assert_eq!(
            ids(&rest),
            full[(i + 1) * 1000..].to_vec(),
            "after page {i}"
        );
    }
    let four = collect(
        &app,
        pb::StreamTokensRequest {
            max_pages: 4,
            ..base.clone()
        },
    )
    .await;
    assert_eq!(four.len(), 4);
    assert_eq!(ids(&four), full[..4000].to_vec());
    assert!(!four[3].next_page_token.is_empty(), "cut short: resumable");
}

async fn cancelled_stream_stops_database_work(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 20_000).await;
    let fetched = || app.registry.metrics().pages_fetched();
    let before = fetched();
    let req = pb::StreamTokensRequest {
        page_size: 100,
        ..Default::default()
    };
    let mut stream = app
        .tokens()
        .stream_tokens(authed(&app.key_a, req))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..2 {
        stream.message().await.unwrap().expect("page");
    }
    drop(stream);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after_cancel = fetched() - before;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let later = fetched() - before;
    eprintln!("pages queried before the cancel took effect: {after_cancel} of 200");
    // 200 pages exist; only those read plus what HTTP/2 flow control let the
    // server run ahead were queried, and nothing more after the cancel.
    assert!(
        after_cancel < 100,
        "server kept querying after cancel: {after_cancel} pages"
    );
    assert_eq!(
        later, after_cancel,
        "pages were still fetched after the client cancelled"
    );
}

async fn clients_stream_too(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..7 {
        app.create_client(&app.key_a, &format!("c{i}")).await;
    }
    let mut stream = app
        .clients()
        .stream_clients(authed(
            &app.key_a,
            pb::StreamClientsRequest {
                page_size: 3,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut sizes = Vec::new();
    while let Some(p) = stream.message().await.unwrap() {
        sizes.push((p.clients.len(), p.next_page_token.is_empty()));
    }
    assert_eq!(sizes, vec![(3, false), (3, false), (1, true)]);
}

/// `grpc-timeout` bounds the whole stream, not just its start: a slow reader
/// gets DEADLINE_EXCEEDED from the server once it passes, and no query runs
/// afterwards.
async fn deadline_covers_the_whole_stream(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 2000).await;
    let fetched = || app.registry.metrics().pages_fetched();
    let mut req = authed(
        &app.key_a,
        pb::StreamTokensRequest {
            page_size: 10,
            ..Default::default()
        },
    );
    req.metadata_mut()
        .insert("grpc-timeout", "500m".parse().expect("ascii"));
    // A small HTTP/2 window, so the server cannot finish into the client's
    // buffers before the deadline: it has to wait for this slow reader.
    let channel = crate::common::process::small_window_channel(app.addr).await;
    let start = std::time::Instant::now();
    let mut stream = pb::token_service_client::TokenServiceClient::new(channel)
        .stream_tokens(req)
        .await
        .expect("the stream starts")
        .into_inner();
    let mut pages = 0;
    let status = loop {
        match stream.message().await {
            Ok(Some(_)) => {
                pages += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Ok(None) => panic!("a slow reader finished 200 pages within 500 ms"),
            Err(status) => break status,
        }
    };
    let took = start.elapsed();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(
        status.message().contains("before the stream ended"),
        "the server ended it"
    );
    assert!(pages < 200);
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_secs(3),
        "ended at the deadline: {took:?}"
    );
    drop(stream);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let settled = fetched();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fetched(), settled, "no query after the deadline");
}

backend_tests!(
    deadline_covers_the_whole_stream,
    stream_yields_every_row_once,
    resume_after_drop_has_no_gap_or_duplicate,
    max_pages_stops_with_a_resume_token,
    runs_of_pages_are_cut_exactly,
    cancelled_stream_stops_database_work,
    clients_stream_too,
);
