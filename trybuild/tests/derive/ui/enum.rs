use dataflow::Model;

#[derive(Model)]
enum User {
    Admin { id: String },
    Guest { id: String },
}

fn main() {}
