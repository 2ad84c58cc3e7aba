//! Group commit: the writes of many calls in one transaction. Calls queue to one task, which
//! takes whatever has queued (up to [`MAX_BATCH`]), settles the batch in one transaction and
//! answers each call after that commit, so an acknowledged write is durable. Nothing waits to
//! fill a batch: while one commits, the next calls queue, so a batch is as large as the load
//! makes it and a lone call goes alone.
//!
//! SQLite commits one transaction at a time and PostgreSQL pays a round trip per statement and
//! a flush per commit, so a commit per call was the floor of every write (docs/performance.md).
//! Registrations (`registrar.rs`) and referral links (`linker.rs`) go through here.
use std::{future::Future, pin::Pin};

use tokio::sync::{mpsc, oneshot};

use super::{database::db_error, writer::Writer};
use crate::domain::AuthError;

/// Calls settled in one transaction at most.
pub(super) const MAX_BATCH: usize = 256;

/// What a batch's transaction does: one answer per call, in the calls' order, given after it
/// committed. An `Err` fails every call of the batch (the transaction did not commit: nothing
/// of it was written).
pub(super) type Settle<Call, Answer> = for<'a> fn(&'a Writer, &'a [Call]) -> Settling<'a, Answer>;
pub(super) type Settling<'a, Answer> =
    Pin<Box<dyn Future<Output = Result<Vec<Result<Answer, AuthError>>, sqlx::Error>> + Send + 'a>>;

type Reply<Answer> = oneshot::Sender<Result<Answer, AuthError>>;

/// The queue to one group-commit task. Cheap to clone; the task ends with the last clone.
pub(super) struct GroupCommit<Call, Answer> {
    calls: mpsc::Sender<(Call, Reply<Answer>)>,
}

impl<Call, Answer> Clone for GroupCommit<Call, Answer> {
    fn clone(&self) -> Self {
        Self {
            calls: self.calls.clone(),
        }
    }
}

impl<Call: Send + 'static, Answer: Send + 'static> GroupCommit<Call, Answer> {
    /// Starts the task that settles batches with `settle` through `writer`. Needs a Tokio
    /// runtime.
    pub fn start(writer: Writer, settle: Settle<Call, Answer>) -> Self {
        let (calls, queue) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(settle_batches(queue, writer, settle));
        Self { calls }
    }

    /// Queues `call` and waits for the commit that holds it.
    pub async fn call(&self, call: Call) -> Result<Answer, AuthError> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send((call, reply))
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> AuthError {
    db_error(sqlx::Error::PoolClosed)
}

async fn settle_batches<Call, Answer>(
    mut queue: mpsc::Receiver<(Call, Reply<Answer>)>,
    writer: Writer,
    settle: Settle<Call, Answer>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (calls, replies): (Vec<Call>, Vec<Reply<Answer>>) = batch.drain(..).unzip();
        match settle(&writer, &calls).await {
            Ok(answers) if answers.len() == calls.len() => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer);
                }
            }
            Ok(answers) => {
                // A bug in a settle function, not a database fault; never a silent wrong answer.
                let error = anyhow::anyhow!("{} answers for {} calls", answers.len(), calls.len());
                for reply in replies {
                    let _ = reply.send(Err(AuthError::Internal(anyhow::anyhow!("{error}"))));
                }
            }
            Err(error) => {
                let error = db_error(error);
                for reply in replies {
                    let _ = reply.send(Err(copy_of(&error)));
                }
            }
        }
    }
}

/// Every caller in a failed batch gets the failure; the log gets its cause chain from each.
fn copy_of(error: &AuthError) -> AuthError {
    let cause = anyhow::anyhow!("{error:#}");
    match error {
        AuthError::Unavailable { what, .. } => AuthError::Unavailable {
            what,
            source: cause,
        },
        _ => AuthError::Internal(cause),
    }
}
