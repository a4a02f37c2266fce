use dataflow::Model;

#[derive(Model)]
struct User {
    id: String,
    age: u32,
    score: Option<f32>,
    tags: Vec<String>,
}

fn main() {}
