//! Property tests of the hostile-input surfaces, run in CI on stable Rust
//! (the cargo-fuzz targets in fuzz/ search the same functions for longer):
//! page-token decoding, the filter and order parsers and name globs. No
//! panic, and a mutated page token is always rejected. Every REST dialect's
//! query and body parsing has its own property test, tests/rest_properties.rs.

use oauth_registry::domain::Timestamp;
use oauth_registry::domain::cursor::{Cursor, CursorCodec, query_fingerprint};
use oauth_registry::domain::filter_expr::{client_filter, client_order, token_filter, token_order};
use oauth_registry::domain::glob::NameGlob;
use oauth_registry::domain::query::{Position, SortValue};
use proptest::prelude::*;

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn codec() -> CursorCodec {
    CursorCodec::new(b"property-test-key-0123456789abcdef".to_vec())
}

fn valid_token(id: &str, key: i64) -> (String, String) {
    let fp = query_fingerprint("tokens", "user_id=x", "Created desc");
    let cursor = Cursor {
        position: Position {
            key: Some(SortValue::Int(key)),
            id: id.to_owned(),
        },
        now: Timestamp::from_micros(1_700_000_000_000_000),
        read_version: oauth_registry::domain::change::Version(3),
    };
    (codec().encode("org-1", &fp, &cursor), fp)
}

/// Filter-ish text: the grammar's own words and symbols in random order,
/// which reaches deeper than uniformly random strings.
fn filterish() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "user_id",
        "client_id",
        "status",
        "kind",
        "create_time",
        "update_time",
        "scopes",
        "name",
        "grant_type",
        "public",
        "=",
        "!=",
        ">",
        "<=",
        ":",
        "AND",
        "OR",
        "NOT",
        "(",
        ")",
        "\"",
        "\"x\"",
        "ACTIVE",
        "REFRESH",
        "\"2024-01-01T00:00:00Z\"",
        "*",
        "?",
        "\\",
        " ",
        "desc",
        "asc",
        ",",
        "true",
        "\u{0}",
        "é",
        "🙂",
    ]);
    prop::collection::vec(atoms, 0..12).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_string_as_a_page_token_is_refused_without_panic(s in ".{0,300}") {
        let fp = query_fingerprint("tokens", "", "Created desc");
        prop_assert!(codec().decode("page_token", &s, "org-1", &fp).is_err());
    }

    #[test]
    fn every_mutation_of_a_valid_token_is_rejected(
        id in "[a-z0-9-]{1,40}",
        key in any::<i64>(),
        at in any::<prop::sample::Index>(),
        with in any::<prop::sample::Index>(),
        cut in any::<bool>(),
    ) {
        let (token, fp) = valid_token(&id, key);
        prop_assert!(codec().decode("page_token", &token, "org-1", &fp).is_ok());
        let mut bytes = token.into_bytes();
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            let mut c = B64URL[with.index(B64URL.len())];
            if c == bytes[i] {
                c = if c == b'A' { b'B' } else { b'A' };
            }
            bytes[i] = c;
        }
        let mutated = String::from_utf8(bytes).expect("ascii");
        prop_assert!(codec().decode("page_token", &mutated, "org-1", &fp).is_err());
        // Unchanged tokens are bound to their organization and query.
        let (token, fp) = valid_token(&id, key);
        prop_assert!(codec().decode("page_token", &token, "org-2", &fp).is_err());
    }

    #[test]
    fn parsers_never_panic(s in filterish(), raw in ".{0,200}") {
        for input in [&s, &raw] {
            let _ = token_filter(input);
            let _ = client_filter(input);
            let _ = token_order(input);
            let _ = client_order(input);
        }
    }

    #[test]
    fn globs_parse_without_panic_and_match_literally(s in ".{0,80}", name in "[a-zA-Z0-9 _.-]{0,40}") {
        if let Ok(g) = NameGlob::parse("name", &s) {
            let _ = (g.to_sqlite_glob(), g.to_like(), g.matches(&name));
        }
        // A pattern without wildcards matches exactly itself.
        if let Ok(g) = NameGlob::parse("name", &name) {
            prop_assert!(g.matches(&name));
        }
        if let Ok(g) = NameGlob::parse("name", "*") {
            prop_assert!(g.matches(&name));
        }
    }
}
