//! `Store::get_clients`, the batch lookup behind the Review Board listing's
//! application names, on both backends: the organization's clients among
//! the ids, each once, whatever the order, duplicates or unknown ids, in
//! one query per page; and the Review Board page naming every token's
//! client when a page spans many clients.

use std::collections::BTreeMap;

use crate::common::{Backend, TestApp, spawn_app, token_rows};
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::ids::{ClientId, OrgId};
use oauth_registry::domain::model::Client;
use oauth_registry::domain::oauth::GrantType;
use oauth_registry::store::sql::MAX_IN_LIST;
use serde_json::Value;

fn new_id() -> ClientId {
    ClientId::parse("id", &uuid::Uuid::now_v7().to_string()).expect("id")
}

async fn client(app: &TestApp, org: &OrgId, name: &str) -> Client {
    let now = Timestamp::now();
    let c = Client {
        id: new_id(),
        org_id: org.clone(),
        name: name.into(),
        grant_types: vec![GrantType::ClientCredentials],
        response_types: vec![],
        scopes: vec![],
        redirect_uris: vec![],
        public: true,
        access_token_duration: 86_400,
        refresh_token_duration: 864_000,
        secret_prefix: None,
        created_at: now,
        updated_at: now,
        last_used: None,
    };
    app.registry
        .store()
        .insert_client(&c, None)
        .await
        .expect("insert client");
    c
}

fn names(clients: Vec<Client>) -> Vec<String> {
    let mut v: Vec<String> = clients.into_iter().map(|c| c.name).collect();
    v.sort();
    v
}

async fn get_clients_returns_the_orgs_clients_among_the_ids(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.registry.store();
    let a1 = client(&app, &app.org_a, "a1").await;
    let a2 = client(&app, &app.org_a, "a2").await;
    let a3 = client(&app, &app.org_a, "a3").await;
    let b1 = client(&app, &app.org_b, "b1").await;
    let unknown = new_id();

    let got = store
        .get_clients(&app.org_a, &[a3.id.clone(), a1.id.clone()])
        .await
        .expect("get_clients");
    assert_eq!(names(got), ["a1", "a3"]);

    // Unknown ids and another organization's clients are left out;
    // duplicates give the client once.
    let ids = [
        a2.id.clone(),
        unknown.clone(),
        b1.id.clone(),
        a2.id.clone(),
        a1.id.clone(),
    ];
    let got = store.get_clients(&app.org_a, &ids).await.expect("mixed");
    assert_eq!(names(got), ["a1", "a2"]);
    let got = store.get_clients(&app.org_b, &ids).await.expect("org b");
    assert_eq!(names(got), ["b1"]);

    let got = store.get_clients(&app.org_a, &[]).await.expect("no ids");
    assert!(got.is_empty());

    // More ids than one IN list binds: split, and still each client once
    // (a duplicate on either side of a split included).
    let mut many: Vec<ClientId> = (0..2 * MAX_IN_LIST + 17).map(|_| new_id()).collect();
    many[0] = a1.id.clone();
    many[MAX_IN_LIST - 1] = a2.id.clone();
    many[MAX_IN_LIST] = a2.id.clone();
    many[2 * MAX_IN_LIST + 16] = a3.id.clone();
    let got = store.get_clients(&app.org_a, &many).await.expect("many");
    assert_eq!(names(got), ["a1", "a2", "a3"]);
}

/// A Review Board page over tokens of many clients names each token's
/// client (and `""` for a token without one).
async fn reviewboard_page_names_every_tokens_client(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut clients = Vec::new();
    for i in 0..40 {
        clients.push(client(&app, &app.org_a, &format!("app {i:02}")).await);
    }
    let mut rows = token_rows(&app.org_a, 150);
    let mut want = BTreeMap::new();
    for (i, r) in rows.iter_mut().enumerate() {
        let name = if i % 7 == 6 {
            String::new()
        } else {
            let c = &clients[i % clients.len()];
            r.token.client_id = Some(c.id.clone());
            c.name.clone()
        };
        want.insert(r.token.id.to_string(), name);
    }
    app.registry
        .store()
        .insert_tokens(&rows)
        .await
        .expect("insert tokens");
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
    let key = oauth_registry::domain::secret::ExposeSecret::expose_secret(&superuser.secret);
    let mut got = BTreeMap::new();
    for start in [0, 100] {
        let page: Value = reqwest::Client::new()
            .get(format!(
                "{}/api/oauth-tokens/?start={start}&max-results=100",
                app.rest
            ))
            .header("Authorization", format!("token {key}"))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON page");
        for t in page["oauth_tokens"].as_array().expect("items") {
            let href = t["links"]["self"]["href"].as_str().expect("href");
            let id = href.trim_end_matches('/').rsplit('/').next().expect("id");
            let app_name = t["application"].as_str().expect("application");
            got.insert(id.to_owned(), app_name.to_owned());
        }
    }
    assert_eq!(got, want);
}

backend_tests!(
    get_clients_returns_the_orgs_clients_among_the_ids,
    reviewboard_page_names_every_tokens_client
);
