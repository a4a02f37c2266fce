//! A user's model.

use dataflow::Model;

/// A user.
#[derive(Debug, Model)]
pub struct User {
    /// Its id, given by the caller.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its age.
    pub age: i32,
}
