//! `[password]`: how new passwords are hashed, and the cost caps that every hash
//! latchkey verifies (its own or an imported one) must stay within.

use serde::{Deserialize, Serialize};

/// OWASP's recommendation: the defaults.
pub const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
pub const ARGON2_ITERATIONS: u32 = 2;
pub const ARGON2_LANES: u32 = 1;
pub const BCRYPT_COST: u32 = 12;
const MIN_BCRYPT_COST: u32 = 4;

pub const MAX_ARGON2_MEMORY_KIB: u32 = 256 * 1024;
pub const MAX_ARGON2_ITERATIONS: u32 = 16;
pub const MAX_ARGON2_LANES: u32 = 8;
pub const MAX_BCRYPT_COST: u32 = 15;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PasswordConfig {
    pub algorithm: PasswordAlgorithm,
    /// Hashing threads; 0 means one per CPU core.
    pub hash_threads: usize,
    /// Hash jobs allowed to wait for a thread before requests are turned away with 503;
    /// 0 (the default) means what the threads hash within `server.request_timeout`.
    pub hash_queue: usize,
    /// argon2id's cost (OWASP's recommendation by default: 19 MiB, 2 passes, 1 lane).
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
    /// bcrypt's cost (default 12).
    pub bcrypt_cost: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PasswordAlgorithm {
    Argon2id,
    Bcrypt,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            algorithm: PasswordAlgorithm::Argon2id,
            hash_threads: 0,
            hash_queue: 0,
            argon2_memory_kib: ARGON2_MEMORY_KIB,
            argon2_iterations: ARGON2_ITERATIONS,
            argon2_lanes: ARGON2_LANES,
            bcrypt_cost: BCRYPT_COST,
        }
    }
}

/// How new passwords are hashed; a stored hash in another form is re-hashed on the next
/// successful login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPolicy {
    pub algorithm: PasswordAlgorithm,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_lanes: u32,
    pub bcrypt_cost: u32,
}

impl HashPolicy {
    pub fn of(config: &PasswordConfig) -> HashPolicy {
        HashPolicy {
            algorithm: config.algorithm,
            argon2_memory_kib: config.argon2_memory_kib,
            argon2_iterations: config.argon2_iterations,
            argon2_lanes: config.argon2_lanes,
            bcrypt_cost: config.bcrypt_cost,
        }
    }

    /// Within what latchkey verifies (the caps on stored hashes) and what argon2 accepts.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=MAX_ARGON2_LANES).contains(&self.argon2_lanes)
            || !(1..=MAX_ARGON2_ITERATIONS).contains(&self.argon2_iterations)
            || !(8 * self.argon2_lanes..=MAX_ARGON2_MEMORY_KIB).contains(&self.argon2_memory_kib)
        {
            return Err(format!(
                "password.argon2_*: lanes 1 to {MAX_ARGON2_LANES}, iterations 1 to {MAX_ARGON2_ITERATIONS}, \
                 memory 8 × lanes to {MAX_ARGON2_MEMORY_KIB} KiB"
            ));
        }
        if !(MIN_BCRYPT_COST..=MAX_BCRYPT_COST).contains(&self.bcrypt_cost) {
            return Err(format!("password.bcrypt_cost: {MIN_BCRYPT_COST} to {MAX_BCRYPT_COST}"));
        }
        Ok(())
    }

    /// Cheaper than OWASP's recommendation (acceptable for tests, not in production).
    pub fn is_weak(&self) -> bool {
        match self.algorithm {
            PasswordAlgorithm::Argon2id => {
                self.argon2_memory_kib < ARGON2_MEMORY_KIB || self.argon2_iterations < ARGON2_ITERATIONS
            }
            PasswordAlgorithm::Bcrypt => self.bcrypt_cost < 10,
        }
    }
}

impl From<PasswordAlgorithm> for HashPolicy {
    /// The recommended parameters.
    fn from(algorithm: PasswordAlgorithm) -> HashPolicy {
        HashPolicy {
            algorithm,
            argon2_memory_kib: ARGON2_MEMORY_KIB,
            argon2_iterations: ARGON2_ITERATIONS,
            argon2_lanes: ARGON2_LANES,
            bcrypt_cost: BCRYPT_COST,
        }
    }
}
