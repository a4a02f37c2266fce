-- Customers of the shop (portable SQL: SQLite, PostgreSQL, MySQL/MariaDB).
CREATE TABLE customers (
    id BIGINT PRIMARY KEY,
    email VARCHAR(200) NOT NULL UNIQUE,
    name TEXT NOT NULL
);
