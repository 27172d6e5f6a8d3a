import { Client } from 'pg';

/**
 * Runs one statement on a fresh connection through a connection string, as an application would (so a test sees
 * which database an endpoint serves right now). A server that ends the session afterwards is no error of the test.
 */
export async function sql<R = Record<string, unknown>>(uri: string, text: string, params?: unknown[]): Promise<R[]> {
  const client = new Client({ connectionString: uri });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text, params)).rows as R[];
  } finally {
    await client.end();
  }
}
