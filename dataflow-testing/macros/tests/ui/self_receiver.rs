use dataflow_testing::dataflow_fixture;

struct Databases {
    url: String,
}

impl Databases {
    #[dataflow_fixture]
    fn users_db(&self) -> dataflow::DataFlow {
        dataflow::DataFlow::new(&self.url).unwrap()
    }
}

fn main() {}
