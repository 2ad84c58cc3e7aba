//! A scratch database for unit tests: a migrated SQLite file in a fresh temporary folder, with
//! its pool and its writer, as the server opens them.
use std::time::Duration;

use super::{Database, Writer};

/// The file's name inside the folder (its WAL is this name with `-wal`).
pub const FILE: &str = "scratch.db";

/// The folder (deleted when dropped: keep it alive), the database with a pool of 2, and its
/// writer.
pub async fn sqlite() -> (tempfile::TempDir, Database, Writer) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join(FILE).display());
    let db = Database::connect(&url, 2, Duration::from_secs(5))
        .await
        .unwrap();
    let writer = Writer::open(&db).await.unwrap();
    (dir, db, writer)
}
