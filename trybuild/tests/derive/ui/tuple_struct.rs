use dataflow::Model;

#[derive(Model)]
struct User(String, i32);

fn main() {}
