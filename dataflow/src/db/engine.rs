//! The engine: one small tokio runtime of the crate's own that runs all database work.
//!
//! sqlx connections belong to the runtime that opened them. Running every database future
//! here, whatever runtime (or none) the caller uses, is what lets one `DataFlow` serve sync
//! code, several `#[tokio::test]` runtimes in turn, and outlive any of them.

use std::cell::Cell;
use std::future::Future;
use std::panic::resume_unwind;
use std::sync::OnceLock;

use tokio::runtime::{Handle, Runtime};

thread_local! {
    static ON_ENGINE: Cell<bool> = const { Cell::new(false) };
}

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dataflow-engine")
            .on_thread_start(|| ON_ENGINE.with(|on| on.set(true)))
            .enable_all()
            .build()
            .expect("the dataflow engine runtime could not start (no threads or timers left?)")
    })
}

/// Whether this thread runs engine work now (an engine worker, or a [`block_on`] caller):
/// database futures may be awaited here without moving to the engine.
pub(crate) fn on_engine() -> bool {
    ON_ENGINE.with(Cell::get)
}

/// A handle to the engine, to enter its context (sqlx pools start tasks when built).
pub(crate) fn handle() -> &'static Handle {
    runtime().handle()
}

/// Runs `future` on the engine and waits for it from any runtime. A panic inside it is
/// resumed in the caller.
pub(crate) async fn run<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if on_engine() {
        return future.await;
    }
    match runtime().spawn(future).await {
        Ok(output) => output,
        Err(err) => match err.try_into_panic() {
            Ok(panic) => resume_unwind(panic),
            Err(_) => unreachable!("the engine runtime lives as long as the process"),
        },
    }
}

/// Runs `future` on the engine and blocks the calling thread until it is done.
///
/// Outside any runtime the future runs on the calling thread, in the engine's context (its
/// I/O and timers, which the engine's workers drive): no hop to a worker and back for each
/// statement. Inside a runtime (where blocking on another is not allowed) it runs on an
/// engine worker while this thread waits.
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    if Handle::try_current().is_err() {
        let _on_engine = OnEngine::enter();
        return handle().block_on(future);
    }
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = runtime().spawn(future);
    runtime().spawn(async move {
        let _ = tx.send(task.await);
    });
    match rx.recv() {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => match err.try_into_panic() {
            Ok(panic) => resume_unwind(panic),
            Err(_) => unreachable!("the engine runtime lives as long as the process"),
        },
        Err(_) => unreachable!("the engine runtime lives as long as the process"),
    }
}

/// Marks this thread as running engine work for as long as it lives, so that nested
/// [`run`]s await in place.
struct OnEngine {
    was: bool,
}

impl OnEngine {
    fn enter() -> OnEngine {
        OnEngine {
            was: ON_ENGINE.with(|on| on.replace(true)),
        }
    }
}

impl Drop for OnEngine {
    fn drop(&mut self) {
        ON_ENGINE.with(|on| on.set(self.was));
    }
}

/// Starts `future` on the engine without waiting for it.
pub(crate) fn spawn_detached<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime().spawn(future);
}
