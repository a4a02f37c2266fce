use dataflow::Model;

#[derive(Model)]
#[dataflow(table = "people")]
#[dataflow(table = "persons")]
struct Person {
    id: String,
}

fn main() {}
