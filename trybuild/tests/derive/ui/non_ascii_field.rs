use dataflow::Model;

#[derive(Model)]
struct Parcel {
    id: i64,
    größe: f64,
}

fn main() {}
