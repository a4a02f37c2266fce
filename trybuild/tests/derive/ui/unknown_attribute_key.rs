use dataflow::Model;

#[derive(Model)]
#[dataflow(table = "people", schema = "public")]
struct Person {
    id: String,
}

fn main() {}
