use dataflow::Model;

#[derive(Model)]
#[dataflow(table = "users; DROP TABLE x")]
struct User {
    id: String,
}

fn main() {}
