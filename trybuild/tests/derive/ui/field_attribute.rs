use dataflow::Model;

#[derive(Model)]
struct Person {
    id: String,
    #[dataflow(column = "full_name")]
    name: String,
}

fn main() {}
