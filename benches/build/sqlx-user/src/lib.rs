//! A user's table.

/// The table of users.
pub const CREATE_USERS: &str =
    "CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT NOT NULL, age INTEGER NOT NULL)";
