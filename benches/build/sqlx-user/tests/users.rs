//! The same three tests with sqlx: a fresh in-memory database per test.

use rstest::{fixture, rstest};
use sqlx::{Row, SqlitePool};

#[fixture]
async fn pool() -> SqlitePool {
    let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
    sqlx::query(sqlx_user::CREATE_USERS)
        .execute(&pool)
        .await
        .unwrap();
    pool
}

async fn insert(pool: &SqlitePool, id: &str, name: &str) {
    sqlx::query("INSERT INTO users (id, name, age) VALUES (?, ?, 30)")
        .bind(id)
        .bind(name)
        .execute(pool)
        .await
        .unwrap();
}

#[rstest]
#[tokio::test]
async fn creates_a_user(#[future] pool: SqlitePool) {
    let pool = pool.await;
    insert(&pool, "u1", "Ann").await;
    let row = sqlx::query("SELECT name FROM users WHERE id = ?")
        .bind("u1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>("name"), "Ann");
}

#[rstest]
#[tokio::test]
async fn reads_a_user(#[future] pool: SqlitePool) {
    let pool = pool.await;
    insert(&pool, "u1", "Ann").await;
    let row = sqlx::query("SELECT age FROM users WHERE id = ?")
        .bind("u1")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(row.get::<i64, _>("age"), 30);
}

#[rstest]
#[tokio::test]
async fn lists_users(#[future] pool: SqlitePool) {
    let pool = pool.await;
    insert(&pool, "u1", "Ann").await;
    insert(&pool, "u2", "Bob").await;
    let rows = sqlx::query("SELECT name FROM users ORDER BY name")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
}
