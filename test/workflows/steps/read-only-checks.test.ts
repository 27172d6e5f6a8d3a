/** SQL checks that are not read-only queries are refused in the plan, before anything changes at Neon. */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { seedProd, sourceOf, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const mutatingSince = (from: number): string[] =>
  s.emu
    .requestLog()
    .slice(from)
    .filter((r) => r.method !== 'GET')
    .map((r) => r.route);
const sqlCheck = (sql: string) => ({ kind: 'sql' as const, sql, expect: { rowCount: 0 } });

/** The InvalidInput failure a workflow ended with (its message names the field). */
async function refusal(run: Promise<unknown>): Promise<ApplicationFailure> {
  const err: unknown = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const cause = (err as WorkflowFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  expect((cause as ApplicationFailure).type).toBe('InvalidInput');
  return cause as ApplicationFailure;
}

test('a promotion whose checks write, lock, create or run commands is refused naming the check, with no mutating call', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    const bad: [string, RegExp][] = [
      ['DELETE FROM items', /not a query/],
      ['DROP TABLE items', /not a query/],
      // The gate plans as the checks' read-only role: a plan that would write or lock rows is refused by Postgres
      // for want of the privilege before the plan's shape is looked at.
      ['WITH gone AS (DELETE FROM items RETURNING id) SELECT count(*) FROM gone', /permission denied for table items/],
      ['/* hi */ (SELECT * FROM items FOR UPDATE)', /permission denied for table items/],
      ['SELECT * INTO stolen FROM items', /INTO creates a table/],
      ['SELECT 1; DELETE FROM items', /EXPLAIN refused it/],
    ];
    for (const [sql, why] of bad) {
      const from = s.emu.requestLog().length;
      const f = await refusal(
        s.client.promote({ projectId: p.projectId, checks: [sqlCheck('SELECT count(*) FROM items'), sqlCheck(sql)] }),
      );
      expect(f.message).toMatch(/^invalid input: checks\.1\.sql: must be a read-only query \(/);
      expect(f.message).toMatch(why);
      expect(mutatingSince(from)).toEqual([]);
    }
    // postSwapChecks are named by their own field.
    const f = await refusal(s.client.promote({ projectId: p.projectId, postSwapChecks: [sqlCheck('TRUNCATE items')] }));
    expect(f.message).toContain('postSwapChecks.0.sql: must be a read-only query');
    expect(await sourceOf(p.connectionUri)).toEqual(['prod']);
    // Read-only checks on what dev has go through.
    const r = await s.client.promote({
      projectId: p.projectId,
      checks: [sqlCheck(`SELECT id FROM items WHERE source = 'none'`)],
      postSwapChecks: [{ kind: 'sql', sql: 'SELECT count(*) FROM items', expect: { value: 0 } }],
    });
    expect(r.outcome).toBe('rolled_back');
    expect(r.reason).toContain('failed on prod after the swap');
  });
});

test("a promotion's check naming a table dev lacks is refused by the plan, before anything changes", async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    // A check naming a table dev lacks can never pass on the candidate (dev's schema): refused now, not after the swap.
    const from = s.emu.requestLog().length;
    const missing = await refusal(
      s.client.promote({
        projectId: p.projectId,
        checks: [sqlCheck(`SELECT id FROM items WHERE source = 'none'`)],
        postSwapChecks: [{ kind: 'sql', sql: 'SELECT count(*) FROM no_such_table', expect: { value: 0 } }],
      }),
    );
    expect(missing.message).toBe(
      'invalid input: postSwapChecks.0.sql: it cannot be planned: relation "no_such_table" does not exist ' +
        "(the checks run on dev's schema)",
    );
    expect(mutatingSince(from)).toEqual([]);
  });
});

test('refreshDev and rollback refuse a writing check before they change anything', async () => {
  const worker = await s.worker();
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    await (await s.client.startSetup({ projectId: p.projectId })).result();
    await s.client.promote({ projectId: p.projectId });
    const from = s.emu.requestLog().length;
    const checks = [sqlCheck(`UPDATE items SET source = 'x'`)];
    const refresh = await refusal(
      (async () => (await s.client.startRefresh({ projectId: p.projectId, checks })).result())(),
    );
    expect(refresh.message).toContain('checks.0.sql: must be a read-only query');
    const back = await refusal(
      (async () => (await s.client.startRollback({ projectId: p.projectId, checks })).result())(),
    );
    expect(back.message).toContain('checks.0.sql: must be a read-only query');
    expect(mutatingSince(from)).toEqual([]);
  });
});
