//! Runs in parallel that wait for tests and for each other: up to `--jobs` at a time, the
//! most urgent first. A thread takes the first run, in rank order, whose tests no other
//! run holds now ([`claims`](super::claims)), so it never sits waiting for a test while
//! other work is ready; what a finished run makes possible (the reverse run, once a
//! binary's runs alone are in) joins the queue when it ends.
//!
//! Two rules keep a binary's runs of its whole suite going back to back: while one of them
//! waits for tests and none runs, no new run of fewer of that binary's tests starts (the
//! runs alone it waits for end soon, and new ones would keep it waiting), and no run
//! ranked after it starts either (it would hold a core the chain needs next); once it
//! runs, runs alone take each test it is past.

use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use super::{Request, RunResult, Runner, Selection};
use crate::Error;

/// A run to make, and how urgent it is: lower ranks first, and among equal ranks the one
/// queued first.
pub(crate) struct Ranked {
    pub request: Request,
    pub rank: u64,
}

struct Queued {
    request: Request,
    rank: u64,
    /// The order it was queued in: what `done` is told.
    index: usize,
}

struct State<F> {
    /// Sorted by rank, then index.
    queue: Vec<Queued>,
    running: usize,
    /// Per binary, the runs of its whole suite running now.
    suites: Vec<usize>,
    queued: usize,
    error: Option<Error>,
    done: F,
}

impl<F> State<F> {
    fn push(&mut self, runs: Vec<Ranked>) {
        for Ranked { request, rank } in runs {
            let index = self.queued;
            self.queued += 1;
            let at = self.queue.partition_point(|q| q.rank <= rank);
            self.queue.insert(
                at,
                Queued {
                    request,
                    rank,
                    index,
                },
            );
        }
    }

    /// The first queued run, in rank order, that may start now and whose tests `claim`
    /// could claim: its place in the queue and the claim.
    fn pick<C>(&self, mut claim: impl FnMut(&Request) -> Option<C>) -> Option<(usize, C)> {
        for (at, queued) in self.queue.iter().enumerate() {
            let request = &queued.request;
            let suite = request.selection == Selection::Suite;
            if !suite && self.suite_waits(request.binary) {
                continue;
            }
            if let Some(claim) = claim(request) {
                return Some((at, claim));
            }
            if suite && self.suites[request.binary] == 0 {
                // It waits only for runs alone, which end soon: a longer run started now
                // would hold up the chain it belongs to.
                return None;
            }
        }
        None
    }

    /// Whether a run of `binary`'s whole suite is queued and none runs.
    fn suite_waits(&self, binary: usize) -> bool {
        self.suites[binary] == 0
            && self
                .queue
                .iter()
                .any(|q| q.request.binary == binary && q.request.selection == Selection::Suite)
    }
}

/// How long a thread with nothing to start waits before it looks again: a run gives its
/// tests back one by one as they end, without telling the queue.
const LOOK_AGAIN: Duration = Duration::from_millis(20);

/// Makes `runs` and whatever `done` queues after each (told the run's queue index, in
/// the order queued, and its result), on up to `runner.jobs()` threads. `done` is called
/// on one thread at a time. Stops at the first error and returns it, once the runs under
/// way have ended.
pub(crate) fn schedule<F>(runner: &Runner<'_>, runs: Vec<Ranked>, done: F) -> Result<(), Error>
where
    F: FnMut(usize, RunResult) -> Vec<Ranked> + Send,
{
    let state = Mutex::new(State {
        queue: Vec::new(),
        running: 0,
        suites: vec![0; runner.binaries.len()],
        queued: 0,
        error: None,
        done,
    });
    let changed = Condvar::new();
    state
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(runs);
    std::thread::scope(|scope| {
        for _ in 0..runner.jobs() {
            scope.spawn(|| work(runner, &state, &changed));
        }
    });
    let state = state.into_inner().unwrap_or_else(PoisonError::into_inner);
    match state.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn work<F>(runner: &Runner<'_>, state: &Mutex<State<F>>, changed: &Condvar)
where
    F: FnMut(usize, RunResult) -> Vec<Ranked>,
{
    let lock = || state.lock().unwrap_or_else(PoisonError::into_inner);
    let mut guard = lock();
    loop {
        if guard.error.is_some() || (guard.queue.is_empty() && guard.running == 0) {
            changed.notify_all();
            return;
        }
        let Some((at, claim)) = guard.pick(|request| runner.try_claim(request)) else {
            guard = changed
                .wait_timeout(guard, LOOK_AGAIN)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            continue;
        };
        let Queued { request, index, .. } = guard.queue.remove(at);
        let suite = request.selection == Selection::Suite;
        guard.running += 1;
        if suite {
            guard.suites[request.binary] += 1;
        }
        drop(guard);
        let result = runner.execute_claimed(&request, claim);
        guard = lock();
        guard.running -= 1;
        if suite {
            guard.suites[request.binary] -= 1;
        }
        match result {
            Ok(result) => {
                let more = (guard.done)(index, result);
                guard.push(more);
            }
            Err(e) => {
                guard.error.get_or_insert(e);
            }
        }
        changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::claims::Claims;
    use crate::runner::{Order, Purpose};

    fn state(runs: Vec<Ranked>) -> State<()> {
        let mut state = State {
            queue: Vec::new(),
            running: 0,
            suites: vec![0; 2],
            queued: 0,
            error: None,
            done: (),
        };
        state.push(runs);
        state
    }

    fn alone(binary: usize, test: &str, rank: u64) -> Ranked {
        Ranked {
            request: Request::exact(binary, vec![test.into()], Order::Forward, Purpose::Solo),
            rank,
        }
    }

    fn suite(binary: usize, rank: u64) -> Ranked {
        Ranked {
            request: Request::suite(binary, Order::Forward, Purpose::Order),
            rank,
        }
    }

    #[test]
    fn the_most_urgent_run_whose_tests_are_free_goes_first() {
        let claims = Claims::default();
        let all = ["a".to_owned(), "b".to_owned()];
        let tests = |r: &Request| match &r.selection {
            Selection::Suite => all.to_vec(),
            Selection::Exact(names) => names.clone(),
        };
        let mut s = state(vec![
            alone(1, "x", 3),
            suite(0, 0),
            alone(0, "a", 1),
            suite(0, 0),
        ]);
        assert_eq!(
            s.queue.iter().map(|q| q.index).collect::<Vec<_>>(),
            [1, 3, 2, 0],
            "by rank, then as queued"
        );
        let (at, mut running) = s.pick(|r| claims.try_claim(&tests(r))).unwrap();
        assert_eq!(s.queue.remove(at).index, 1, "the first suite run");
        s.suites[0] += 1;
        // The second suite run waits for the first; `a` alone waits for the first to be
        // past `a`; binary 1's run goes meanwhile.
        let (at, _other) = s.pick(|r| claims.try_claim(&tests(r))).unwrap();
        assert_eq!(s.queue[at].index, 0);
        running.release("a");
        let (at, _alone) = s.pick(|r| claims.try_claim(&tests(r))).unwrap();
        assert_eq!(s.queue[at].index, 2, "a, given back, runs alone");
    }

    #[test]
    fn no_run_alone_starts_while_a_suite_run_of_its_binary_waits_for_its_tests() {
        let claims = Claims::default();
        let held = claims.try_claim(&["b".to_owned()]).unwrap();
        let s = state(vec![suite(0, 0), alone(0, "a", 1)]);
        let tests = |r: &Request| match &r.selection {
            Selection::Suite => vec!["a".to_owned(), "b".to_owned()],
            Selection::Exact(names) => names.clone(),
        };
        assert!(
            s.pick(|r| claims.try_claim(&tests(r))).is_none(),
            "the suite waits for b; a alone would keep it waiting"
        );
        drop(held);
        let (at, _) = s.pick(|r| claims.try_claim(&tests(r))).unwrap();
        assert_eq!(s.queue[at].index, 0);
    }

    #[test]
    fn no_later_run_starts_while_a_suite_run_waits_for_runs_alone_to_end() {
        let claims = Claims::default();
        let all = ["a".to_owned(), "b".to_owned()];
        let tests = |r: &Request| match (&r.selection, r.binary) {
            (Selection::Suite, 0) => all.to_vec(),
            (Selection::Suite, _) => vec!["other".to_owned()],
            (Selection::Exact(names), _) => names.clone(),
        };
        let mut s = state(vec![suite(0, 0), suite(1, 2)]);
        let alone_a = claims.try_claim(&["a".to_owned()]).unwrap();
        assert!(
            s.pick(|r| claims.try_claim(&tests(r))).is_none(),
            "binary 1's run waits for binary 0's, which waits for `a` alone"
        );
        // A suite run of binary 0 runs: the next one waits for it, which takes long, so
        // binary 1's run goes.
        s.suites[0] = 1;
        let (at, _) = s.pick(|r| claims.try_claim(&tests(r))).unwrap();
        assert_eq!(s.queue[at].index, 1);
        drop(alone_a);
    }
}
