use dataflow::Model;

#[derive(Model)]
struct User;

fn main() {}
