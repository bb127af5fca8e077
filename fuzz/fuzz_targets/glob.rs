//! Name globs: parsing and matching never panic; a parsed pattern always
//! matches a name built from it by dropping its wildcards' special meaning
//! only when it has none.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_registry::domain::glob::NameGlob;

fuzz_target!(|data: (&str, &str)| {
    let (pattern, name) = data;
    if let Ok(g) = NameGlob::parse("name", pattern) {
        let _ = (g.to_sqlite_glob(), g.to_like(), g.matches(name));
        if !pattern.contains(['*', '?']) && !pattern.contains('\\') {
            assert!(g.matches(pattern));
        }
    }
});
