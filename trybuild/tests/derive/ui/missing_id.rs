use dataflow::Model;

#[derive(Model)]
struct User {
    user_id: String,
    name: String,
}

fn main() {}
