//! The SQL of a change append that goes in one statement (one round trip;
//! on SQLite one hand-off to its connection's thread), for both engines:
//! the write's token (when it is one create), its audit event, the events
//! and, on SQLite, the counter bump (`versions.rs`).

use super::changes::CHANGE_COLUMNS;
use super::sql::Engine;

/// Events appended with their write's audit event in one statement (one
/// round trip; larger appends take the chunked path).
pub const ONE_STATEMENT_EVENTS: usize = 32;
/// Parameters per event in [`one_statement_append`].
const EVENT_PARAMS: usize = 7;

/// The append as one statement, and on SQLite one round trip to its
/// connection's thread: number the events (SQLite: bump the
/// organization's counter by `rows`, the events take the numbers below the
/// new value; PostgreSQL: from the transaction's id), insert them, and,
/// with `audit`, the call's audit event; with `lead` (a statement and its
/// parameter count), that statement first, so a write and its events make
/// one round trip. Parameters: the lead's, org, rows, then per event its
/// ordinal from 1
/// and the event's columns, then the audit event's
/// ([`super::audit_log::AUDIT_COLUMNS`]). PostgreSQL runs the inserts as
/// data-modifying WITH clauses; SQLite, which has none, as three statements
/// of one query string (sqlx numbers `$n` across them).
pub fn one_statement_append(
    engine: Engine,
    rows: usize,
    audit: bool,
    lead: Option<(&str, usize)>,
) -> String {
    use super::audit_log::{AUDIT_COLUMNS, AUDIT_COUNT};
    let pg = engine == Engine::Postgres;
    let off = lead.map_or(0, |(_, n)| n);
    let casts = [
        "::bigint", "::text", "::text", "::text", "::text", "::text", "::bigint",
    ];
    let values: Vec<String> = (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..EVENT_PARAMS)
                .map(|i| {
                    let cast = if pg { casts[i] } else { "" };
                    format!("${}{cast}", off + r * EVENT_PARAMS + i + 3)
                })
                .collect();
            format!("({})", cells.join(", "))
        })
        .collect();
    let values = values.join(", ");
    let audit_values = audit.then(|| {
        let first = off + rows * EVENT_PARAMS + 3;
        let cells: Vec<String> = (first..first + AUDIT_COUNT)
            .map(|n| format!("${n}"))
            .collect();
        format!(
            "INSERT INTO audit_events ({AUDIT_COLUMNS}) VALUES ({})",
            cells.join(", ")
        )
    });
    let (o, n) = (off + 1, off + 2);
    let bump = format!(
        "INSERT INTO org_versions (org_id, version) VALUES (${o}, ${n}) \
         ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + excluded.version"
    );
    if pg {
        // No counter: the transaction's id numbers its changes
        // (`versions.rs`); `$n` stays bound so both engines share binds.
        let mut ctes: Vec<String> = Vec::new();
        if let Some((lead, _)) = lead {
            ctes.push(format!("l AS ({lead})"));
        }
        if let Some(a) = audit_values {
            ctes.push(format!("a AS ({a})"));
        }
        let with = match ctes.is_empty() {
            true => String::new(),
            false => format!("WITH {} ", ctes.join(", ")),
        };
        let base = super::versions::PG_TRANSACTION_BASE_EXPR;
        format!(
            "{with}INSERT INTO changes ({CHANGE_COLUMNS}) \
             SELECT ${o}, {base} + e.k, e.resource, e.kind, e.resource_id, e.before, e.after, e.changed_at \
             FROM (VALUES {values}) AS e (k, resource, kind, resource_id, before, after, changed_at) \
             WHERE ${n}::bigint > 0"
        )
    } else {
        let lead = lead.map(|(l, _)| format!("{l}; ")).unwrap_or_default();
        let audit = audit_values.map(|a| format!("{a}; ")).unwrap_or_default();
        format!(
            "{lead}{audit}{bump}; \
             INSERT INTO changes ({CHANGE_COLUMNS}) \
             SELECT ${o}, (SELECT version FROM org_versions WHERE org_id = ${o}) - ${n} + e.column1, \
             e.column2, e.column3, e.column4, e.column5, e.column6, e.column7 \
             FROM (VALUES {values}) AS e"
        )
    }
}
