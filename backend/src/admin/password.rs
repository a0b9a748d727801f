//! Password checks, which are costly by design (Argon2id: ~19 MiB and tens of milliseconds
//! each), bounded so that strangers cannot turn them against the shop.
//!
//! - In total: at most one check per core runs at a time (a semaphore). A sign-in that finds
//!   every slot busy is answered at once with 429 rather than queued: queued checks are what
//!   took a 13 MB process to 5.8 GB under 300 concurrent sign-ins. The permit is moved into
//!   the blocking task, so even a client that hangs up cannot leave more than that many hashes
//!   on tokio's blocking pool, which also serves the static files.
//! - Per client address and per account (email as typed, known or not): token buckets in
//!   memory. The account-wide one only slows checks down and refills within a minute, so an
//!   attacker spread over many addresses cannot keep the owner out for long; per-(client,
//!   account) locks live in the database (`login_attempts`, see `auth::claim`).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// Sign-in attempts one client address gets: a burst, then one every two seconds (30 a minute).
const PER_CLIENT_BURST: u32 = 20;
const PER_CLIENT_PER_MINUTE: u32 = 30;
/// Attempts one account gets from everywhere together: a burst of 10, then one every 3 s, so
/// a spent budget is whole again within 30 s.
const PER_ACCOUNT_BURST: u32 = 10;
const PER_ACCOUNT_PER_MINUTE: u32 = 20;

pub struct PasswordChecks {
    slots: Arc<Semaphore>,
    size: usize,
    per_client: DefaultKeyedRateLimiter<IpAddr>,
    per_account: DefaultKeyedRateLimiter<String>,
    counters: Arc<Counters>,
}

#[derive(Default)]
struct Counters {
    run: AtomicU64,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// The right to run one Argon2 computation; see [`PasswordChecks::try_slot`].
pub struct Slot {
    permit: OwnedSemaphorePermit,
    counters: Arc<Counters>,
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let n = |v: u32| NonZeroU32::new(v).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n(per_minute)).allow_burst(n(burst))
}

impl Default for PasswordChecks {
    fn default() -> Self {
        Self::new()
    }
}

impl PasswordChecks {
    /// One slot per core: more parallel hashes would only queue for CPU while holding memory.
    pub fn new() -> Self {
        let size = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        PasswordChecks {
            slots: Arc::new(Semaphore::new(size)),
            size,
            per_client: RateLimiter::keyed(quota(PER_CLIENT_PER_MINUTE, PER_CLIENT_BURST)),
            per_account: RateLimiter::keyed(quota(PER_ACCOUNT_PER_MINUTE, PER_ACCOUNT_BURST)),
            counters: Arc::default(),
        }
    }

    /// Spends one sign-in attempt of `client`'s budget and of `email`'s; 429 when either is out.
    pub fn budget(&self, client: IpAddr, email: &str) -> Result<()> {
        // Forget idle keys now and then so the tables do not grow with every address and
        // made-up email seen.
        if rand::random::<u16>() < 64 {
            self.per_client.retain_recent();
            self.per_account.retain_recent();
        }
        let clock = governor::clock::DefaultClock::default();
        let wait = |nu: governor::NotUntil<_>| {
            nu.wait_time_from(governor::clock::Clock::now(&clock))
                .as_secs_f64()
                .ceil() as u64
        };
        if let Err(nu) = self.per_client.check_key(&client) {
            return Err(too_many(wait(nu)));
        }
        if let Err(nu) = self.per_account.check_key(&email.to_string()) {
            return Err(too_many(wait(nu)));
        }
        Ok(())
    }

    /// A slot if one is free now; otherwise 429 at once (a sign-in does not queue).
    pub fn try_slot(&self) -> Result<Slot> {
        let permit = self
            .slots
            .clone()
            .try_acquire_owned()
            .map_err(|_| too_many(1))?;
        Ok(Slot {
            permit,
            counters: self.counters.clone(),
        })
    }

    /// Waits for a slot: for signed-in admins (a new admin's password, a password change),
    /// whose numbers are small and who would rather wait than retry.
    pub async fn slot(&self) -> Result<Slot> {
        let permit = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        Ok(Slot {
            permit,
            counters: self.counters.clone(),
        })
    }

    /// How many slots there are (the most checks that ever run at once).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Argon2 computations finished so far (hashes and checks), for tests and metrics.
    pub fn runs(&self) -> u64 {
        self.counters.run.load(Ordering::SeqCst)
    }

    /// The most Argon2 computations that ran at the same moment so far.
    pub fn peak(&self) -> usize {
        self.counters.peak.load(Ordering::SeqCst)
    }
}

fn too_many(secs: u64) -> Error {
    let secs = secs.max(1);
    Error::too_many(
        "too_many_logins",
        format!("Too many sign-in attempts right now; try again in {secs} second(s)."),
        secs,
    )
}

impl Slot {
    /// Runs `f` on the blocking pool; the slot is held until `f` returns, even when the
    /// request that asked for it is gone.
    async fn run<T: Send + 'static>(self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        tokio::task::spawn_blocking(move || {
            let c = &self.counters;
            let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            c.peak.fetch_max(now, Ordering::SeqCst);
            let out = f();
            c.in_flight.fetch_sub(1, Ordering::SeqCst);
            c.run.fetch_add(1, Ordering::SeqCst);
            drop(self.permit);
            out
        })
        .await
        .map_err(Error::internal)
    }

    /// Whether `password` matches `hash`; with no hash (unknown email) it checks against a
    /// dummy one and answers false, so the answer takes as long and costs as much either way.
    pub async fn verify(self, password: String, hash: Option<String>) -> Result<bool> {
        self.run(move || {
            let ok = verify_password(&password, hash.as_deref().unwrap_or_else(|| dummy_hash()));
            // The dummy's own password must not sign anyone in.
            ok && hash.is_some()
        })
        .await
    }

    pub async fn hash(self, password: String) -> Result<String> {
        self.run(move || hash_password(&password)).await?
    }
}

/// Argon2id with the crate's default cost (19 MiB, 2 passes): OWASP's minimum, kept on purpose.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the email is unknown, so response time does not tell
/// which emails are admins. Made on first use, inside a slot.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not-a-real-password").unwrap_or_default())
}
