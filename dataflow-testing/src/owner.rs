//! Who owns a test database or a temporary directory, across machines: a random run token
//! per process, and the local lease that tells other processes on this machine that the
//! owner of a temporary directory lives (the server lease is in `server/lease.rs`).
//!
//! A pid cannot name an owner: processes on different machines, containers or PID
//! namespaces share pids, and `/proc` shows only this namespace's processes. So names carry
//! a token of 64 random bits instead, and liveness is a lock the owner holds for its whole
//! life: released by the kernel (a file lock) or the server (a session lock) when it dies,
//! however it dies.

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use rustix::fs::{flock, FlockOperation};

/// The length of every run token: 64 bits in base36 take 13 characters.
pub(crate) const TOKEN_LEN: usize = 13;

/// This process's run token: 64 random bits in base36, 13 lowercase characters, drawn at
/// first use. The names of the server databases and temporary directories the process
/// makes carry it (`dftest_<token>_<n>_<test>`, `dataflow-<token>-<test>-*`), and on a
/// server the process holds a lock named after it while it lives, so that a later run (on
/// any machine) reaps what a killed process left and never touches a live one's.
///
/// ```
/// let token = dataflow_testing::run_token();
/// assert_eq!(token.len(), 13);
/// assert!(token.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase()));
/// assert_eq!(token, dataflow_testing::run_token()); // one per process
/// ```
pub fn run_token() -> &'static str {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| encode(random_u64()))
}

/// The token as a number (the server lease's key is derived from it).
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn run_token_value() -> u64 {
    decode(run_token()).expect("a run token decodes")
}

fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::getrandom(&mut bytes).is_err() {
        // No OS random source at all (exotic targets): the standard library's per-process
        // hash keys, mixed with the time and the pid, are still unique enough for a name.
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        std::time::SystemTime::now().hash(&mut hasher);
        std::process::id().hash(&mut hasher);
        return hasher.finish();
    }
    u64::from_le_bytes(bytes)
}

/// `n` in base36, zero-padded to [`TOKEN_LEN`] characters.
pub(crate) fn encode(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = [b'0'; TOKEN_LEN];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out.to_vec()).expect("base36 digits are ASCII")
}

/// The number a run token stands for; `None` for anything that is not one (a pid of the
/// naming scheme before tokens, a person's database).
pub(crate) fn decode(token: &str) -> Option<u64> {
    let valid = token.len() == TOKEN_LEN
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
    valid.then(|| u64::from_str_radix(token, 36).ok()).flatten()
}

/// The lock file of the owner with `token` in directory `dir`.
fn lease_path(dir: &Path, token: &str) -> PathBuf {
    dir.join(format!("dataflow-{token}.lock"))
}

/// The files this process holds locked while it lives, one per temporary directory it
/// made directories in (`TMPDIR` may change between tests).
fn local_leases() -> &'static Mutex<Vec<(PathBuf, File)>> {
    static LEASES: OnceLock<Mutex<Vec<(PathBuf, File)>>> = OnceLock::new();
    LEASES.get_or_init(Default::default)
}

/// Takes this process's lease in `dir` (the temporary directory) before it makes its first
/// directory there: `dataflow-<token>.lock`, locked with `flock` until the process exits.
///
/// A sweeper that finds the lock free removes the owner's directories and then the lock
/// file, still holding the lock. So an owner that opened the file just before a sweeper
/// removed it would lock a file no longer in `dir`: it checks, after locking, that the path
/// still names the file it locked, and starts over if not.
pub(crate) fn take_local_lease(dir: &Path) -> io::Result<()> {
    let mut leases = local_leases().lock().unwrap_or_else(|e| e.into_inner());
    if leases.iter().any(|(path, _)| path.parent() == Some(dir)) {
        return Ok(());
    }
    let path = lease_path(dir, run_token());
    loop {
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)?;
        flock(&file, FlockOperation::LockExclusive)?;
        let locked = file.metadata()?;
        match std::fs::metadata(&path) {
            Ok(named) if named.dev() == locked.dev() && named.ino() == locked.ino() => {
                leases.push((path, file));
                return Ok(());
            }
            Ok(_) => continue,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Removes this process's lease files (at exit, after its directories are gone); the
/// locks go with the process.
pub(crate) fn release_local_leases() {
    let leases = std::mem::take(&mut *local_leases().lock().unwrap_or_else(|e| e.into_inner()));
    for (path, file) in leases {
        let _ = std::fs::remove_file(&path);
        drop(file);
    }
}

/// What a sweeper learns about the owner of `token`'s files in `dir`.
pub(crate) enum LocalOwner {
    /// It holds its lease: leave its files alone.
    Alive,
    /// It is gone. The sweeper holds its lease until this value is dropped, after
    /// [`LocalOwner::Gone::remove`]-ing the lease file: remove the owner's files first.
    Gone(Option<(PathBuf, File)>),
}

impl LocalOwner {
    /// Whether the owner of `token` in `dir` lives.
    pub(crate) fn of(dir: &Path, token: &str) -> LocalOwner {
        let path = lease_path(dir, token);
        match File::options().write(true).open(&path) {
            // The owner takes its lease before it makes a directory, and only a sweeper
            // holding the lock removes the file: no lease file, no owner.
            Err(e) if e.kind() == io::ErrorKind::NotFound => LocalOwner::Gone(None),
            Err(_) => LocalOwner::Alive,
            Ok(file) => match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => LocalOwner::Gone(Some((path, file))),
                Err(_) => LocalOwner::Alive,
            },
        }
    }

    /// Removes the lease file of an owner that is gone (call after removing its files).
    pub(crate) fn remove(self) {
        if let LocalOwner::Gone(Some((path, file))) = self {
            let _ = std::fs::remove_file(&path);
            drop(file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_nothing_else_decodes() {
        for n in [0, 1, 35, 36, u64::MAX, 0x1234_5678_9abc_def0] {
            let token = encode(n);
            assert_eq!(token.len(), TOKEN_LEN, "{token}");
            assert_eq!(decode(&token), Some(n));
        }
        assert!(
            decode(run_token()).is_some(),
            "this process's token decodes"
        );
        assert_eq!(decode("12345"), None, "a pid of the old scheme");
        assert_eq!(decode("ABCDEFGHIJKLM"), None);
        assert_eq!(decode("zzzzzzzzzzzzz"), None, "more than 64 bits");
        assert_eq!(decode("0000000000-00"), None);
    }

    #[test]
    fn a_lease_is_alive_while_held_and_gone_once_released() {
        let dir = tempfile::tempdir().unwrap();
        take_local_lease(dir.path()).unwrap();
        take_local_lease(dir.path()).unwrap();
        assert!(matches!(
            LocalOwner::of(dir.path(), run_token()),
            LocalOwner::Alive
        ));
        assert!(matches!(
            LocalOwner::of(dir.path(), "0000000000000"),
            LocalOwner::Gone(None)
        ));
        // A lease file nobody holds: its owner was killed.
        let stale = encode(42);
        std::fs::write(lease_path(dir.path(), &stale), b"").unwrap();
        let owner = LocalOwner::of(dir.path(), &stale);
        assert!(matches!(owner, LocalOwner::Gone(Some(_))));
        owner.remove();
        assert!(!lease_path(dir.path(), &stale).exists());
        assert!(lease_path(dir.path(), run_token()).exists());
    }
}
