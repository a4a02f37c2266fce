use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
fn users_db((scheme, path): (&'static str, &'static str)) -> dataflow::DataFlow {
    dataflow::DataFlow::new(&format!("{scheme}{path}")).unwrap()
}

fn main() {}
