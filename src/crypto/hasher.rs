//! The password-hashing pool. Hashes are deliberately slow, so they run on dedicated,
//! lower-priority threads fed by a bounded queue: a login storm keeps every hashing
//! thread busy but leaves the async runtime (and cheap requests like `check_session`)
//! free, and past the queue's bound requests are turned away instead of piling up.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;
use tracing::Span;

use super::password::{self, HashError, Verified};
use crate::config::{HashPolicy, PasswordAlgorithm, PasswordConfig};

type Job = Box<dyn FnOnce() + Send>;

/// Niceness of hashing threads: the kernel favours the runtime's threads over them.
const HASH_THREAD_NICE: i32 = 10;
/// Bounds of the queue derived from the request timeout.
const MIN_DERIVED_QUEUE: usize = 16;
const MAX_DERIVED_QUEUE: usize = 65_536;

#[derive(Clone)]
pub struct Hasher {
    inner: Arc<Inner>,
}

struct Inner {
    jobs: SyncSender<Job>,
    policy: HashPolicy,
    /// A hash of a random password, verified for unknown users so that they cost the
    /// same as a wrong password.
    dummy: String,
    queued: AtomicUsize,
    queue: usize,
    /// The least time a failed verification takes (ns): as long as verifying the
    /// costliest kind of stored hash, so that neither an unknown user nor the kind of a
    /// known user's hash shows in the time a wrong password takes to be refused.
    failure_floor_ns: AtomicU64,
    /// How long making the dummy hash took at start.
    dummy_time: Duration,
}

impl Hasher {
    /// Starts the hashing threads. Unless `password.hash_queue` sets it, the queue holds
    /// what the threads can hash within `request_timeout`: a job queued behind more
    /// would only finish after its request has been answered 503.
    pub fn start(config: &PasswordConfig, request_timeout: Duration) -> Result<Hasher, HashError> {
        let threads = match config.hash_threads {
            0 => std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            n => n,
        };
        let policy = HashPolicy::of(config);
        if policy.is_weak() {
            tracing::warn!(?policy, "password hashing is cheaper than recommended: fine for tests, not for production");
        }
        let started = Instant::now();
        let dummy = password::hash(policy, &crate::crypto::token::new_token())?;
        let one_hash = started.elapsed().max(Duration::from_micros(100));
        release_freed_memory();
        let queue = match config.hash_queue {
            0 => {
                let per_thread = request_timeout.as_secs_f64() / one_hash.as_secs_f64();
                ((threads as f64 * per_thread) as usize).clamp(MIN_DERIVED_QUEUE, MAX_DERIVED_QUEUE)
            }
            n => n,
        };
        tracing::debug!(threads, queue, one_hash_ms = one_hash.as_secs_f64() * 1e3, "password hashing started");
        let (jobs, receiver) = sync_channel::<Job>(queue);
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..threads {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("latchkey-hash-{i}"))
                .spawn(move || worker(&receiver))
                .map_err(|_| HashError::Failed)?;
        }
        Ok(Hasher {
            inner: Arc::new(Inner {
                jobs,
                policy,
                dummy,
                queued: AtomicUsize::new(0),
                queue,
                failure_floor_ns: AtomicU64::new(one_hash.as_nanos() as u64),
                dummy_time: one_hash,
            }),
        })
    }

    /// How many jobs may wait for a thread.
    pub fn queue_bound(&self) -> usize {
        self.inner.queue
    }

    pub fn algorithm(&self) -> PasswordAlgorithm {
        self.inner.policy.algorithm
    }

    /// Jobs waiting for or running on a hashing thread.
    pub fn queued(&self) -> usize {
        self.inner.queued.load(Ordering::Relaxed)
    }

    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let policy = self.inner.policy;
        self.run(move || password::hash(policy, &password)).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no
    /// such user (`stored` is `None`); then the answer is always `Mismatch`.
    /// On a match that calls for it, the new hash is computed in the same job.
    /// A mismatch is answered no sooner than the failure floor after the call.
    pub async fn verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<(Verified, Option<String>), HashError> {
        let started = tokio::time::Instant::now();
        let result = self.verify_now(password, stored).await;
        if !matches!(result, Ok((Verified::Match { .. }, _))) {
            let floor = Duration::from_nanos(self.inner.failure_floor_ns.load(Ordering::Relaxed));
            tokio::time::sleep_until(started + floor).await;
        }
        result
    }

    /// Times a failed verification against each of `samples` (the costliest stored hash
    /// of each kind) on a hashing thread, queueing excluded, and sets the failure floor
    /// to the slowest of them and of the dummy hash.
    pub async fn calibrate(&self, samples: Vec<String>) {
        let policy = self.inner.policy;
        let mut floor = self.inner.dummy_time;
        for sample in samples.into_iter().chain([self.inner.dummy.clone()]) {
            let timed = self
                .run(move || {
                    let started = Instant::now();
                    let _ = password::verify(policy, &crate::crypto::token::new_token(), &sample);
                    Ok(started.elapsed())
                })
                .await;
            match timed {
                Ok(took) => floor = floor.max(took),
                Err(e) => tracing::debug!(error = %e, "a stored hash could not be timed"),
            }
        }
        self.inner.failure_floor_ns.store(floor.as_nanos() as u64, Ordering::Relaxed);
    }

    /// The failure floor now.
    pub fn failure_floor(&self) -> Duration {
        Duration::from_nanos(self.inner.failure_floor_ns.load(Ordering::Relaxed))
    }

    async fn verify_now(
        &self,
        password: String,
        stored: Option<String>,
    ) -> Result<(Verified, Option<String>), HashError> {
        let policy = self.inner.policy;
        let inner = Arc::clone(&self.inner);
        self.run(move || {
            let Some(stored) = stored else {
                let _ = password::verify(policy, &password, &inner.dummy);
                return Ok((Verified::Mismatch, None));
            };
            match password::verify(policy, &password, &stored)? {
                Verified::Match { rehash: true } => {
                    let upgraded = match password::hash(policy, &password) {
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
            // The request gave up (client gone, request timed out): nobody reads the
            // answer, so the hash would only delay the jobs behind it.
            if tx.is_closed() {
                inner.queued.fetch_sub(1, Ordering::Relaxed);
                metrics::counter!("latchkey_password_hash_abandoned_total").increment(1);
                return;
            }
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
        release_freed_memory();
    }
}

/// An argon2id hash allocates 19 MiB. mimalloc (the binary's allocator) keeps what a
/// thread freed for that thread's next allocations, so every idle hashing thread would
/// hold its last hash's memory: this hands it back to the OS.
fn release_freed_memory() {
    // SAFETY: mi_collect only returns memory that this thread's heap no longer uses.
    unsafe { libmimalloc_sys::mi_collect(true) };
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
        let hasher = Hasher::start(&config(1, 4), Duration::from_secs(10)).unwrap();
        let h = hasher.hash("correct horse battery".into()).await.unwrap();
        let (v, upgraded) = hasher.verify("correct horse battery".into(), Some(h)).await.unwrap();
        assert_eq!(v, Verified::Match { rehash: false });
        assert!(upgraded.is_none());
    }

    #[tokio::test]
    async fn unknown_users_verify_the_dummy_and_never_match() {
        let hasher = Hasher::start(&config(1, 4), Duration::from_secs(10)).unwrap();
        let started = Instant::now();
        let (v, _) = hasher.verify("anything at all".into(), None).await.unwrap();
        assert_eq!(v, Verified::Mismatch);
        assert!(started.elapsed().as_millis() >= 5, "the dummy hash must really be computed");
    }

    #[test]
    fn the_queue_holds_what_the_threads_hash_within_the_request_timeout() {
        let short = Hasher::start(&config(2, 0), Duration::from_millis(1)).unwrap();
        assert_eq!(short.queue_bound(), MIN_DERIVED_QUEUE);
        let long = Hasher::start(&config(2, 0), Duration::from_secs(10)).unwrap();
        // One argon2id hash takes milliseconds, so ten seconds hold hundreds of them.
        assert!(long.queue_bound() > 100 && long.queue_bound() <= MAX_DERIVED_QUEUE, "{}", long.queue_bound());
        assert_eq!(Hasher::start(&config(2, 7), Duration::from_secs(10)).unwrap().queue_bound(), 7);
    }

    #[tokio::test]
    async fn jobs_whose_caller_is_gone_are_skipped() {
        let hasher = Hasher::start(&config(1, 16), Duration::from_secs(10)).unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        // Occupy the only thread, then queue jobs and give up on them before they start.
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let (started, running) = std::sync::mpsc::channel::<()>();
        let occupier = hasher.clone();
        let busy = tokio::spawn(async move {
            occupier
                .run(move || {
                    let _ = started.send(());
                    let _ = blocked.recv();
                    Ok(())
                })
                .await
        });
        tokio::task::spawn_blocking(move || running.recv()).await.unwrap().unwrap();
        for _ in 0..5 {
            let ran = Arc::clone(&ran);
            let job = hasher.run(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            // Polled once so that it is queued, then dropped.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(1), job).await;
        }
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        hasher.hash("correct horse battery".into()).await.unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0, "abandoned jobs ran");
        assert_eq!(hasher.queued(), 0);
    }

    #[tokio::test]
    async fn a_full_queue_turns_jobs_away() {
        let hasher = Hasher::start(&config(1, 1), Duration::from_secs(10)).unwrap();
        let jobs: Vec<_> = (0..6).map(|_| hasher.hash("correct horse battery".into())).collect();
        let results = futures::future::join_all(jobs).await;
        assert!(results.iter().any(|r| r == &Err(HashError::Busy)), "{results:?}");
        assert!(results.iter().any(|r| r.is_ok()));
        assert_eq!(hasher.queued(), 0);
    }
}
