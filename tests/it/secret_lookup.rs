//! Finding and revoking a token by its secret, on both backends: gRPC
//! LookupToken and RevokeTokenBySecret, canonical `POST /v1/tokens:lookup`,
//! and RFC 7009 revocation at `POST /v1/oauth/revoke` (200 for unknown
//! tokens, RFC 6749 error bodies). Another organization's secret finds
//! nothing, and no error quotes more of a secret than its public prefix.

use crate::common::{Backend, authed, spawn_app, token_for};
use oauth_registry::domain::auth::Permission;
use oauth_registry::grpc::pb;
use tonic::Code;

async fn lookup_and_revoke_over_grpc(backend: Backend) {
    let app = spawn_app(backend).await;
    let (t, secret) = app
        .create_token(&app.key_a, token_for("alice", "leaked"))
        .await;
    let mut api = app.tokens();
    let found = api
        .lookup_token(authed(
            &app.key_a,
            pb::LookupTokenRequest {
                secret: secret.clone(),
            },
        ))
        .await
        .expect("lookup")
        .into_inner();
    assert_eq!(found.id, t.id);

    // Unknown secret, another organization's secret, a changed character.
    let mut other = secret.clone();
    other.pop();
    other.push(if secret.ends_with('A') { 'B' } else { 'A' });
    for (key, s) in [(&app.key_a, other.as_str()), (&app.key_b, secret.as_str())] {
        let e = api
            .lookup_token(authed(
                key,
                pb::LookupTokenRequest {
                    secret: s.to_owned(),
                },
            ))
            .await
            .expect_err("not found");
        assert_eq!(e.code(), Code::NotFound);
        assert!(
            !e.message().contains(&s[12..]),
            "quotes only the prefix: {}",
            e.message()
        );
    }
    let empty = api
        .lookup_token(authed(
            &app.key_a,
            pb::LookupTokenRequest {
                secret: String::new(),
            },
        ))
        .await
        .expect_err("empty");
    assert_eq!(empty.code(), Code::InvalidArgument);
    let writer = app
        .key(&app.org_a, None, vec![Permission::TokensWrite])
        .await;
    let denied = api
        .lookup_token(authed(
            &writer,
            pb::LookupTokenRequest {
                secret: secret.clone(),
            },
        ))
        .await
        .expect_err("needs tokens:read");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Org B cannot revoke org A's token by its secret.
    let e = api
        .revoke_token_by_secret(authed(
            &app.key_b,
            pb::RevokeTokenBySecretRequest {
                secret: secret.clone(),
            },
        ))
        .await
        .expect_err("other org");
    assert_eq!(e.code(), Code::NotFound);
    let revoked = api
        .revoke_token_by_secret(authed(
            &writer,
            pb::RevokeTokenBySecretRequest {
                secret: secret.clone(),
            },
        ))
        .await
        .expect("revoke")
        .into_inner();
    assert_eq!(revoked.id, t.id);
    let first = revoked.revoke_time.expect("revoked");
    let again = api
        .revoke_token_by_secret(authed(&writer, pb::RevokeTokenBySecretRequest { secret }))
        .await
        .expect("idempotent")
        .into_inner();
    assert_eq!(
        again.revoke_time,
        Some(first),
        "the first revocation time is kept"
    );
}

async fn lookup_and_rfc7009_over_rest(backend: Backend) {
    let app = spawn_app(backend).await;
    let (t, secret) = app
        .create_token(&app.key_a, token_for("alice", "rest"))
        .await;
    let http = reqwest::Client::new();
    let lookup = |key: &str, secret: &str| {
        http.post(format!("{}/v1/tokens:lookup", app.rest))
            .bearer_auth(key)
            .json(&serde_json::json!({"secret": secret}))
            .send()
    };
    let r = lookup(&app.key_a, &secret).await.expect("lookup");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!(body["id"], t.id.as_str());
    let r = lookup(&app.key_b, &secret).await.expect("lookup b");
    assert_eq!(r.status(), 404);

    let revoke = |key: Option<&str>, form: &str, content_type: &str| {
        let mut req = http
            .post(format!("{}/v1/oauth/revoke", app.rest))
            .header("content-type", content_type)
            .body(form.to_owned());
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        req.send()
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    // Unknown token: 200, as RFC 7009 §2.2 requires.
    let r = revoke(
        Some(&app.key_a),
        "token=oat_unknown&token_type_hint=access_token",
        FORM,
    )
    .await
    .expect("revoke unknown");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.expect("body"), "");
    // Another organization's key does not revoke it.
    let r = revoke(Some(&app.key_b), &format!("token={secret}"), FORM)
        .await
        .expect("org b");
    assert_eq!(r.status(), 200);
    let still = lookup(&app.key_a, &secret)
        .await
        .expect("lookup")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert!(
        still.get("revokeTime").is_none(),
        "org B's call revoked nothing"
    );
    // The owner's key revokes it.
    let r = revoke(
        Some(&app.key_a),
        &format!("token={secret}&token_type_hint=refresh_token"),
        FORM,
    )
    .await
    .expect("revoke");
    assert_eq!(r.status(), 200);
    let now = lookup(&app.key_a, &secret)
        .await
        .expect("lookup")
        .json::<serde_json::Value>()
        .await
        .expect("json");
    assert!(now["revokeTime"].is_string(), "{now}");

    for (key, form, ct, status, error) in [
        (
            Some(app.key_a.as_str()),
            "token_type_hint=access_token",
            FORM,
            400,
            "invalid_request",
        ),
        (
            Some(app.key_a.as_str()),
            "token=a&token=b",
            FORM,
            400,
            "invalid_request",
        ),
        (
            Some(app.key_a.as_str()),
            r#"{"token":"x"}"#,
            "application/json",
            400,
            "invalid_request",
        ),
        (None, "token=x", FORM, 401, "invalid_client"),
        (Some("oak_wrong"), "token=x", FORM, 401, "invalid_client"),
    ] {
        let r = revoke(key, form, ct).await.expect("call");
        assert_eq!(r.status(), status, "{form}");
        if status == 401 {
            assert!(r.headers().contains_key("www-authenticate"));
        }
        let body: serde_json::Value = r.json().await.expect("RFC 6749 error body");
        assert_eq!(body["error"], error, "{form}: {body}");
    }
    let reader = app
        .key(&app.org_a, None, vec![Permission::TokensRead])
        .await;
    let r = revoke(Some(&reader), "token=x", FORM).await.expect("call");
    assert_eq!(r.status(), 403);
}

crate::backend_tests!(lookup_and_revoke_over_grpc, lookup_and_rfc7009_over_rest);
