use dataflow::Model;

#[derive(Model)]
struct User {
    id: f64,
    name: String,
}

fn main() {}
