use dataflow::Model;

#[derive(Model)]
#[dataflow(timestamps = "no", unique = "email")]
struct Account {
    id: i64,
    #[dataflow(unique, unique, primary)]
    email: String,
}

fn main() {}
