/**
 * The sample application's database: a small shop (customers, products, orders) with a few hundred rows, its contact
 * form's submissions and a page view log, and the questions the demo asks of it to tell which version of the data an
 * endpoint serves.
 */
import { query } from './neon';

export const SAMPLE = { customers: 40, products: 12, orders: 300, submissions: 3 } as const;

export async function loadSampleApp(uri: string): Promise<void> {
  await query(
    uri,
    `CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE);
     CREATE TABLE products (id serial PRIMARY KEY, sku text NOT NULL UNIQUE, name text NOT NULL,
                            price_cents int NOT NULL CHECK (price_cents > 0));
     CREATE TABLE orders (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers,
                          product_id int NOT NULL REFERENCES products, quantity int NOT NULL,
                          total_cents int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
     INSERT INTO customers (name, email)
       SELECT 'Customer ' || g, 'customer' || g || '@example.com' FROM generate_series(1, ${SAMPLE.customers}) g;
     INSERT INTO products (sku, name, price_cents)
       SELECT 'SKU-' || lpad(g::text, 3, '0'), 'Product ' || g, 500 + g * 250 FROM generate_series(1, ${SAMPLE.products}) g;
     INSERT INTO orders (customer_id, product_id, quantity, total_cents, created_at)
       SELECT 1 + g % ${SAMPLE.customers}, p.id, 1 + g % 4, (1 + g % 4) * p.price_cents,
              now() - make_interval(hours => g)
       FROM generate_series(1, ${SAMPLE.orders}) g JOIN products p ON p.id = 1 + g % ${SAMPLE.products};
     -- The tables prod keeps writing to exist from day one: a table prod created after dev was forked cannot be
     -- carried into a promotion (dev's schema has no place for it).
     CREATE TABLE submissions (id serial PRIMARY KEY, email text NOT NULL, message text NOT NULL);
     INSERT INTO submissions (email, message)
       SELECT 'visitor' || g || '@example.com', 'Question ' || g FROM generate_series(1, ${SAMPLE.submissions}) g;
     CREATE TABLE page_views (id bigint PRIMARY KEY, at timestamptz DEFAULT now());`,
  );
}

/** The schema change the story ships: orders get a status, with a default so existing rows stay valid. */
export const MIGRATION = `ALTER TABLE orders ADD COLUMN status text NOT NULL DEFAULT 'paid'`;

/** A faulty data migration on dev: it flips some totals negative (a sign bug), which prod's smoke test catches. */
export const FAULTY_CHANGE = `UPDATE orders SET total_cents = -total_cents WHERE id % 25 = 0`;

export type AppState = {
  orders: number;
  customers: number;
  hasStatus: boolean;
  negativeTotals: number;
  submissions: number;
};

export async function appState(uri: string): Promise<AppState> {
  type Row = { orders: number; customers: number; has_status: boolean; negative: number; submissions: number };
  const [row] = await query<Row>(
    uri,
    `SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM customers) AS customers,
            (SELECT count(*)::int FROM submissions) AS submissions,
            EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'status')
              AS has_status,
            (SELECT count(*)::int FROM orders WHERE total_cents < 0) AS negative`,
  );
  const { orders, customers, submissions } = row!;
  return { orders, customers, hasStatus: row!.has_status, negativeTotals: row!.negative, submissions };
}

export const describeState = (s: AppState): string =>
  `${s.orders} orders, ${s.customers} customers, orders.status ${s.hasStatus ? 'present' : 'absent'}, ` +
  `${s.negativeTotals} negative totals, ${s.submissions} submissions`;
