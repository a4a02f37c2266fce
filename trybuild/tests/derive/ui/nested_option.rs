use dataflow::Model;

#[derive(Model)]
struct User {
    id: String,
    nickname: Option<Option<String>>,
}

fn main() {}
