//! Which tests are running now, per binary: a run claims its tests before it starts and
//! waits while another run holds any of them, so no test ever runs in two processes at
//! once (two copies of one test would share whatever it keeps outside the process, as a
//! trybuild test does its build directory), while runs of different tests overlap. A run
//! gives each test back as soon as the test has ended in it (libtest never runs a test
//! twice in one process), so a test that an ordered run is past can run alone meanwhile.

use std::collections::HashSet;
use std::sync::{Condvar, Mutex};

/// The tests running now in one binary.
#[derive(Default)]
pub(crate) struct Claims {
    running: Mutex<HashSet<String>>,
    released: Condvar,
}

/// Held while a run's tests run; releases them when dropped.
#[must_use = "the tests are released when the claim is dropped"]
pub(crate) struct Claim<'a> {
    claims: &'a Claims,
    tests: Vec<String>,
}

impl Claims {
    /// Waits until none of `tests` runs anywhere, then marks them all running.
    pub(crate) fn claim(&self, tests: &[String]) -> Claim<'_> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        while tests.iter().any(|t| running.contains(t)) {
            running = self
                .released
                .wait(running)
                .unwrap_or_else(|e| e.into_inner());
        }
        running.extend(tests.iter().cloned());
        Claim {
            claims: self,
            tests: tests.to_vec(),
        }
    }

    /// Claims `tests` if none of them runs anywhere now; `None` (and nothing claimed)
    /// otherwise.
    pub(crate) fn try_claim(&self, tests: &[String]) -> Option<Claim<'_>> {
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        if tests.iter().any(|t| running.contains(t)) {
            return None;
        }
        running.extend(tests.iter().cloned());
        Some(Claim {
            claims: self,
            tests: tests.to_vec(),
        })
    }
}

impl Claim<'_> {
    /// Gives `test` back before the claim ends: it has ended in this run's process, and
    /// will not run in it again.
    pub(crate) fn release(&mut self, test: &str) {
        let Some(at) = self.tests.iter().position(|t| t == test) else {
            return;
        };
        self.tests.swap_remove(at);
        let mut running = self
            .claims
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        running.remove(test);
        self.claims.released.notify_all();
    }
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        let mut running = self
            .claims
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        for test in &self.tests {
            running.remove(test);
        }
        self.claims.released.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_that_share_a_test_take_turns_and_others_overlap() {
        let claims = Claims::default();
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let at_once = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    let _claim = claims.claim(&names(&["a", "shared"]));
                    let now = at_once.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    at_once.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 1, "no test ran twice at once");
        let _one = claims.claim(&names(&["x"]));
        let _other = claims.claim(&names(&["y"])); // would wait forever if it overlapped
    }

    #[test]
    fn a_test_given_back_early_can_be_claimed_while_the_rest_stay_held() {
        let claims = Claims::default();
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let mut suite = claims.claim(&names(&["a", "b", "c"]));
        assert!(claims.try_claim(&names(&["a"])).is_none(), "a is held");
        suite.release("a");
        suite.release("not-claimed");
        let alone = claims.try_claim(&names(&["a"]));
        assert!(alone.is_some(), "a was given back");
        assert!(
            claims.try_claim(&names(&["b"])).is_none(),
            "b is still held"
        );
        drop(suite);
        assert!(claims.try_claim(&names(&["b", "c"])).is_some());
        assert!(
            claims.try_claim(&names(&["a"])).is_none(),
            "dropping the suite's claim did not free a, which the run alone holds"
        );
    }
}
