//! A fresh database per test: a SQLite file in a temporary directory, or a PostgreSQL schema of
//! its own in the database `TEST_POSTGRES_URL` names, so tests run in parallel without
//! seeing each other.

// Each test binary uses a part of this module.
#![allow(dead_code)]

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use stackhand_core::audit::DerivedAuditKeys;
use stackhand_store::{BackendKind, Store, redact_url};

/// Where the PostgreSQL tests connect unless `TEST_POSTGRES_URL` says otherwise.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The master key every store of a test derives its tenants' audit keys from, so that two
/// stores on one database (two processes) seal and verify the same chains.
const MASTER_KEY: &str = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";

/// One test's database.
pub struct Db {
    pub kind: BackendKind,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    schema: Option<(String, String)>,
}

impl Db {
    /// A fresh SQLite file.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        );
        Self {
            kind: BackendKind::Sqlite,
            url,
            _dir: Some(dir),
            schema: None,
        }
    }

    /// A fresh schema in the test PostgreSQL database. Fails (never skips) when no server
    /// answers, saying how to get one.
    pub async fn postgres() -> Self {
        let base =
            std::env::var("TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_string());
        let schema = format!("stackhand_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = connect_postgres(&base).await;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("creating schema {schema} in {}: {e}", redact_url(&base)));
        let _ = admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        Self {
            kind: BackendKind::Postgres,
            url,
            _dir: None,
            schema: Some((base, schema)),
        }
    }

    /// A new store on this database: a pool of its own, as another process would have.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url, keys())
            .await
            .unwrap_or_else(|e| panic!("connecting a store to {}: {e}", redact_url(&self.url)))
    }

    /// Run raw SQL on the database behind the store's back (to tamper, or to look).
    pub async fn exec(&self, sql: &str) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_string());
        match self.kind {
            BackendKind::Postgres => {
                let mut conn = connect_postgres(&self.url).await;
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected()
            }
            _ => {
                let options = SqliteConnectOptions::from_str(&self.url).unwrap();
                let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
                sqlx::raw_sql(sql)
                    .execute(&mut conn)
                    .await
                    .unwrap()
                    .rows_affected()
            }
        }
    }

    /// Every row of every table of this database (the test's schema on PostgreSQL), one line
    /// per row, each value rendered as the database renders it (binary columns in hex), with
    /// the table's name in front: what someone reading the database would see.
    pub async fn dump(&self) -> Vec<String> {
        match self.kind {
            BackendKind::Postgres => {
                let mut conn = connect_postgres(&self.url).await;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT table_name::text FROM information_schema.tables \
                     WHERE table_schema = current_schema() ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                let mut lines = Vec::new();
                for table in tables {
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT row_to_json(t)::text FROM \"{table}\" t"
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    lines.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
                }
                lines
            }
            _ => {
                let options = SqliteConnectOptions::from_str(&self.url).unwrap();
                let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1",
                )
                .fetch_all(&mut conn)
                .await
                .unwrap();
                let mut lines = Vec::new();
                for table in tables {
                    let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT name FROM pragma_table_info('{table}')"
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    let row = columns
                        .iter()
                        .map(|c| format!("quote(\"{c}\")"))
                        .collect::<Vec<_>>()
                        .join(" || ',' || ");
                    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                        "SELECT {row} FROM \"{table}\""
                    )))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                    lines.extend(rows.into_iter().map(|r| format!("{table}: {r}")));
                }
                lines
            }
        }
    }

    /// The SQLite database's files (the database, its WAL and shared-memory files), or none.
    pub fn files(&self) -> Vec<std::path::PathBuf> {
        let Some(dir) = &self._dir else {
            return Vec::new();
        };
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }

    /// Drop the PostgreSQL schema (a failed test leaves its schema for a look).
    pub async fn finish(self) {
        if let Some((base, schema)) = &self.schema {
            let mut admin = connect_postgres(base).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

/// The audit keys of every store in these tests.
pub fn keys() -> DerivedAuditKeys {
    DerivedAuditKeys::from_hex(MASTER_KEY).unwrap()
}

async fn connect_postgres(url: &str) -> PgConnection {
    let options = PgConnectOptions::from_str(url).unwrap_or_else(|e| {
        panic!(
            "TEST_POSTGRES_URL ({}) is not a PostgreSQL URL: {e}",
            redact_url(url)
        )
    });
    PgConnection::connect_with(&options)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "the PostgreSQL tests need a server, and none answered at {}: {e}\n\
             Start one: `scripts/ensure-postgres` (what `cargo xtask ci` runs) installs Debian's \
             postgresql package and starts a throw-away cluster on 127.0.0.1:5432 (trust auth, \
             database `test`) when none answers; or run `pg_ctlcluster <version> main start`, or point \
             TEST_POSTGRES_URL at a server where this user may create schemas \
             (postgres://user[:password]@host:port/database).",
                redact_url(url)
            )
        })
}
