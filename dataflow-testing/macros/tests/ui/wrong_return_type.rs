use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
fn users_db() -> Option<dataflow::DataFlow> {
    dataflow::DataFlow::new("sqlite::memory:").ok()
}

#[dataflow_fixture]
fn already_guarded(
    #[from(users_db)] db: dataflow_testing::TestDataFlow,
) -> dataflow_testing::TestDataFlow {
    db
}

fn main() {}
