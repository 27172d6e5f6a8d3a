import { Client } from 'pg';
import type { Emulator } from './index';

export type SeededProject = {
  projectId: string;
  branchId: string;
  endpointId: string;
  databaseName: string;
  roleName: string;
  /** Contains the role's password: keep it out of logs. */
  connectionUri: string;
};

type Json = Record<string, unknown>;

async function call(
  emu: Pick<Emulator, 'baseUrl' | 'apiKey'>,
  method: string,
  path: string,
  body?: unknown,
): Promise<Json> {
  const res = await fetch(`${emu.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Json;
}

/** Polls operations until each is terminal; throws if one failed or was cancelled (`error` is retried by Neon). */
export async function waitForOperations(
  emu: Pick<Emulator, 'baseUrl' | 'apiKey'>,
  projectId: string,
  ops: { id: string }[],
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const op of ops) {
    for (;;) {
      const { operation } = (await call(emu, 'GET', `/projects/${projectId}/operations/${op.id}`)) as {
        operation: { status: string };
      };
      if (['finished', 'skipped'].includes(operation.status)) break;
      if (['failed', 'cancelled'].includes(operation.status)) throw new Error(`operation ${op.id} ${operation.status}`);
      if (Date.now() > deadline) throw new Error(`operation ${op.id} still ${operation.status}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Test helper: creates a project through POST /projects (as any client would), waits for it, and fills a table
 * `items(id, label, source)` with `rows` rows through the project's own connection string. `label` and `source`
 * make it easy to tell whose data an endpoint serves after a promotion.
 */
export async function seedProject(
  emu: Pick<Emulator, 'baseUrl' | 'apiKey'>,
  opts: { name?: string; rows?: number; source?: string; branchName?: string } = {},
): Promise<SeededProject> {
  const created = (await call(emu, 'POST', '/projects', {
    project: { name: opts.name ?? 'seeded', branch: { name: opts.branchName ?? 'main' } },
  })) as {
    project: { id: string };
    branch: { id: string };
    endpoints: { id: string }[];
    databases: { name: string }[];
    roles: { name: string }[];
    connection_uris: { connection_uri: string }[];
    operations: { id: string }[];
  };
  await waitForOperations(emu, created.project.id, created.operations);
  const seeded: SeededProject = {
    projectId: created.project.id,
    branchId: created.branch.id,
    endpointId: created.endpoints[0]!.id,
    databaseName: created.databases[0]!.name,
    roleName: created.roles[0]!.name,
    connectionUri: created.connection_uris[0]!.connection_uri,
  };
  const c = new Client({ connectionString: seeded.connectionUri });
  await c.connect();
  try {
    await c.query('CREATE TABLE items (id serial PRIMARY KEY, label text NOT NULL, source text NOT NULL)');
    const n = opts.rows ?? 10;
    if (n > 0)
      await c.query(`INSERT INTO items (label, source) SELECT 'item ' || g, $1 FROM generate_series(1, $2::int) g`, [
        opts.source ?? 'seed',
        n,
      ]);
  } finally {
    await c.end();
  }
  return seeded;
}
