use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
unsafe fn users_db() -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

fn main() {}
