use dataflow_testing::dataflow_fixture;

#[dataflow_fixture(keep_on_failure, leak_check = "off", keep_on_failure = false)]
fn users_db() -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

fn main() {}
