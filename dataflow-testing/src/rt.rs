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
