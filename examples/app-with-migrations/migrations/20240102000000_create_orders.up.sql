CREATE TABLE orders (
    id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    total_cents BIGINT NOT NULL,
    placed_on DATE NOT NULL
);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
