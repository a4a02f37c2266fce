use dataflow::Model;

#[derive(Model)]
#[dataflow(table = "1st", colour = "red")]
struct Order {
    number: u64,
    note: Option<Option<String>>,
    updated_at: String,
}

fn main() {}
