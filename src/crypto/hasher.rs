//! The password-hashing pool. Hashes are deliberately slow, so they run on dedicated,
//! lower-priority threads fed by a bounded queue: a login storm keeps every hashing
//! thread busy but leaves the async runtime (and cheap requests like `check_session`)
//! free, and past the queue's bound requests are turned away instead of piling up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;
use tracing::Span;

use super::password::{self, HashError, Verified};
use crate::config::{PasswordAlgorithm, PasswordConfig};

type Job = Box<dyn FnOnce() + Send>;

/// Niceness of hashing threads: the kernel favours the runtime's threads over them.
const HASH_THREAD_NICE: i32 = 10;

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: SyncSender<Job>,
    algorithm: PasswordAlgorithm,
    /// A hash of a random password, verified for unknown users so that they cost the
    /// same as a wrong password.
    dummy: String,
    queued: AtomicUsize,
}

impl Hasher {
    pub fn start(config: &PasswordConfig) -> Result<Hasher, HashError> {
        let threads = match config.hash_threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let (jobs, receiver) = sync_channel::<Job>(config.hash_queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{i}"))
                .spawn(move || worker(&receiver))
                .map_err(|_| HashError::Failed)?;
        }
        let dummy = password::hash(config.algorithm, &crate::crypto::token::new_token())?;
        Ok(Hasher { inner: Arc::new(Inner { jobs, algorithm: config.algorithm, dummy, queued: AtomicUsize::new(0) }) })
    }

    pub fn algorithm(&self) -> PasswordAlgorithm {
        self.inner.algorithm
    }

    /// Jobs waiting for or running on a hashing thread.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let algorithm = self.inner.algorithm;
        self.run(move || password::hash(algorithm, &password)).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no
    /// such user (`stored` is `None`); then the answer is always `Mismatch`.
    /// On a match that calls for it, the new hash is computed in the same job.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<(Verified, Option<String>), HashError> {
        let algorithm = self.inner.algorithm;
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            let Some(stored) = stored else {
                let _ = password::verify(algorithm, &password, &inner.dummy);
                return Ok((Verified::Mismatch, None));
            };
            match password::verify(algorithm, &password, &stored)? {
                Verified::Match { rehash: true } => {
                    let upgraded = match password::hash(algorithm, &password) {
                        Ok(h) => Some(h),
                        // A bcrypt-configured server cannot re-hash a long argon2 password; keep it.
                        Err(HashError::TooLongForBcrypt) => None,
                        Err(e) => return Err(e),
                    };
                    Ok((Verified::Match { rehash: upgraded.is_some() }, upgraded))
                }
                other => Ok((other, None)),
            }
        })
        .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, HashError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = oneshot::channel();
        let span = Span::current();
        let inner = Arc::clone(&self.inner);
        let job: Job = Box::new(move || {
            let _entered = span.enter();
            let started = Instant::now();
            let result = f();
            metrics::histogram!("latchkey_password_hash_seconds").record(started.elapsed().as_secs_f64());
            inner.queued.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send(result);
        });
        self.inner.queued.fetch_add(1, Ordering::Relaxed);
        match self.inner.jobs.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.inner.queued.fetch_sub(1, Ordering::Relaxed);
                metrics::counter!("latchkey_password_hash_rejected_total").increment(1);
                return Err(HashError::Busy);
            }
        }
        rx.await.map_err(|_| HashError::Failed)?
    }
}

fn worker(receiver: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        let job = {
            let Ok(guard) = receiver.lock() else { return };
            match guard.recv() {
                Ok(job) => job,
                Err(_) => return,
            }
        };
        job();
    }
}

/// Raises this thread's niceness so hashing yields the CPU to request handling.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority have no memory-safety preconditions; a failure only
    // leaves the thread at normal priority.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, HASH_THREAD_NICE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(threads: usize, queue: usize) -> PasswordConfig {
        PasswordConfig { hash_threads: threads, hash_queue: queue, ..PasswordConfig::default() }
    }

    #[tokio::test]
    async fn hashes_and_verifies_off_the_runtime() {
        let hasher = Hasher::start(&config(1, 4)).unwrap();
        let h = hasher.hash("correct horse battery".into()).await.unwrap();
        let (v, upgraded) = hasher.verify("correct horse battery".into(), Some(h)).await.unwrap();
        assert_eq!(v, Verified::Match { rehash: false });
        assert!(upgraded.is_none());
    }

    #[tokio::test]
    async fn unknown_users_verify_the_dummy_and_never_match() {
        let hasher = Hasher::start(&config(1, 4)).unwrap();
        let started = Instant::now();
        let (v, _) = hasher.verify("anything at all".into(), None).await.unwrap();
        assert_eq!(v, Verified::Mismatch);
        assert!(started.elapsed().as_millis() >= 5, "the dummy hash must really be computed");
    }

    #[tokio::test]
    async fn a_full_queue_turns_jobs_away() {
        let hasher = Hasher::start(&config(1, 1)).unwrap();
        let jobs: Vec<_> = (0..6).map(|_| hasher.hash("correct horse battery".into())).collect();
        let results = futures::future::join_all(jobs).await;
        assert!(results.iter().any(|r| r == &Err(HashError::Busy)), "{results:?}");
        assert!(results.iter().any(|r| r.is_ok()));
        assert_eq!(hasher.queued(), 0);
    }
}
