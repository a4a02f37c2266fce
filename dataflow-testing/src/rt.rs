//! A small runtime of the toolkit's own, for the blocking setup and teardown work that
//! fixtures and guards do (they run in sync code and inside test runtimes alike).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("dataflow-testing")
            .enable_all()
            .build()
            .expect("the dataflow-testing runtime could not start")
    })
}

/// Runs `future` on the toolkit's runtime and blocks until it is done. Safe to call from
/// inside another runtime: the work runs on threads of its own.
pub(crate) fn block_on<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv()
        .expect("the dataflow-testing runtime lives as long as the process")
}

/// Starts `future` on the toolkit's runtime without waiting; [`wait_for_background`] waits
/// for every such future still running (at exit).
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn spawn_background<F>(future: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let handle = runtime().spawn(future);
    let mut pending = background().lock().unwrap_or_else(|e| e.into_inner());
    pending.retain(|h| !h.is_finished());
    pending.push(handle);
}

fn background() -> &'static std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> {
    static PENDING: OnceLock<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>> = OnceLock::new();
    PENDING.get_or_init(Default::default)
}

/// Waits for the background work started with [`spawn_background`].
pub(crate) fn wait_for_background() {
    let pending = std::mem::take(&mut *background().lock().unwrap_or_else(|e| e.into_inner()));
    if pending.is_empty() {
        return;
    }
    block_on(async move {
        for handle in pending {
            let _ = handle.await;
        }
    });
}
