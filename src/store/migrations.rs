//! The schema migrations, embedded in the binary and listed here by hand.
//! `sqlx::migrate!` would find them itself, but it needs sqlx's `macros`
//! feature, which compiles sqlx, both drivers and SQLite a second time for
//! the build host. Each migration's checksum is the same SHA-384 of its file
//! the macro records, so databases migrated by either agree.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQL) of one migration file `NNNN_description.sql`.
type Embedded = (i64, &'static str, &'static str);

pub const SQLITE: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../../migrations/sqlite/0001_init.sql"),
    ),
    (
        2,
        "revoked at index",
        include_str!("../../migrations/sqlite/0002_revoked_at_index.sql"),
    ),
    (
        3,
        "change feed",
        include_str!("../../migrations/sqlite/0003_change_feed.sql"),
    ),
    (
        5,
        "token secret index",
        include_str!("../../migrations/sqlite/0005_token_secret_index.sql"),
    ),
    (
        6,
        "bulk jobs",
        include_str!("../../migrations/sqlite/0006_bulk_jobs.sql"),
    ),
    (
        7,
        "audit events",
        include_str!("../../migrations/sqlite/0007_audit_events.sql"),
    ),
];

pub const POSTGRES: &[Embedded] = &[
    (
        1,
        "init",
        include_str!("../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "revoked at index",
        include_str!("../../migrations/postgres/0002_revoked_at_index.sql"),
    ),
    (
        3,
        "change feed",
        include_str!("../../migrations/postgres/0003_change_feed.sql"),
    ),
    (
        4,
        "change notify",
        include_str!("../../migrations/postgres/0004_change_notify.sql"),
    ),
    (
        5,
        "token secret index",
        include_str!("../../migrations/postgres/0005_token_secret_index.sql"),
    ),
    (
        6,
        "bulk jobs",
        include_str!("../../migrations/postgres/0006_bulk_jobs.sql"),
    ),
    (
        7,
        "audit events",
        include_str!("../../migrations/postgres/0007_audit_events.sql"),
    ),
    (
        8,
        "change notify after commit",
        include_str!("../../migrations/postgres/0008_change_notify_after_commit.sql"),
    ),
];

/// A migrator over `embedded`, as `sqlx::migrate!` would build it.
pub fn migrator(embedded: &[Embedded]) -> Migrator {
    Migrator::with_migrations(
        embedded
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file under migrations/<backend>/ is listed, in order, with the
    /// version and description its name gives.
    #[test]
    fn every_migration_file_is_embedded() {
        for (dir, embedded) in [("sqlite", SQLITE), ("postgres", POSTGRES)] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .expect("migrations directory")
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|f| f.ends_with(".sql"))
                .collect();
            files.sort();
            let listed: Vec<String> = embedded
                .iter()
                .map(|(v, d, _)| format!("{v:04}_{}.sql", d.replace(' ', "_")))
                .collect();
            assert_eq!(files, listed, "migrations/{dir}");
            for (file, (_, _, sql)) in files.iter().zip(embedded) {
                let on_disk = std::fs::read_to_string(path.join(file)).expect("read");
                assert_eq!(&on_disk, sql, "{file}");
            }
        }
    }
}
