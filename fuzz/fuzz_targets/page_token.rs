//! Page-token decoding: any input is refused (never accepted: the fuzzer
//! cannot forge the HMAC) and never panics; a valid token with the input
//! XORed into it is refused unless the input changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::cursor::{Cursor, CursorCodec, query_fingerprint};
use oauth_registry::domain::query::{Position, SortValue};

fuzz_target!(|data: &[u8]| {
    let codec = CursorCodec::new(b"fuzz-key".to_vec());
    let fp = query_fingerprint("tokens", "", "Created desc");
    if let Ok(s) = std::str::from_utf8(data) {
        assert!(codec.decode("page_token", s, "org", &fp).is_err());
    }
    let cursor = Cursor {
        position: Position {
            key: SortValue::Int(42),
            id: "0190".into(),
        },
        now: Timestamp::from_micros(1),
    };
    let token = codec.encode("org", &fp, &cursor);
    let mut bytes = token.clone().into_bytes();
    for (b, d) in bytes.iter_mut().zip(data) {
        *b ^= d;
    }
    if let Ok(mutated) = String::from_utf8(bytes)
        && mutated != token
    {
        assert!(codec.decode("page_token", &mutated, "org", &fp).is_err());
    }
});
