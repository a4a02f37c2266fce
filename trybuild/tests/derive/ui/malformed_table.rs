use dataflow::Model;

#[derive(Model)]
#[dataflow(table = people)]
struct Person {
    id: String,
}

fn main() {}
