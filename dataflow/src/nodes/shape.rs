//! [`ModelShape`]: what registering a model derives from its schema alone, built once per
//! schema and shared by every instance that registers it.
//!
//! A test suite registers the same few models on a fresh instance in every test. Checking
//! the schema, listing its columns and naming its ten nodes gives the same result each
//! time, so the result is kept in a process-wide cache and the second instance only takes
//! a reference to it. What belongs to an instance (its database, whether its table exists)
//! stays in [`ModelState`](super::ModelState).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::db::sql::{self, ValidSchema};
use crate::db::value::Column;
use crate::error::Result;
use crate::model::ModelSchema;
use crate::node::NodeKind;

/// A validated schema with its columns and the names of its ten generated nodes.
#[derive(Debug)]
pub(crate) struct ModelShape {
    pub(crate) schema: ValidSchema,
    pub(crate) columns: Vec<Column>,
    /// The model's name, shared by its registry entries.
    pub(crate) model: Arc<str>,
    /// The generated node names, in [`NodeKind::GENERATED`] order; the registry's keys.
    pub(crate) names: [Arc<str>; NodeKind::GENERATED.len()],
}

/// How many shapes the cache keeps. A suite has a few dozen models; a program that makes
/// schemas at run time without end (a name per call) must not grow the cache with them, so
/// past this many it starts again (shapes in use live on in their instances).
const KEPT: usize = 1024;

/// The shape of `schema`: the cached one when an equal schema was registered before,
/// otherwise built now (an invalid schema is an error here, as it always was). `schema` is
/// cloned only when a shape is built from a borrowed one.
pub(crate) fn shape_of(schema: Cow<'_, ModelSchema>) -> Result<Arc<ModelShape>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<Arc<ModelShape>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let found = {
        let cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(schema.name())
            .and_then(|shapes| shapes.iter().find(|s| *s.schema == *schema).cloned())
    };
    if let Some(shape) = found {
        return Ok(shape);
    }
    // Built outside the lock: two threads may build the same shape; both are correct.
    let shape = Arc::new(ModelShape::new(ValidSchema::new(schema.into_owned())?));
    let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
    if cache.values().map(Vec::len).sum::<usize>() >= KEPT {
        cache.clear();
    }
    cache
        .entry(shape.schema.name().to_owned())
        .or_default()
        .push(Arc::clone(&shape));
    Ok(shape)
}

impl ModelShape {
    fn new(schema: ValidSchema) -> ModelShape {
        let columns = sql::columns(&schema);
        let model: Arc<str> = Arc::from(schema.name());
        let names = NodeKind::GENERATED.map(|kind| Arc::from(kind.node_name(&model)));
        ModelShape {
            schema,
            columns,
            model,
            names,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FieldType;

    fn schema(name: &str, field: &str) -> ModelSchema {
        ModelSchema::new(name)
            .field("id", FieldType::I64)
            .field(field, FieldType::String)
    }

    #[test]
    fn an_equal_schema_shares_its_shape_and_a_different_one_does_not() {
        let a = shape_of(Cow::Owned(schema("ShapeNote", "text"))).unwrap();
        let b = shape_of(Cow::Borrowed(&schema("ShapeNote", "text"))).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // Same name, other fields: a shape of its own, and both stay cached.
        let c = shape_of(Cow::Owned(schema("ShapeNote", "body"))).unwrap();
        assert!(!Arc::ptr_eq(&a, &c));
        assert!(Arc::ptr_eq(
            &c,
            &shape_of(Cow::Owned(schema("ShapeNote", "body"))).unwrap()
        ));
        assert_eq!(&*a.names[0], "ShapeNoteCreateNode");
        assert_eq!(&*a.model, "ShapeNote");
        assert_eq!(a.columns.len(), c.columns.len());
    }

    #[test]
    fn an_invalid_schema_is_an_error_every_time() {
        for _ in 0..2 {
            assert!(shape_of(Cow::Owned(schema("ShapeBad", "bad name"))).is_err());
        }
    }
}
