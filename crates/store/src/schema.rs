//! The embedded migrations, one list per backend.
//!
//! They are the files under `migrations/sqlite` and `migrations/postgres`, included at compile
//! time and run in order by sqlx's migrator at connect (which records them in
//! `_sqlx_migrations` and refuses a database whose applied migrations were edited since). The
//! list is written here rather than by `sqlx::migrate!` so the build needs no sqlx proc-macros
//! (which would compile SQLite a second time, for the host); a test checks that the lists and
//! the directories agree. Add a migration as the next numbered file in both directories and a
//! line in both lists; never edit one that was released.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

use crate::BackendKind;

/// (version, file name, SQL) of every SQLite migration, in order.
const SQLITE: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_engine_and_audit.sql",
        include_str!("../migrations/sqlite/0001_engine_and_audit.sql"),
    ),
    (
        2,
        "0002_vault.sql",
        include_str!("../migrations/sqlite/0002_vault.sql"),
    ),
    (
        3,
        "0003_queue.sql",
        include_str!("../migrations/sqlite/0003_queue.sql"),
    ),
    (
        4,
        "0004_runs.sql",
        include_str!("../migrations/sqlite/0004_runs.sql"),
    ),
    (
        5,
        "0005_watermarks.sql",
        include_str!("../migrations/sqlite/0005_watermarks.sql"),
    ),
    (
        6,
        "0006_rate_buckets.sql",
        include_str!("../migrations/sqlite/0006_rate_buckets.sql"),
    ),
    (
        7,
        "0007_run_flow.sql",
        include_str!("../migrations/sqlite/0007_run_flow.sql"),
    ),
    (
        8,
        "0008_triage_models.sql",
        include_str!("../migrations/sqlite/0008_triage_models.sql"),
    ),
    (
        9,
        "0009_api_tokens.sql",
        include_str!("../migrations/sqlite/0009_api_tokens.sql"),
    ),
    (
        10,
        "0010_api_token_expiry.sql",
        include_str!("../migrations/sqlite/0010_api_token_expiry.sql"),
    ),
];

/// (version, file name, SQL) of every PostgreSQL migration, in order.
const POSTGRES: &[(i64, &str, &str)] = &[
    (
        1,
        "0001_engine_and_audit.sql",
        include_str!("../migrations/postgres/0001_engine_and_audit.sql"),
    ),
    (
        2,
        "0002_vault.sql",
        include_str!("../migrations/postgres/0002_vault.sql"),
    ),
    (
        3,
        "0003_queue.sql",
        include_str!("../migrations/postgres/0003_queue.sql"),
    ),
    (
        4,
        "0004_runs.sql",
        include_str!("../migrations/postgres/0004_runs.sql"),
    ),
    (
        5,
        "0005_watermarks.sql",
        include_str!("../migrations/postgres/0005_watermarks.sql"),
    ),
    (
        6,
        "0006_rate_buckets.sql",
        include_str!("../migrations/postgres/0006_rate_buckets.sql"),
    ),
    (
        7,
        "0007_run_flow.sql",
        include_str!("../migrations/postgres/0007_run_flow.sql"),
    ),
    (
        8,
        "0008_triage_models.sql",
        include_str!("../migrations/postgres/0008_triage_models.sql"),
    ),
    (
        9,
        "0009_api_tokens.sql",
        include_str!("../migrations/postgres/0009_api_tokens.sql"),
    ),
    (
        10,
        "0010_api_token_expiry.sql",
        include_str!("../migrations/postgres/0010_api_token_expiry.sql"),
    ),
];

fn list(kind: BackendKind) -> &'static [(i64, &'static str, &'static str)] {
    match kind {
        BackendKind::Sqlite => SQLITE,
        BackendKind::Postgres => POSTGRES,
    }
}

/// The migrator for `kind`, as `sqlx::migrate!("migrations/<kind>")` would build it.
pub(crate) fn migrator(kind: BackendKind) -> Migrator {
    let migrations = list(kind)
        .iter()
        .map(|&(version, file, sql)| {
            Migration::new(
                version,
                Cow::Owned(description(file)),
                MigrationType::Simple,
                sql.into_sql_str(),
                false,
            )
        })
        .collect();
    Migrator::with_migrations(migrations)
}

/// `0001_engine_and_audit.sql` -> `engine and audit`, as sqlx describes a migration file.
fn description(file: &str) -> String {
    let stem = file.strip_suffix(".sql").unwrap_or(file);
    let rest = stem.split_once('_').map_or(stem, |(_, rest)| rest);
    rest.replace('_', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_hold_every_migration_file_in_order() {
        for kind in [BackendKind::Sqlite, BackendKind::Postgres] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(kind.as_str());
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|name| name.ends_with(".sql"))
                .collect();
            files.sort();
            let listed: Vec<&str> = list(kind).iter().map(|&(_, file, _)| file).collect();
            assert_eq!(files, listed, "{} migrations", kind);
            for (i, &(version, file, sql)) in list(kind).iter().enumerate() {
                assert_eq!(version, i as i64 + 1, "{file}");
                assert!(file.starts_with(&format!("{version:04}_")), "{file}");
                assert_eq!(std::fs::read_to_string(dir.join(file)).unwrap(), sql);
            }
        }
        assert_eq!(description("0001_engine_and_audit.sql"), "engine and audit");
    }

    #[test]
    fn both_backends_have_the_same_migrations() {
        let names = |kind| {
            list(kind)
                .iter()
                .map(|&(v, f, _)| (v, f))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(BackendKind::Sqlite), names(BackendKind::Postgres));
    }
}
