//! Time filters compare exactly although times are stored to the
//! microsecond: a value with digits below a microsecond is rounded per
//! operator (`>=` and `<` up, `<=` and `>` down) and `=` matches nothing.

use crate::common::{Backend, authed, spawn_app, token_for};
use oauth_registry::domain::Timestamp;
use oauth_registry::grpc::pb;

/// `t` in RFC 3339 with nine fractional digits, plus `extra_nanos`.
fn with_nanos(t: Timestamp, extra_nanos: u32) -> String {
    let text = t.to_rfc3339();
    let base = text.trim_end_matches('Z');
    let (whole, fraction) = base.split_once('.').unwrap_or((base, ""));
    format!("{whole}.{fraction:0<6}{extra_nanos:03}Z")
}

async fn time_filters_compare_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    let (token, _) = app
        .create_token(&app.key_a, token_for("timekeeper", "t"))
        .await;
    let created = token.create_time.expect("create_time");
    let at = Timestamp::from_parts(created.seconds, created.nanos).expect("in range");
    let count = |filter: String| {
        let mut tokens = app.tokens();
        let key = app.key_a.clone();
        async move {
            tokens
                .count_tokens(authed(
                    &key,
                    pb::CountTokensRequest {
                        filter: format!("user_id = \"timekeeper\" AND {filter}"),
                    },
                ))
                .await
                .expect("count")
                .into_inner()
                .total_size
        }
    };
    let exact = with_nanos(at, 0);
    let finer = with_nanos(at, 999);
    for (filter, expected) in [
        (format!("create_time = \"{exact}\""), 1),
        (format!("create_time >= \"{exact}\""), 1),
        (format!("create_time <= \"{exact}\""), 1),
        (format!("create_time < \"{exact}\""), 0),
        (format!("create_time > \"{exact}\""), 0),
        // 999 ns after the stored microsecond:
        (format!("create_time = \"{finer}\""), 0),
        (format!("create_time < \"{finer}\""), 1),
        (format!("create_time <= \"{finer}\""), 1),
        (format!("create_time >= \"{finer}\""), 0),
        (format!("create_time > \"{finer}\""), 0),
    ] {
        assert_eq!(count(filter.clone()).await, expected, "{filter}");
    }
}

backend_tests!(time_filters_compare_exactly);
