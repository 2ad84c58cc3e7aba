//! The writer's background WAL checkpoints, tested here rather than in `writer.rs`: the test
//! writes through [`Users`], which itself writes through the writer, and a test inside
//! `writer.rs` would make the two files import each other.

use super::{Users, scratch, writer::CHECKPOINT_INTERVAL};

/// The writer never checkpoints, so without the background task the WAL would grow with
/// every write. With it, the file stays near what one burst of writes needs.
#[tokio::test]
async fn the_wal_is_checkpointed_in_the_background_and_stops_growing() {
    let (dir, db, writer) = scratch::sqlite().await;
    let users = Users::new(db.clone(), writer.clone());
    let wal_file = dir.path().join(format!("{}-wal", scratch::FILE));
    let wal = || std::fs::metadata(&wal_file).map_or(0, |m| m.len());
    let mut first_burst = 0;
    for burst in 0..8u64 {
        for n in 0..200 {
            let phone = format!("+7912{:07}", burst * 1000 + n);
            users.find_or_register(&phone, 0).await.unwrap();
        }
        if burst == 0 {
            first_burst = wal();
        }
        // Longer than CHECKPOINT_INTERVAL: a checkpoint runs between bursts. This sleeps on
        // purpose: the checkpointer is a real background task on tokio's timer, and what is
        // measured is the file on disk, not a deadline the service's clock could move.
        tokio::time::sleep(CHECKPOINT_INTERVAL * 2).await;
    }
    let last = wal();
    assert!(first_burst > 0, "the writes went through the WAL");
    // Without checkpoints the WAL holds all 8 bursts (≈ 8× the first); with them, about
    // one (≤ 2× the first even when a checkpoint happened to split the first burst).
    assert!(
        last < first_burst * 4,
        "the WAL grew from {first_burst} to {last} bytes over 8 bursts: not checkpointed"
    );
    writer.close().await;
    db.close().await;
}
