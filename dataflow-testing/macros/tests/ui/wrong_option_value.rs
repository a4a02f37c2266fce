use dataflow_testing::dataflow_fixture;

#[dataflow_fixture(leak_check = global, keep_on_failure = "yes")]
fn users_db() -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

#[dataflow_fixture(leak_check, keep_on_failure(true))]
fn orders_db() -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

fn main() {}
