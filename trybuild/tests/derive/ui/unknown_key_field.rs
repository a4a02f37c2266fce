use dataflow::Model;

#[derive(Model)]
#[dataflow(unique(email, tenant), index())]
struct Account {
    id: i64,
    email: String,
}

fn main() {}
