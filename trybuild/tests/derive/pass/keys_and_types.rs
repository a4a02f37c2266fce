use dataflow::{FieldType, Model};

#[derive(Model)]
#[dataflow(unique(team, r#type), index(team, email), timestamps = false)]
struct Member {
    id: uuid::Uuid,
    #[dataflow(unique)]
    email: String,
    #[dataflow(index)]
    team: i16,
    r#type: String,
    weight: f32,
    born: chrono::NaiveDate,
    balance: rust_decimal::Decimal,
    external: Option<uuid::Uuid>,
    // With the timestamps left out, the names are free.
    created_at: Option<chrono::NaiveDateTime>,
}

fn main() {
    let schema = Member::schema();
    let types: Vec<FieldType> = schema.fields().iter().map(|f| f.ty).collect();
    assert_eq!(
        types,
        [
            FieldType::Uuid,
            FieldType::String,
            FieldType::I16,
            FieldType::String,
            FieldType::F32,
            FieldType::Date,
            FieldType::Decimal,
            FieldType::Uuid,
            FieldType::NaiveDateTime,
        ]
    );
    assert!(!schema.has_timestamps());
    let unique: Vec<(&str, Vec<String>)> = schema
        .unique_constraints()
        .iter()
        .map(|k| (k.name.as_str(), k.columns.clone()))
        .collect();
    assert_eq!(
        unique,
        [
            ("members_email_key", vec!["email".to_owned()]),
            ("members_team_type_key", vec!["team".to_owned(), "type".to_owned()]),
        ]
    );
    let indexes: Vec<&str> = schema.indexes().iter().map(|k| k.name.as_str()).collect();
    assert_eq!(indexes, ["members_team_idx", "members_team_email_idx"]);
}
