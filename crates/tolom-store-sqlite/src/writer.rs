//! The single writer: one task owns the writer connection and commits the
//! write jobs of all callers in groups (**group commit**).
//!
//! A caller hands its job (a closure running the statements of one port
//! call) to the task through a channel and waits for the answer. The task
//! takes every job ready at that moment (at most [`MAX_BATCH`]) and runs
//! them in **one** `BEGIN IMMEDIATE` … `COMMIT`:
//!
//! - each job runs inside its own `SAVEPOINT`, so a job that fails rolls
//!   back only its own writes (`ROLLBACK TO`) and gets its own error; its
//!   batch-mates' writes stay and are committed;
//! - every caller is answered only after the `COMMIT` returned; a failed
//!   `COMMIT` (or `BEGIN`) is every job's error, and nothing of the batch is
//!   written;
//! - a caller that goes away (its future dropped) does not touch the batch:
//!   the job owns its data and runs to its end in the task; only the answer
//!   is lost;
//! - should SQLite roll the whole transaction back under a failing statement
//!   (it may on `SQLITE_FULL`, `IOERR`, `NOMEM`), the `ROLLBACK TO` fails:
//!   the jobs already run are answered with an error (nothing of them was
//!   written) and the jobs not yet run go into a fresh transaction.
//!
//! A batch of one job runs without a savepoint (its failure rolls back the
//! transaction).
//!
//! **Durability per job.** A job is *durable* (the default: its `COMMIT`
//! waits for the disk) or *deferred* (`create_payment`, `claim_outbox`: the
//! port allows them to commit without waiting for the disk, provided they
//! become durable no later than the next durable commit). `PRAGMA
//! synchronous` cannot change inside a transaction, so it is decided per
//! batch before `BEGIN`: a batch of deferred jobs only commits with
//! `synchronous=NORMAL`, a batch with any durable job with the store's
//! level ([`Durability`], `FULL` by default). In WAL mode a `FULL` commit
//! syncs the WAL file, and with it every earlier `NORMAL` commit: they are
//! durable no later than the next durable commit.
//!
//! Several processes on one file still work: every batch takes SQLite's
//! write lock with `BEGIN IMMEDIATE`, and the busy timeout makes it wait
//! its turn. The head of the audit chain is read once per batch (under the
//! write lock, so it is the real head) and then followed in memory.

use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sqlx::sqlite::SqliteConnection;
use sqlx::Connection;
use tokio::sync::{mpsc, oneshot, watch};
use tolom_core::audit::AuditEntry;
use tolom_core::ports::StoreError;

use crate::error::map;
use crate::options::Durability;

/// The most jobs one transaction takes.
pub(crate) const MAX_BATCH: usize = 64;

/// The most jobs waiting for the writer. A caller finding the queue full
/// waits (at most the store's `acquire_timeout`) for room, and past that
/// fails with `Unavailable` having written nothing: under overload the
/// queue, its memory and the wait stay bounded.
pub(crate) const MAX_QUEUED: usize = 1024;

/// What a write job returns.
pub(crate) type WriteFuture<'c, T> =
    Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'c>>;

/// When a job's commit has to be on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Commit {
    /// Durable no later than the next durable commit (`synchronous=NORMAL`
    /// when the whole batch is deferred).
    Deferred,
    /// On disk when the caller is answered (the store's level).
    Durable,
}

/// The writer connection inside a write transaction, as a job sees it.
/// Dereferences to the connection (`&mut **tx` is an executor).
pub(crate) struct WriteTx {
    conn: SqliteConnection,
    /// The last entry of the audit chain, once read in this transaction
    /// (`Some(None)`: the chain is empty).
    pub(crate) audit_head: Option<Option<AuditEntry>>,
}

impl Deref for WriteTx {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.conn
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }
}

/// What the writer counts (see `SqliteStore::commits`).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) commits: AtomicU64,
    pub(crate) durable_commits: AtomicU64,
    pub(crate) jobs: AtomicU64,
}

/// A job, type-erased for the queue.
trait Work: Send {
    /// Runs the job's statements; `true` when it succeeded.
    fn run<'c>(
        &'c mut self,
        tx: &'c mut WriteTx,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'c>>;
    /// Answers the caller, once the transaction's fate is known: its own
    /// error if it failed, otherwise `outcome` (the commit's).
    fn finish(self: Box<Self>, outcome: Result<(), StoreError>);
}

struct Typed<T, F> {
    f: Option<F>,
    out: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Work for Typed<T, F>
where
    T: Send + 'static,
    F: for<'c> FnOnce(&'c mut WriteTx) -> WriteFuture<'c, T> + Send + 'static,
{
    fn run<'c>(
        &'c mut self,
        tx: &'c mut WriteTx,
    ) -> Pin<Box<dyn Future<Output = bool> + Send + 'c>> {
        Box::pin(async move {
            let Some(f) = self.f.take() else {
                return false;
            };
            let r = f(tx).await;
            let ok = r.is_ok();
            self.out = Some(r);
            ok
        })
    }

    fn finish(self: Box<Self>, outcome: Result<(), StoreError>) {
        let answer = match (self.out, outcome) {
            (Some(Err(own)), _) => Err(own),
            (_, Err(e)) => Err(e),
            (Some(Ok(v)), Ok(())) => Ok(v),
            // It panicked: its writes were rolled back with its savepoint.
            (None, Ok(())) => Err(StoreError::Broken(
                "the write failed unexpectedly and was rolled back".into(),
            )),
        };
        // The caller may have gone away: nothing to do then.
        let _ = self.reply.send(answer);
    }
}

struct Job {
    /// `None`: a bare job, run alone outside any transaction (migrations,
    /// test-only statements).
    commit: Option<Commit>,
    work: Box<dyn Work>,
}

enum Msg {
    Job(Job),
    Close,
}

/// The handle of the writer task (cloned with the store).
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Msg>,
    /// How long a job waits for room in the queue.
    wait: Duration,
    stopped: watch::Receiver<()>,
    pub(crate) counters: Arc<Counters>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed (its writer takes no more writes)".into())
}

impl Writer {
    /// Starts the task owning `conn`. `level` is the store's durability
    /// (`None` in memory, where no commit waits for a disk); a job waits at
    /// most `wait` for room in the queue.
    pub(crate) fn start(
        conn: SqliteConnection,
        level: Option<Durability>,
        wait: Duration,
    ) -> Writer {
        let (queue, rx) = mpsc::channel(MAX_QUEUED);
        let (stop_tx, stopped) = watch::channel(());
        let counters = Arc::new(Counters::default());
        let task = Task {
            tx: WriteTx {
                conn,
                audit_head: None,
            },
            rx,
            counters: counters.clone(),
            level,
            current: level,
            committed: None,
            _stopped: stop_tx,
        };
        tokio::spawn(task.run());
        Writer {
            queue,
            wait,
            stopped,
            counters,
        }
    }

    /// Runs `f` in the writer: in a group-committed transaction
    /// (`Some(commit)`), or alone outside any transaction (`None`). The
    /// answer comes once the transaction committed (or failed).
    pub(crate) async fn submit<T, F>(&self, commit: Option<Commit>, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut WriteTx) -> WriteFuture<'c, T> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            commit,
            work: Box::new(Typed {
                f: Some(f),
                out: None,
                reply,
            }),
        };
        // Not queued (full past the wait, or closed): nothing was written.
        self.queue
            .send_timeout(Msg::Job(job), self.wait)
            .await
            .map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => StoreError::Unavailable(
                    "timed out waiting for the database writer (too many writes queued)".into(),
                ),
                mpsc::error::SendTimeoutError::Closed(_) => closed(),
            })?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the database writer stopped".into()))?
    }

    /// Stops taking jobs, runs those already queued, closes the connection
    /// and returns once it is closed.
    pub(crate) async fn close(&self) {
        let _ = self.queue.send(Msg::Close).await;
        let mut stopped = self.stopped.clone();
        while stopped.changed().await.is_ok() {}
    }
}

struct Task {
    tx: WriteTx,
    rx: mpsc::Receiver<Msg>,
    counters: Arc<Counters>,
    /// The store's durability (`None` in memory).
    level: Option<Durability>,
    /// The connection's `synchronous` now (`None`: unknown).
    current: Option<Durability>,
    /// The head of the audit chain as of the last commit, and SQLite's
    /// `data_version` then: while no other connection commits (the same
    /// `data_version` at the next `BEGIN`), the next transaction starts from
    /// it without reading it.
    committed: Option<(i64, Option<AuditEntry>)>,
    /// Dropped when the task ends: tells `close` the connection is closed.
    _stopped: watch::Sender<()>,
}

/// A statement (or several, `;`-separated) without arguments.
async fn exec(tx: &mut WriteTx, sql: &str) -> Result<(), StoreError> {
    sqlx::query(sql)
        .execute(&mut **tx)
        .await
        .map(|_| ())
        .map_err(map)
}

/// Runs a job, a panic in it counting as its failure (its writes are
/// rolled back like any failed job's): one faulty write must not stop the
/// writer, and with it every later write of the process.
async fn run_caught(work: &mut dyn Work, tx: &mut WriteTx) -> bool {
    AssertUnwindSafe(work.run(tx))
        .catch_unwind()
        .await
        .unwrap_or(false)
}

impl Task {
    async fn run(mut self) {
        let mut next: Option<Job> = None;
        loop {
            let first = match next.take() {
                Some(job) => job,
                None => match self.rx.recv().await {
                    Some(Msg::Job(job)) => {
                        self.counters.jobs.fetch_add(1, Ordering::Relaxed);
                        job
                    }
                    // Refuse new jobs; those queued still run.
                    Some(Msg::Close) => {
                        self.rx.close();
                        continue;
                    }
                    None => break,
                },
            };
            if first.commit.is_none() {
                self.bare(first).await;
                continue;
            }
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match self.rx.try_recv() {
                    Ok(Msg::Job(job)) => {
                        self.counters.jobs.fetch_add(1, Ordering::Relaxed);
                        if job.commit.is_some() {
                            batch.push(job);
                        } else {
                            next = Some(job);
                            break;
                        }
                    }
                    Ok(Msg::Close) => self.rx.close(),
                    Err(_) => break,
                }
            }
            let mut rest = batch;
            while !rest.is_empty() {
                rest = self.batch(rest).await;
            }
        }
        let _ = self.tx.conn.close().await;
    }

    /// A job outside any transaction.
    async fn bare(&mut self, job: Job) {
        let mut work = job.work;
        self.committed = None;
        self.tx.audit_head = None;
        // Migrations are written as durably as the store's level says.
        if let Some(level) = self.level {
            if self.current != Some(level) {
                let _ = exec(
                    &mut self.tx,
                    &format!("PRAGMA synchronous = {}", level.pragma()),
                )
                .await;
            }
        }
        run_caught(work.as_mut(), &mut self.tx).await;
        self.tx.audit_head = None;
        // A statement may have changed it (a test's PRAGMA).
        self.current = None;
        work.finish(Ok(()));
    }

    /// Runs `jobs` in one transaction. Returns the jobs not run when the
    /// transaction was lost under a failing job (to run in a fresh one).
    async fn batch(&mut self, jobs: Vec<Job>) -> Vec<Job> {
        let durable = jobs.iter().any(|j| j.commit == Some(Commit::Durable));
        let want = self
            .level
            .map(|level| if durable { level } else { Durability::Normal });
        let multi = jobs.len() > 1;
        let mut begin = String::new();
        if want.is_some() && want != self.current {
            begin.push_str(&format!(
                "PRAGMA synchronous = {}; ",
                want.map(|w| w.pragma()).unwrap_or("FULL")
            ));
        }
        begin.push_str("BEGIN IMMEDIATE");
        if multi {
            begin.push_str("; SAVEPOINT job");
        }
        // Under the write lock: has another connection committed since our
        // last commit?
        begin.push_str("; PRAGMA data_version");
        self.tx.audit_head = None;
        let version = match sqlx::query_scalar::<_, i64>(&begin)
            .fetch_one(&mut self.tx.conn)
            .await
        {
            Ok(v) => v,
            Err(e) => {
                let e = map(e);
                self.current = None;
                // Not in a transaction, or in one that must not go on.
                let _ = exec(&mut self.tx, "ROLLBACK").await;
                for job in jobs {
                    job.work.finish(Err(e.clone()));
                }
                return Vec::new();
            }
        };
        self.current = want;
        if let Some((seen, head)) = &self.committed {
            if *seen == version {
                self.tx.audit_head = Some(head.clone());
            }
        }
        let mut done: Vec<Box<dyn Work>> = Vec::with_capacity(jobs.len());
        let mut any_ok = false;
        let mut jobs = jobs.into_iter();
        while let Some(job) = jobs.next() {
            let mut work = job.work;
            let head = self.tx.audit_head.clone();
            let ok = run_caught(work.as_mut(), &mut self.tx).await;
            let last = jobs.len() == 0;
            let step = if !multi || (ok && last) {
                Ok(())
            } else if ok {
                exec(&mut self.tx, "RELEASE job; SAVEPOINT job").await
            } else {
                // The savepoint stays, at the state before this job: the
                // next job starts from it.
                exec(&mut self.tx, "ROLLBACK TO job").await
            };
            if !ok {
                self.tx.audit_head = head;
            }
            any_ok |= ok;
            if let Err(e) = step {
                // The transaction is in doubt (SQLite may have rolled it
                // back under the failing statement): roll it back, answer
                // the jobs that ran, run the others afresh.
                let _ = exec(&mut self.tx, "ROLLBACK").await;
                let lost = StoreError::Unavailable(format!(
                    "the write was rolled back with its batch, nothing written: {e}"
                ));
                work.finish(Err(lost.clone()));
                for w in done {
                    w.finish(Err(lost.clone()));
                }
                return jobs.collect();
            }
            done.push(work);
        }
        if !any_ok {
            let _ = exec(&mut self.tx, "ROLLBACK").await;
            for w in done {
                w.finish(Ok(()));
            }
            return Vec::new();
        }
        match exec(&mut self.tx, "COMMIT").await {
            Ok(()) => {
                self.committed = self.tx.audit_head.take().map(|head| (version, head));
                self.counters.commits.fetch_add(1, Ordering::Relaxed);
                if want == Some(Durability::Full) {
                    self.counters
                        .durable_commits
                        .fetch_add(1, Ordering::Relaxed);
                }
                for w in done {
                    w.finish(Ok(()));
                }
            }
            Err(e) => {
                // A failed COMMIT may leave the transaction open.
                let _ = exec(&mut self.tx, "ROLLBACK").await;
                for w in done {
                    w.finish(Err(e.clone()));
                }
            }
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use crate::SqliteStore;
    use tolom_core::ports::StoreError;

    #[tokio::test]
    async fn a_job_that_panics_fails_alone_and_the_writer_goes_on() {
        let store = SqliteStore::in_memory()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let panicked = store
            .write(|tx| {
                Box::pin(async move {
                    sqlx::query("CREATE TABLE t (x INTEGER)")
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::map)?;
                    if tx.audit_head.is_none() {
                        panic!("a faulty write");
                    }
                    Ok(())
                })
            })
            .await;
        assert!(
            matches!(panicked, Err(StoreError::Broken(_))),
            "{panicked:?}"
        );
        // Its writes were rolled back, and the writer still takes writes.
        let next = store
            .write(|tx| {
                Box::pin(async move {
                    sqlx::query("CREATE TABLE t (x INTEGER)")
                        .execute(&mut **tx)
                        .await
                        .map_err(crate::error::map)?;
                    Ok(())
                })
            })
            .await;
        assert!(next.is_ok(), "{next:?}");
    }
}
