use dataflow_testing::dataflow_fixture;

#[dataflow_fixture]
struct UsersDb {
    url: String,
}

fn main() {}
