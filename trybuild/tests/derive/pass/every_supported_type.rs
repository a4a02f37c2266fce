use dataflow::{FieldType, Model};

#[derive(Model)]
struct UserProfile {
    id: i64,
    name: String,
    qualified: std::string::String,
    age: i32,
    visits: i64,
    score: f64,
    active: bool,
    avatar: Vec<u8>,
    settings: serde_json::Value,
    joined: chrono::DateTime<chrono::Utc>,
    birthday: chrono::NaiveDateTime,
    nickname: Option<String>,
    rank: Option<i32>,
    karma: Option<i64>,
    weight: Option<f64>,
    verified: Option<bool>,
    banner: Option<Vec<u8>>,
    extra: Option<serde_json::Value>,
    last_seen: Option<chrono::DateTime<chrono::Utc>>,
    wake_up: Option<chrono::NaiveDateTime>,
    r#type: String,
}

#[derive(Model)]
#[dataflow(table = "people")]
struct Person {
    id: String,
}

fn main() {
    let schema = UserProfile::schema();
    assert_eq!(schema.name(), "UserProfile");
    assert_eq!(schema.table(), "user_profiles");
    assert!(schema.validate().is_ok());
    assert!(std::ptr::eq(schema, UserProfile::schema()), "built once");

    let fields: Vec<(&str, FieldType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name.as_str(), f.ty, f.nullable))
        .collect();
    assert_eq!(
        fields,
        [
            ("id", FieldType::I64, false),
            ("name", FieldType::String, false),
            ("qualified", FieldType::String, false),
            ("age", FieldType::I32, false),
            ("visits", FieldType::I64, false),
            ("score", FieldType::F64, false),
            ("active", FieldType::Bool, false),
            ("avatar", FieldType::Bytes, false),
            ("settings", FieldType::Json, false),
            ("joined", FieldType::DateTime, false),
            ("birthday", FieldType::NaiveDateTime, false),
            ("nickname", FieldType::String, true),
            ("rank", FieldType::I32, true),
            ("karma", FieldType::I64, true),
            ("weight", FieldType::F64, true),
            ("verified", FieldType::Bool, true),
            ("banner", FieldType::Bytes, true),
            ("extra", FieldType::Json, true),
            ("last_seen", FieldType::DateTime, true),
            ("wake_up", FieldType::NaiveDateTime, true),
            ("type", FieldType::String, false),
        ]
    );
    assert!(schema.primary_key_auto_increments());

    let person = Person::schema();
    assert_eq!(person.name(), "Person");
    assert_eq!(person.table(), "people");
    assert!(!person.primary_key_auto_increments());
    assert!(person.validate().is_ok());
}
