import { MockAgent } from 'undici';
import {
  createNeonClient,
  NeonConnectionError,
  NeonLockedError,
  NeonNotFoundError,
  NeonQuotaExceededError,
  NeonRateLimitedError,
  NeonSchemaMismatchError,
  NeonUnavailableError,
  NeonUnprocessableError,
  RateBudget,
} from '../../src/neon';

const API_KEY = 'napi_test_secret_key_0123456789';
const ORIGIN = 'https://neon.test';

const branch = {
  id: 'br-a',
  project_id: 'p-1',
  name: 'main',
  current_state: 'ready',
  default: true,
  protected: false,
  created_at: '2025-01-01T00:00:00Z',
  updated_at: '2025-01-01T00:00:00Z',
  connection_uris: [{ connection_uri: 'postgres://owner:hunter2@host/db' }],
};

function setup() {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const pool = agent.get(ORIGIN);
  const neon = createNeonClient({
    baseUrl: `${ORIGIN}/api/v2`,
    apiKey: API_KEY,
    dispatcher: agent,
    rateBudget: new RateBudget(),
  });
  return { agent, pool, neon };
}

const json = { headers: { 'content-type': 'application/json' } };

describe('Neon client', () => {
  it('sends the key, an X-Request-ID from the context, and parses the response', async () => {
    const { pool, neon } = setup();
    let seen: Record<string, string> = {};
    pool.intercept({ path: '/api/v2/projects/p-1/branches/br-a', method: 'GET' }).reply((opts) => {
      seen = opts.headers as Record<string, string>;
      return { statusCode: 200, data: { branch }, responseOptions: json };
    });
    const got = await neon.getBranch('p-1', 'br-a', {
      context: { workflowId: 'promote p-1', activityType: 'resolveEnvironment', attempt: 3 },
    });
    expect(got).toMatchObject({ id: 'br-a', name: 'main', restored_from: null, expires_at: null });
    // Secrets in fields we do not read are stripped at the boundary.
    expect(JSON.stringify(got)).not.toContain('hunter2');
    expect(seen.authorization).toBe(`Bearer ${API_KEY}`);
    expect(seen['x-request-id']).toMatch(/^neon-promote\/promote_p-1\/resolveEnvironment\/a3\/[a-z0-9]+-\d+$/);
  });

  it('sends snapshot name and expiry as query parameters, as the spec says', async () => {
    const { pool, neon } = setup();
    pool
      .intercept({
        path: '/api/v2/projects/p-1/branches/br-a/snapshot?name=np-wf-1-rollback&expires_at=2025-02-01T00%3A00%3A00Z',
        method: 'POST',
      })
      .reply(200, { snapshot: { id: 'snap-1', name: 'np-wf-1-rollback', created_at: 'x' }, operations: [] }, json);
    const res = await neon.createSnapshot('p-1', 'br-a', {
      name: 'np-wf-1-rollback',
      expiresAt: '2025-02-01T00:00:00Z',
    });
    expect(res.snapshot).toMatchObject({ id: 'snap-1', source_branch_id: null });
  });

  it('names the field path when a response does not match its schema', async () => {
    const { pool, neon } = setup();
    pool
      .intercept({ path: '/api/v2/projects/p-1/branches?limit=10000', method: 'GET' })
      .reply(200, { branches: [branch, { ...branch, id: 'br-b', name: 42 }] }, json);
    const err = await neon.listBranches('p-1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NeonSchemaMismatchError);
    expect((err as NeonSchemaMismatchError).retryable).toBe(false);
    expect((err as Error).message).toContain('branches.1.name');
  });

  it.each([
    [404, { code: 'not_found', message: 'branch not found', request_id: 'rq-9' }, NeonNotFoundError, false],
    [422, { code: '', message: 'branch is protected' }, NeonUnprocessableError, false],
    [422, { code: 'SNAPSHOTS_LIMIT_EXCEEDED', message: 'too many snapshots' }, NeonQuotaExceededError, false],
    [423, { code: '', message: 'project already has running operations' }, NeonLockedError, true],
    [503, { message: 'unavailable' }, NeonUnavailableError, true],
  ])('maps %i to its error class and retryability', async (status, body, cls, retryable) => {
    const { pool, neon } = setup();
    pool.intercept({ path: '/api/v2/projects/p-1/branches/br-a', method: 'GET' }).reply(status, body, json);
    const err = (await neon.getBranch('p-1', 'br-a').catch((e: unknown) => e)) as NeonNotFoundError;
    expect(err).toBeInstanceOf(cls);
    expect(err.status).toBe(status);
    expect(err.retryable).toBe(retryable);
    expect(err.message).toContain(body.message);
    expect(err.requestId).toEqual('request_id' in body ? body.request_id : expect.stringMatching(/^neon-promote\//));
  });

  it('carries Retry-After of a 429 as retryAfterMs', async () => {
    const { pool, neon } = setup();
    pool
      .intercept({ path: '/api/v2/projects/p-1/snapshots', method: 'GET' })
      .reply(429, { message: 'rate limited' }, { headers: { 'retry-after': '7' } });
    const err = (await neon.listSnapshots('p-1').catch((e: unknown) => e)) as NeonRateLimitedError;
    expect(err).toBeInstanceOf(NeonRateLimitedError);
    expect(err.retryable).toBe(true);
    expect(err.retryAfterMs).toBe(7000);
  });

  it('treats a 204 on branch delete as already gone', async () => {
    const { pool, neon } = setup();
    // hard_delete: what the product deletes goes at once, not into Neon's 7-day recovery window.
    pool.intercept({ path: '/api/v2/projects/p-1/branches/br-x?hard_delete=true', method: 'DELETE' }).reply(204, '');
    await expect(neon.deleteBranch('p-1', 'br-x')).resolves.toEqual({ deleted: false, operations: [] });
  });

  it('turns a socket error into a retryable NeonConnectionError without the API key anywhere', async () => {
    const { pool, neon } = setup();
    pool
      .intercept({ path: '/api/v2/projects/p-1/snapshots/snap-1/restore', method: 'POST' })
      .replyWithError(new Error(`socket hang up (sent Authorization: Bearer ${API_KEY})`));
    const err = (await neon
      .restoreSnapshot('p-1', 'snap-1', { targetBranchId: 'br-a' })
      .catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(NeonConnectionError);
    expect((err as NeonConnectionError).retryable).toBe(true);
    const everything = `${err.message}\n${err.stack}\n${String((err.cause as Error).message)}\n${(err.cause as Error).stack}\n${JSON.stringify(err)}`;
    expect(everything).toContain('socket hang up');
    expect(everything).not.toContain(API_KEY);
  });

  it('rejects with the caller signal reason when aborted, not a network error', async () => {
    const { pool, neon } = setup();
    pool
      .intercept({ path: '/api/v2/projects/p-1/snapshots', method: 'GET' })
      .reply(200, { snapshots: [] }, json)
      .delay(500);
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    setTimeout(() => controller.abort(reason), 20);
    await expect(neon.listSnapshots('p-1', { signal: controller.signal })).rejects.toBe(reason);
  });
});
