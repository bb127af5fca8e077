//! The AIP-160 filter subset and `order_by` parsers: never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_registry::domain::filter_expr::{client_filter, client_order, token_filter, token_order};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = token_filter(s);
        let _ = client_filter(s);
        let _ = token_order(s);
        let _ = client_order(s);
    }
});
