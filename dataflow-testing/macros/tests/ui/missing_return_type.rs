use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
fn users_db() {
    dataflow::DataFlow::new("sqlite::memory:").unwrap();
}

fn main() {}
