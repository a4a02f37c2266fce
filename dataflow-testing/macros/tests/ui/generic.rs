use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
fn users_db<U: AsRef<str>>(url: U) -> dataflow::DataFlow {
    dataflow::DataFlow::new(url.as_ref()).unwrap()
}

fn main() {}
