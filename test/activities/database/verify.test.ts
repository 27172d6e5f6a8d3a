import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { createActivities, type VerificationCheck, type VerifyBranchInput } from '../../../src/activities';
import { seedProject, type SeededProject } from '../../../tools/emulator';
import { createNeonClient, RateBudget } from '../../../src/neon';
import { httpGetter } from '../../../src/activities/database/connect';
import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
let seeded: SeededProject;
let health: Server;
let healthUrl: string;
let healthRequests = 0;

beforeAll(async () => {
  // The health server listens on 127.0.0.1: these activities are a worker's with NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1.
  h = await startHarness({ mode: 'data' }, { httpGet: httpGetter({ allowPrivateNetwork: true }) });
  seeded = await seedProject(h.emu, { rows: 3 });
  health = createServer((req, res) => {
    healthRequests++;
    if (req.url === '/healthz') res.writeHead(200).end('status: ok');
    else res.writeHead(500).end('database unavailable');
  });
  await new Promise<void>((r) => health.listen(0, '127.0.0.1', r));
  healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}`;
}, 120_000);
afterAll(async () => {
  await new Promise((r) => health?.close(r));
  await h?.stop();
});

function input(checks: VerificationCheck[], extra: Partial<VerifyBranchInput> = {}): VerifyBranchInput {
  const { projectId, branchId, databaseName, roleName } = seeded;
  return { projectId, branchId, databaseName, roleName, checks, ...extra };
}

async function countRows(): Promise<number> {
  const c = new Client({ connectionString: seeded.connectionUri });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0]?.n);
  } finally {
    await c.end();
  }
}

describe('verifyBranch against the emulator (real Postgres behind it)', () => {
  it('with fingerprint, adds the branch data fingerprint once every check passed, and none after a failed one', async () => {
    const passing = await h.run(
      h.activities.verifyBranch,
      input([{ kind: 'sql', sql: 'SELECT count(*) FROM items', expect: { value: 3 } }], { fingerprint: true }),
    );
    const { projectId, branchId, databaseName, roleName } = seeded;
    const alone = await h.run(h.activities.fingerprintBranch, { projectId, branchId, databaseName, roleName });
    expect(passing.ok).toBe(true);
    expect(passing.fingerprint).toEqual(alone);
    const failing = await h.run(
      h.activities.verifyBranch,
      input([{ kind: 'sql', sql: 'SELECT count(*) FROM items', expect: { value: 4 } }], { fingerprint: true }),
    );
    expect(failing.ok).toBe(false);
    expect(failing.fingerprint).toBeUndefined();
    expect(
      (await h.run(h.activities.verifyBranch, input([{ kind: 'tablesExist', tables: ['items'] }]))).fingerprint,
    ).toBeUndefined();
  });

  it('passes SQL value, row count, comparison, table and health checks', async () => {
    const res = await h.run(
      h.activities.verifyBranch,
      input([
        { kind: 'sql', name: 'three items', sql: 'SELECT count(*) FROM items', expect: { value: 3 } },
        { kind: 'sql', sql: 'SELECT id FROM items', expect: { rowCount: 3 } },
        {
          kind: 'sql',
          sql: 'SELECT max(id) FROM items',
          expect: { compare: { op: 'gte', value: 3 }, rowCount: { op: 'eq', value: 1 } },
        },
        { kind: 'tablesExist', tables: ['items', 'public.items'] },
        { kind: 'http', url: `${healthUrl}/healthz`, bodyIncludes: 'ok' },
      ]),
    );
    expect(res.checks.map((c) => [c.name, c.ok])).toEqual([
      ['three items', true],
      ['sql#2', true],
      ['sql#3', true],
      ['tablesExist#4', true],
      ['http#5', true],
    ]);
    expect(res).toMatchObject({ ok: true, failedCheck: null });
  });

  it('catches a wrong row count, a missing table and a failing health URL, saying which and why', async () => {
    const res = await h.run(
      h.activities.verifyBranch,
      input([
        { kind: 'sql', name: 'row count', sql: 'SELECT id FROM items', expect: { rowCount: 5 } },
        { kind: 'tablesExist', name: 'tables', tables: ['items', 'orders'] },
        { kind: 'http', name: 'health', url: `${healthUrl}/broken` },
        { kind: 'sql', name: 'bad sql', sql: 'SELECT * FROM nowhere', expect: { rowCount: 0 } },
      ]),
    );
    expect(res.ok).toBe(false);
    expect(res.failedCheck).toBe('row count');
    const detail = Object.fromEntries(res.checks.map((c) => [c.name, c.detail]));
    expect(detail).toMatchObject({
      'row count': 'expected 5 rows, got 3',
      tables: 'missing tables: orders',
      health: `GET ${healthUrl}/broken answered 500, expected 2xx`,
    });
    expect(detail['bad sql']).toMatch(/^error: relation "nowhere" does not exist/);
    expect(res.checks.map((c) => c.ok)).toEqual([false, false, false, false]);
  });

  it('by default an http check to a loopback, private or link-local address fails without a request', async () => {
    const neon = createNeonClient({ baseUrl: h.emu.baseUrl, apiKey: h.emu.apiKey, rateBudget: new RateBudget() });
    const acts = createActivities({ neon });
    const port = new URL(healthUrl).port;
    const before = healthRequests;
    const urls = [
      `${healthUrl}/healthz`,
      `http://localhost:${port}/healthz`,
      `http://[::ffff:127.0.0.1]:${port}/healthz`,
      'http://169.254.169.254/latest/meta-data/',
    ];
    const res = await h.run(acts.verifyBranch, input(urls.map((url) => ({ kind: 'http', url, bodyIncludes: 'ok' }))));
    expect(res.ok).toBe(false);
    for (const check of res.checks) {
      expect(check).toMatchObject({ ok: false });
      expect(check.detail).toMatch(/^error: refused to connect to .*: it is a loopback, private or link-local address/);
      expect(check.detail).toContain('NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1');
    }
    expect(healthRequests).toBe(before);
  });

  it('is read-only: writes, including one smuggled after a COMMIT, fail and change nothing', async () => {
    const res = await h.run(
      h.activities.verifyBranch,
      input(
        [
          { kind: 'sql', name: 'delete', sql: 'DELETE FROM items RETURNING id', expect: { rowCount: 3 } },
          { kind: 'sql', name: 'smuggled', sql: 'COMMIT; DELETE FROM items', expect: { rowCount: 0 } },
          { kind: 'sql', name: 'slow', sql: 'SELECT pg_sleep(2)', expect: { rowCount: 1 } },
        ],
        { statementTimeoutMs: 300 },
      ),
    );
    const detail = Object.fromEntries(res.checks.map((c) => [c.name, c.detail]));
    expect(detail.delete).toContain('read-only transaction');
    expect(detail.smuggled).toMatch(/^error: cannot insert multiple commands into a prepared statement/);
    expect(detail.slow).toContain('statement timeout');
    expect(await countRows()).toBe(3);
  });

  it('throwOnFailure turns a failed check into a non-retryable VerificationFailed carrying the result', async () => {
    const err = await h
      .run(h.activities.verifyBranch, input([{ kind: 'tablesExist', tables: ['orders'] }], { throwOnFailure: true }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({
      type: 'VerificationFailed',
      nonRetryable: true,
      details: [{ verification: { ok: false, failedCheck: 'tablesExist#1' } }],
    });
  });

  it('rejects malformed checks as InvalidInput naming the field, before any call', async () => {
    h.emu.resetRequestLog();
    const bad = input([{ kind: 'sql', sql: 'SELECT 1', expect: {} }]);
    const err = await h.run(h.activities.verifyBranch, bad).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'InvalidInput', nonRetryable: true, details: [{ field: 'checks.0.expect' }] });
    expect(h.emu.requestLog()).toHaveLength(0);
  });

  it('compareSchema reports what a child branch added', async () => {
    const { projectId, branchId } = seeded;
    const child = await h.run(h.activities.createBranch, {
      projectId,
      name: 'schema-child',
      parentId: branchId,
      endpointType: 'read_write',
    });
    await h.run(h.activities.waitForOperations, { projectId, operationIds: child.operationIds });
    const { uri } = (await h.api(
      'GET',
      `/projects/${projectId}/connection_uri?branch_id=${child.branch.id}&database_name=${seeded.databaseName}&role_name=${seeded.roleName}`,
    )) as { uri: string };
    const c = new Client({ connectionString: uri });
    await c.connect();
    await c.query('CREATE TABLE added_on_child (id int primary key)');
    await c.end();
    const args = { projectId, databaseName: seeded.databaseName };
    const diff = await h.run(h.activities.compareSchema, {
      ...args,
      branchId: child.branch.id,
      baseBranchId: branchId,
    });
    expect(diff).toMatchObject({ identical: false, truncated: false });
    expect(diff.diff).toContain('added_on_child');
    const same = await h.run(h.activities.compareSchema, { ...args, branchId, baseBranchId: branchId });
    expect(same).toEqual({ identical: true, diff: '', truncated: false });
  });

  it('a connection failure is a retryable DatabaseUnreachable with the URI and password scrubbed', async () => {
    const neon = createNeonClient({ baseUrl: h.emu.baseUrl, apiKey: h.emu.apiKey, rateBudget: new RateBudget() });
    const acts = createActivities({
      neon,
      db: (uri) =>
        Promise.reject(new Error(`connect ECONNREFUSED while opening ${uri} (password ${new URL(uri).password})`)),
    });
    const err = (await h
      .run(acts.verifyBranch, input([{ kind: 'tablesExist', tables: ['items'] }]))
      .catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ type: 'DatabaseUnreachable', nonRetryable: false });
    const password = new URL(seeded.connectionUri).password;
    expect(password.length).toBeGreaterThan(4);
    expect(`${err.message} ${err.stack}`).not.toContain(password);
    expect(err.message).toContain('[REDACTED]');
  });
});
