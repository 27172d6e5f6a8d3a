/**
 * Bad input: malformed or hostile inputs to the client and straight to the workflows. Each must be refused with a
 * message naming the problem, and the emulator's request log must show no mutating call while it was handled.
 * (The CLI, src/cli, did not exist when this was written: its inputs are not covered yet.)
 */
import { WorkflowFailedError } from '@temporalio/client';
import {
  startStack,
  api,
  type Inventory,
  seedProd,
  sql,
  uriOf,
  neonActivities,
  type Stack,
} from '../workflows/support';
import { mutatingCalls, noteSecrets, record } from './harness';
import { waitForOperations, type SeededProject } from '../../src/emulator';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker } from '../../src/worker';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
  await noteSecrets(s.emu);
});
afterAll(async () => s?.stop());

/** Every message in the failure chain, so a refusal inside an activity is read whole. */
function messages(err: unknown): string {
  const out: string[] = [];
  for (let e = err as { message?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e)
    out.push(String(e.message));
  return out.join(' <- ');
}

/** `finding`: accepted (or refused unclearly) today; reported, and held to the rule by a test.failing below. */
type Case = { name: string; run: () => Promise<unknown>; refusedFor: RegExp; finding?: true };

const findings: string[] = [];

test('bad input: each refused, naming the problem, with no mutating call', async () => {
  const ready: SeededProject = await seedProd(s.emu, 3);
  const other: SeededProject = await seedProd(s.emu, 3);
  const bare: SeededProject = await seedProd(s.emu, 3); // no dev: setup never ran
  const full: SeededProject = await seedProd(s.emu, 3);
  const w = await createWorker({
    connection: s.t.nativeConnection,
    taskQueue: s.t.taskQueue,
    workflowBundle: s.bundle,
    activities: { ...createHealthActivities(), ...neonActivities(s.emu) },
  });
  await w.runUntil(async () => {
    for (const p of [ready, other, full]) await (await s.client.startSetup({ projectId: p.projectId })).result();
    // A rollback snapshot in the other project, and a schema change on ready's dev that was never promoted.
    await (await s.client.startPromotion({ projectId: other.projectId })).result();
    await sql(await uriOf(s.emu, ready, 'dev'), 'ALTER TABLE items ADD COLUMN unpromoted int');
    // Fill the quota of `full` with snapshots this product did not take (it must not delete them to make room).
    const branches = (await api(s.emu, 'GET', `/projects/${full.projectId}/branches`))
      .branches as Inventory['branches'];
    const prodId = branches.find((b) => b.name === 'prod')!.id;
    for (let i = 0; i < 9; i++) {
      const r = await api(s.emu, 'POST', `/projects/${full.projectId}/branches/${prodId}/snapshot?name=manual-${i}`);
      await waitForOperations(s.emu, full.projectId, r.operations as { id: string }[]);
    }
    const otherSnap = (
      (await api(s.emu, 'GET', `/projects/${other.projectId}/snapshots`)).snapshots as Inventory['snapshots']
    )[0]!.id;

    const P = ready.projectId;
    const c = s.client;
    const promote = (x: object) => c.promote({ projectId: P, ...x });
    const sqlCheck = (text: string) => ({ kind: 'sql', sql: text, expect: { rowCount: 0 } });
    const cases: Case[] = [
      { name: 'empty project ID', run: () => c.promote({ projectId: '' }), refusedFor: /projectId/ },
      {
        name: 'project ID with hostile characters',
        run: () => promote({ projectId: "x'; DROP TABLE--" }),
        refusedFor: /projectId/,
      },
      {
        name: 'project ID of 500 characters',
        run: () => promote({ projectId: 'a'.repeat(500) }),
        refusedFor: /projectId/,
      },
      { name: 'missing project ID', run: () => c.promote({} as never), refusedFor: /projectId/ },
      { name: 'input is null', run: () => c.promote(null as never), refusedFor: /input|expected object/i },
      {
        name: 'prod == dev',
        run: () => promote({ prodBranchName: 'prod', devBranchName: 'prod' }),
        refusedFor: /devBranchName.*differ/,
      },
      {
        name: 'branch name with a control character',
        run: () => promote({ prodBranchName: 'pr\u0007od' }),
        refusedFor: /prodBranchName.*control/,
      },
      {
        name: 'branch name with a newline',
        run: () => promote({ devBranchName: 'dev\nprod' }),
        refusedFor: /devBranchName.*control/,
      },
      { name: 'empty branch name', run: () => promote({ devBranchName: '' }), refusedFor: /devBranchName/ },
      { name: 'empty database name', run: () => promote({ databaseName: '' }), refusedFor: /databaseName/ },
      { name: 'role name of 64 characters', run: () => promote({ roleName: 'r'.repeat(64) }), refusedFor: /roleName/ },
      {
        name: 'SQL check with empty SQL',
        run: () => promote({ checks: [sqlCheck('')] }),
        refusedFor: /checks\.0\.sql/,
      },
      {
        name: 'SQL check without expectation',
        run: () => promote({ checks: [{ kind: 'sql', sql: 'SELECT 1', expect: {} }] }),
        refusedFor: /checks\.0\.expect.*at least one/,
      },
      {
        name: 'unknown check kind',
        run: () => promote({ checks: [{ kind: 'shell', cmd: 'rm -rf /' }] }),
        refusedFor: /checks\.0\.kind/,
      },
      {
        name: 'table check with injected SQL',
        run: () => promote({ checks: [{ kind: 'tablesExist', tables: ['items; DROP TABLE items'] }] }),
        refusedFor: /checks\.0\.tables\.0/,
      },
      {
        name: 'http check with a file: URL',
        run: () => promote({ checks: [{ kind: 'http', url: 'file:///etc/passwd' }] }),
        refusedFor: /checks\.0\.url/,
      },
      {
        name: '101 checks',
        run: () => promote({ checks: Array.from({ length: 101 }, () => sqlCheck('SELECT 1')) }),
        refusedFor: /checks/,
      },
      {
        name: 'retention of 100 years',
        run: () => promote({ retention: { rollbackSnapshot: '36500d' } }),
        refusedFor: /retention\.rollbackSnapshot.*at most/,
      },
      {
        name: 'negative backup retention',
        run: () => promote({ retention: { backupBranch: -5 } }),
        refusedFor: /retention\.backupBranch.*at least/,
      },
      {
        name: 'retention in an unknown unit',
        run: () => promote({ retention: { candidateSnapshot: '3 fortnights' } }),
        refusedFor: /retention\.candidateSnapshot.*duration/,
      },
      {
        name: 'approval timeout of 0 s',
        run: () => promote({ approval: { required: true, timeout: '0s' } }),
        refusedFor: /approval\.timeout.*at least/,
      },
      {
        name: 'approval timeout of 999 days',
        run: () => promote({ approval: { required: true, timeout: '999d' } }),
        refusedFor: /approval\.timeout.*at most/,
      },
      { name: 'dryRun as a string', run: () => promote({ dryRun: 'yes' }), refusedFor: /dryRun/ },
      {
        name: 'refresh with an absurd retention',
        run: () => c.startRefresh({ projectId: P, backupRetention: 'forever' }),
        refusedFor: /backupRetention/,
      },
      {
        name: 'rollback by ID and name at once',
        run: () => c.startRollback({ projectId: P, snapshotId: 'a', snapshotName: 'b' }),
        refusedFor: /snapshotId.*not both/,
      },
      {
        name: 'rollback to a malformed snapshot ID',
        run: () => c.startRollback({ projectId: P, snapshotId: 'SNAP!' }),
        refusedFor: /snapshotId/,
      },
      {
        name: 'rollback snapshot name with control characters',
        run: () => c.startRollback({ projectId: P, snapshotName: 'np-\u001b[31m' }),
        refusedFor: /snapshotName.*control/,
      },
      {
        name: 'preview label with spaces',
        run: () => c.createPreview({ projectId: P, label: 'my preview' }),
        refusedFor: /label/,
      },
      {
        name: 'preview expiring in 400 days',
        run: () => c.createPreview({ projectId: P, expiresIn: '400d' }),
        refusedFor: /expiresIn.*at most/,
      },
      {
        name: 'janitor keeping 0 rollback snapshots',
        run: () => c.startJanitor({ projectId: P, keepRollbackSnapshots: 0 }),
        refusedFor: /keepRollbackSnapshots/,
      },
      // Well-formed, refused by the workflow once it has looked.
      {
        name: 'unknown project',
        run: () => c.promote({ projectId: 'no-such-project-1' }),
        refusedFor: /no-such-project-1|not found/i,
      },
      {
        name: 'unknown prod branch',
        run: () => promote({ prodBranchName: 'production' }),
        refusedFor: /prod branch "production" does not exist/,
      },
      {
        name: 'unknown dev branch',
        run: () => promote({ devBranchName: 'develop' }),
        refusedFor: /dev branch "develop" does not exist/,
      },
      {
        name: 'project without dev (setup never ran)',
        run: () => c.promote({ projectId: bare.projectId }),
        refusedFor: /dev branch "dev" does not exist/,
      },
      {
        name: 'rollback to a snapshot of another project',
        run: async () => (await c.startRollback({ projectId: P, snapshotId: otherSnap })).result(),
        refusedFor: new RegExp(`no snapshot ${otherSnap}`),
      },
      {
        name: 'rollback to an unknown snapshot name',
        run: async () => (await c.startRollback({ projectId: P, snapshotName: 'nope' })).result(),
        refusedFor: /no snapshot nope/,
      },
      {
        name: 'refresh over unpromoted schema changes',
        run: async () => (await c.startRefresh({ projectId: P })).result(),
        refusedFor: /never promoted/,
      },
      {
        name: 'snapshot quota full (of snapshots not ours)',
        run: () => c.promote({ projectId: full.projectId }),
        refusedFor: /quota|snapshot/i,
      },
      {
        name: 'SQL check that writes (DELETE)',
        run: () => promote({ checks: [sqlCheck('DELETE FROM items')] }),
        refusedFor: /read-only|read only|checks\.0\.sql/i,
      },
      {
        name: 'SQL check that drops a table',
        run: () => promote({ checks: [{ kind: 'sql', sql: 'DROP TABLE items', expect: { rowCount: 0 } }] }),
        refusedFor: /read-only|read only|checks\.0\.sql/i,
      },
      // Straight to the workflow, past the client's validation.
      {
        name: 'workflow started directly with a bad project ID',
        run: () =>
          s.t.client.workflow.execute('promote', {
            taskQueue: s.t.taskQueue,
            workflowId: `bad-direct-${Date.now()}`,
            args: [{ projectId: 'Not Valid' }],
          }),
        refusedFor: /projectId/,
      },
      {
        name: 'setup started directly with prod == dev',
        run: () =>
          s.t.client.workflow.execute('setupEnvironments', {
            taskQueue: s.t.taskQueue,
            workflowId: `bad-setup-${Date.now()}`,
            args: [{ projectId: P, prodBranchName: 'x', devBranchName: 'x' }],
          }),
        refusedFor: /devBranchName.*differ/,
      },
    ];

    const failures: string[] = [];
    for (const k of cases) {
      const from = s.emu.requestLog().length;
      const err = await k.run().then(
        () => null,
        (e: unknown) => e,
      );
      const mutations = mutatingCalls(s.emu.requestLog().slice(from));
      const text = err === null ? 'ACCEPTED' : messages(err);
      const ok = err !== null && k.refusedFor.test(text) && mutations.length === 0;
      if (!ok)
        (k.finding ? findings : failures).push(
          `${k.name}: ${text.slice(0, 300)}${mutations.length ? `; mutating calls: ${mutations.map((m) => m.route).join(', ')}` : ''}`,
        );
      if (err instanceof WorkflowFailedError) expect(err.cause).toBeDefined();
    }
    record(__filename, {
      section: 'bad input',
      tried: `${cases.length} malformed or hostile inputs (client and workflows; CLI not yet built)`,
      count: cases.length,
      held: failures.length
        ? `NOT HELD for ${failures.length}: ${failures.join(' | ')}`
        : 'each refused naming the problem; no mutating call',
      ok: failures.length === 0,
    });
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(failures).toEqual([]);
  });
}, 300_000);

// Findings (see the report of issue 8): these document the rule and pass once the product keeps it.
test('a SQL check that writes is refused before any Neon call', () => {
  expect(findings.filter((f) => f.startsWith('SQL check'))).toEqual([]);
});
test('a duration in an unknown unit is refused with what a duration looks like', () => {
  expect(findings.filter((f) => f.startsWith('retention in an unknown unit'))).toEqual([]);
});
