//! The project stands alone: nothing it builds, tests or runs may read the
//! folder that happens to sit beside CI's checkout. Every fixture lives in
//! `tests/fixtures/`.

use std::path::Path;

/// Spelled in two halves so this file does not name it itself.
const OUTSIDE: &str = concat!("..", "/shared");

fn scan(path: &Path, hits: &mut Vec<String>) {
    let generated = ["target", "corpus", "artifacts"];
    if path
        .file_name()
        .is_some_and(|n| generated.iter().any(|g| n == *g))
    {
        return;
    }
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .expect("readable directory")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .collect();
        entries.sort();
        for p in entries {
            scan(&p, hits);
        }
    } else if let Ok(text) = std::fs::read_to_string(path) {
        for (i, line) in text.lines().enumerate() {
            if line.contains(OUTSIDE) {
                hits.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
            }
        }
    }
}

#[test]
fn nothing_reads_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut hits = Vec::new();
    for part in [
        "src",
        "tests",
        "build.rs",
        "bench",
        "scripts",
        "fuzz",
        ".ci",
        "Cargo.toml",
    ] {
        let path = root.join(part);
        if path.exists() {
            scan(&path, &mut hits);
        }
    }
    assert!(
        hits.is_empty(),
        "these lines name {OUTSIDE}, which only CI has beside its clone; put what they need under tests/fixtures/:\n{}",
        hits.join("\n")
    );
}
