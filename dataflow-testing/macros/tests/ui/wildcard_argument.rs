use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
fn users_db(_: dataflow_testing::TempDatabase) -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

fn main() {}
