//! Offsets deep into a listing, on both backends: the seek that replaced
//! `OFFSET` on the full rows (`store::sql`) returns the same rows in the
//! same order, for every sort and direction, with and without a filter,
//! at depths from 1 to past the end, through gRPC `skip`, Review Board's
//! `start` and SlashID's `offset`.

use crate::common::{Backend, TestApp, authed, insert_tokens, spawn_app};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::model::Token;
use oauth_registry::domain::secret::ExposeSecret;
use oauth_registry::grpc::pb;
use serde_json::Value;

const ROWS: usize = 1200;
const DEPTHS: [i32; 7] = [1, 7, 499, 1000, 1187, 1199, 1200];

/// The order the API must return: by key, ties by id, both in `dir`.
fn expected(tokens: &[&Token], field: &str, desc: bool) -> Vec<String> {
    let now = Timestamp::now();
    let key = |t: &Token| match field {
        "create_time" => (t.created_at.micros(), String::new()),
        "update_time" => (t.updated_at.micros(), String::new()),
        "expire_time" => (t.expires_at.micros(), String::new()),
        "status" => (t.status(now).rank(), String::new()),
        "name" => (0, t.name.clone()),
        _ => (0, String::new()),
    };
    let mut v: Vec<&Token> = tokens.to_vec();
    v.sort_by(|a, b| {
        let o = key(a)
            .cmp(&key(b))
            .then_with(|| a.id.as_bytes().cmp(b.id.as_bytes()));
        if desc { o.reverse() } else { o }
    });
    v.into_iter().map(|t| t.id.to_string()).collect()
}

async fn page(app: &TestApp, req: pb::ListTokensRequest) -> Vec<String> {
    app.tokens()
        .list_tokens(authed(&app.key_a, req))
        .await
        .expect("list")
        .into_inner()
        .tokens
        .into_iter()
        .map(|t| t.id)
        .collect()
}

async fn deep_offsets_return_the_same_rows_as_walking(backend: Backend) {
    let app = spawn_app(backend).await;
    let tokens = insert_tokens(&app, &app.org_a, ROWS).await;
    insert_tokens(&app, &app.org_b, 300).await;
    let all: Vec<&Token> = tokens.iter().collect();
    let owners: Vec<&Token> = tokens.iter().filter(|t| t.user_id == "user-1").collect();
    for field in [
        "create_time",
        "update_time",
        "name",
        "id",
        "expire_time",
        "status",
    ] {
        for dir in ["asc", "desc"] {
            let order_by = format!("{field} {dir}");
            for (filter, rows) in [("", &all), ("user_id = \"user-1\"", &owners)] {
                let want = expected(rows, field, dir == "desc");
                for skip in DEPTHS {
                    let got = page(
                        &app,
                        pb::ListTokensRequest {
                            page_size: 13,
                            order_by: order_by.clone(),
                            filter: filter.into(),
                            skip,
                            ..Default::default()
                        },
                    )
                    .await;
                    let from = (skip as usize).min(want.len());
                    let to = (from + 13).min(want.len());
                    assert_eq!(got, want[from..to], "{order_by} {filter} skip {skip}");
                }
            }
        }
    }
}

async fn get_json(app: &TestApp, path: &str, headers: &[(&str, String)]) -> Value {
    let mut req = reqwest::Client::new().get(format!("{}{path}", app.rest));
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

/// Review Board's `start` and SlashID's `offset`: every page from deep
/// offsets lines up with the first page of everything.
async fn dialect_offsets_line_up(backend: Backend) {
    let app = spawn_app(backend).await;
    insert_tokens(&app, &app.org_a, 450).await;
    for i in 0..230 {
        app.create_client(&app.key_a, &format!("client {i:03}"))
            .await;
    }
    let superuser = app
        .registry
        .create_api_key(
            &app.org_a,
            Some("root".into()),
            vec![oauth_registry::domain::auth::Permission::Admin],
            true,
            None,
        )
        .await
        .expect("key");
    let rb = [(
        "Authorization",
        format!("token {}", superuser.secret.expose_secret()),
    )];
    let hrefs = |page: &Value| -> Vec<String> {
        page["oauth_tokens"]
            .as_array()
            .expect("items")
            .iter()
            .map(|t| {
                t["links"]["self"]["href"]
                    .as_str()
                    .expect("href")
                    .to_owned()
            })
            .collect()
    };
    let everything = hrefs(&get_json(&app, "/api/oauth-tokens/?max-results=200", &rb).await);
    let mut rest =
        hrefs(&get_json(&app, "/api/oauth-tokens/?start=200&max-results=200", &rb).await);
    rest.extend(hrefs(
        &get_json(&app, "/api/oauth-tokens/?start=400&max-results=200", &rb).await,
    ));
    let all = [everything.clone(), rest].concat();
    assert_eq!(all.len(), 450);
    for start in [1, 37, 199, 333, 449, 450] {
        let path = format!("/api/oauth-tokens/?start={start}&max-results=25");
        let got = hrefs(&get_json(&app, &path, &rb).await);
        let to = (start + 25).min(all.len());
        assert_eq!(got, all[start..to], "start={start}");
    }

    let slash = [
        ("Authorization", format!("Bearer {}", app.key_a)),
        ("SlashID-OrgID", app.org_a.to_string()),
    ];
    let ids = |page: &Value| -> Vec<String> {
        page["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|c| c["client_id"].as_str().expect("id").to_owned())
            .collect()
    };
    let all = ids(&get_json(&app, "/oauth2/clients?limit=1000", &slash).await);
    assert_eq!(all.len(), 230);
    for offset in [1, 99, 200, 229, 230, 231] {
        let path = format!("/oauth2/clients?limit=50&offset={offset}");
        let got = ids(&get_json(&app, &path, &slash).await);
        let from = offset.min(all.len());
        let to = (from + 50).min(all.len());
        assert_eq!(got, all[from..to], "offset={offset}");
    }
}

backend_tests!(
    deep_offsets_return_the_same_rows_as_walking,
    dialect_offsets_line_up
);
