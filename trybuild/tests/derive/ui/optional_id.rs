use dataflow::Model;

#[derive(Model)]
struct User {
    id: Option<i64>,
    name: String,
}

fn main() {}
