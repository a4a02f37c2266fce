use dataflow::Model;

#[derive(Model)]
struct Page<T> {
    id: i64,
    items: Vec<T>,
}

fn main() {}
