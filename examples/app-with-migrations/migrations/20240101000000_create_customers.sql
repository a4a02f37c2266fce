-- Portable SQL: the same file runs on SQLite, PostgreSQL and MySQL/MariaDB.
CREATE TABLE customers (
    id BIGINT PRIMARY KEY,
    email VARCHAR(200) NOT NULL,
    name TEXT NOT NULL,
    CONSTRAINT customers_email_key UNIQUE (email)
);
