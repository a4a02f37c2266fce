//! The same 1,000 tests as `guarded_1000.rs`, written with raw sqlx: a temporary
//! directory, a pool, `CREATE TABLE`, one insert, one select, close, remove. Built and
//! timed by `bench-table`; `test = false`, so `cargo test --workspace` leaves it alone.

#[path = "thousand.rs"]
#[macro_use]
mod thousand;

macro_rules! raw_test {
    ($name:ident) => {
        #[tokio::test]
        async fn $name() {
            dataflow_benches::raw::file_life().await;
        }
    };
}

thousand_tests!(raw_test);
