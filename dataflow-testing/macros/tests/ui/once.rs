use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
#[once]
fn shared_db() -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

fn main() {}
