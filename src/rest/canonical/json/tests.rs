//! The direct serializers against the former path (pbjson into a
//! `serde_json::Value`, timestamps normalized, the tree written), byte for
//! byte, on random messages: every field set or unset, odd strings,
//! timestamps from year -100 to 12000 at every precision, out-of-range
//! times and unknown enum numbers (both paths fail on those).

use pbjson_types::{Duration, Empty, Timestamp};
use proptest::prelude::*;
use serde::Serialize;

use super::Out;
use crate::grpc::pb;
use crate::rest::openapi::proto::normalize_timestamps;

/// The former path: what `respond` wrote before.
fn old<T: Serialize>(m: &T, name: &str) -> Option<String> {
    let mut v = serde_json::to_value(m).ok()?;
    normalize_timestamps(&mut v, name);
    Some(v.to_string())
}

fn new<T>(m: &T) -> Option<String>
where
    for<'a> Out<'a, T>: Serialize,
{
    serde_json::to_string(&Out(m)).ok()
}

fn same<T>(m: &T, name: &str) -> Result<(), TestCaseError>
where
    T: Serialize,
    for<'a> Out<'a, T>: Serialize,
{
    prop_assert_eq!(new(m), old(m, name));
    Ok(())
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 _\"\\\\/é\u{1F600}\n\t<>&-]{1,12}"
    ]
}

fn texts() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(text(), 0..3)
}

/// Mostly known values, sometimes a number the enum lacks.
fn enum_number() -> impl Strategy<Value = i32> {
    prop_oneof![9 => 0..3i32, 1 => -1..6i32]
}

fn int64() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), any::<i64>()]
}

/// Whole seconds, millis, micros, nanos, and now and then a leap second
/// or an invalid nanos value.
fn nanos() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        (0..1000i32).prop_map(|m| m * 1_000_000),
        (0..1_000_000i32).prop_map(|u| u * 1000),
        0..1_000_000_000i32,
        1_000_000_000..2_000_000_000i32,
        -2..0i32,
    ]
}

fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
    // Years -100 to about 12000.
    let seconds = -65_000_000_000i64..316_000_000_000;
    prop::option::of((seconds, nanos()).prop_map(|(seconds, nanos)| Timestamp { seconds, nanos }))
}

fn duration() -> impl Strategy<Value = Option<Duration>> {
    prop::option::of(
        (-1_000_000i64..1_000_000, -999_999_999i32..1_000_000_000)
            .prop_map(|(seconds, nanos)| Duration { seconds, nanos }),
    )
}

fn token() -> impl Strategy<Value = pb::Token> {
    let strings = (
        text(),
        text(),
        text(),
        text(),
        text(),
        texts(),
        text(),
        text(),
    );
    let more = (
        text(),
        text(),
        enum_number(),
        text(),
        enum_number(),
        enum_number(),
        text(),
    );
    let times = (text(), timestamp(), timestamp(), timestamp(), timestamp());
    (strings, more, times).prop_map(|(s, m, t)| pb::Token {
        id: s.0,
        client_id: s.1,
        user_id: s.2,
        audience: s.3,
        subject: s.4,
        scopes: s.5,
        name: s.6,
        description: s.7,
        default_role: m.0,
        code_challenge: m.1,
        code_challenge_method: m.2,
        redirect_uri: m.3,
        kind: m.4,
        status: m.5,
        etag: m.6,
        secret_prefix: t.0,
        expire_time: t.1,
        create_time: t.2,
        update_time: t.3,
        revoke_time: t.4,
    })
}

fn client() -> impl Strategy<Value = pb::Client> {
    let lists = (
        text(),
        text(),
        texts(),
        texts(),
        texts(),
        texts(),
        any::<bool>(),
    );
    let rest = (
        duration(),
        duration(),
        text(),
        timestamp(),
        timestamp(),
        timestamp(),
        text(),
    );
    (lists, rest).prop_map(|(l, r)| pb::Client {
        client_id: l.0,
        client_name: l.1,
        grant_types: l.2,
        response_types: l.3,
        scopes: l.4,
        redirect_uris: l.5,
        public: l.6,
        access_token_duration: r.0,
        refresh_token_duration: r.1,
        secret_prefix: r.2,
        create_time: r.3,
        update_time: r.4,
        last_use_time: r.5,
        etag: r.6,
    })
}

proptest! {
    #[test]
    fn tokens(t in token()) {
        same(&t, "Token")?;
    }

    #[test]
    fn clients(c in client()) {
        same(&c, "Client")?;
    }

    #[test]
    fn token_pages(
        tokens in prop::collection::vec(token(), 0..3),
        next in text(),
        total in prop::option::of(int64()),
        version in int64(),
    ) {
        let page = pb::ListTokensResponse { tokens, next_page_token: next, total_size: total, read_version: version };
        same(&page, "ListTokensResponse")?;
    }

    #[test]
    fn client_pages(
        clients in prop::collection::vec(client(), 0..3),
        next in text(),
        total in prop::option::of(int64()),
        version in int64(),
    ) {
        let page = pb::ListClientsResponse { clients, next_page_token: next, total_size: total, read_version: version };
        same(&page, "ListClientsResponse")?;
    }

    #[test]
    fn created(token in prop::option::of(token()), client in prop::option::of(client()), secret in text()) {
        same(&pb::CreateTokenResponse { token, secret: secret.clone() }, "CreateTokenResponse")?;
        same(&pb::CreateClientResponse { client, client_secret: secret }, "CreateClientResponse")?;
    }

    #[test]
    fn counts_and_bulk_runs(
        n in (int64(), int64(), int64()),
        sample in prop::collection::vec(token(), 0..3),
        confirmation in text(),
        finished in any::<bool>(),
    ) {
        same(&pb::CountTokensResponse { total_size: n.0 }, "CountTokensResponse")?;
        let bulk = pb::BulkTokensResponse {
            matched: n.0, sample, confirmation_token: confirmation, done: n.1, remaining: n.2, finished,
        };
        same(&bulk, "BulkTokensResponse")?;
    }

    #[test]
    fn watch_events(
        kind in enum_number(),
        token in prop::option::of(token()),
        client in prop::option::of(client()),
        version in int64(),
        resume in text(),
        at in timestamp(),
    ) {
        let t = pb::WatchTokensResponse { kind, token, version, resume_token: resume.clone(), change_time: at };
        same(&t, "WatchTokensResponse")?;
        let c = pb::WatchClientsResponse { kind, client, version, resume_token: resume, change_time: at };
        same(&c, "WatchClientsResponse")?;
    }
}

#[test]
fn empty_is_an_empty_object() {
    assert_eq!(new(&Empty {}).as_deref(), Some("{}"));
    assert_eq!(new(&Empty {}), old(&Empty {}, "Empty"));
}

/// The edges of the timestamp rule, each against the former path.
#[test]
fn timestamps_at_the_edges() {
    let at = |seconds, nanos| pb::Token {
        create_time: Some(Timestamp { seconds, nanos }),
        ..Default::default()
    };
    let cases = [
        (253_402_300_799, 999_999_999), // 9999-12-31T23:59:59.999999999Z
        (253_402_300_800, 0),           // year 10000: no RFC 3339 form
        (-62_167_219_200, 0),           // 0000-01-01T00:00:00Z
        (-62_167_219_201, 0),           // year -1
        (1_719_792_059, 1_500_000_000), // a leap second
        (1_719_792_000, 1_500_000_000), // not a leap second: invalid
        (0, -1),
        (1_706_929_506, 100_000_000),
        (1_706_929_506, 100_200_000),
        (1_706_929_506, 100_200_300),
    ];
    for (seconds, nanos) in cases {
        let t = at(seconds, nanos);
        assert_eq!(new(&t), old(&t, "Token"), "{seconds}.{nanos}");
    }
    assert_eq!(
        new(&at(1_706_929_506, 100_000_000)).as_deref(),
        Some(r#"{"createTime":"2024-02-03T03:05:06.100Z"}"#)
    );
}

/// The calendar arithmetic (`civil`) on days across the whole range, with
/// a second before and after midnight, against chrono's: every 7th day
/// from 0000-01-01 to 9999-12-31, and every day around the century leap
/// rules (1900, 2000) and year 0.
#[test]
fn every_seventh_day_of_years_0_to_9999() {
    let first = super::time::FIRST_SECOND / 86_400;
    let last = super::time::LAST_SECOND / 86_400;
    let around = |day: i64| (day - 70..day + 70).filter(move |d| (first..=last).contains(d));
    let days = (first..=last)
        .step_by(7)
        .chain(around(first))
        .chain(around(-25_508)) // 1900-03-01
        .chain(around(11_016)) // 2000-03-01
        .chain(around(last));
    for day in days {
        for seconds in [day * 86_400, day * 86_400 + 86_399] {
            let t = pb::Token {
                create_time: Some(Timestamp { seconds, nanos: 0 }),
                ..Default::default()
            };
            assert_eq!(new(&t), old(&t, "Token"), "{seconds}");
        }
    }
}
