/**
 * Bad input: malformed or hostile inputs to the client, to the CLI (spawned as a user runs it) and straight to the
 * workflows. Each must be refused with a message naming the problem (the CLI: exit 2 for invalid input or 4 for a
 * refusal, one line, no stack trace), and the emulator's request log must show no mutating call while it was handled.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { api, type Inventory, uriOf } from '../support/emulator-api';
import { sql } from '../support/postgres';
import { mutatingCalls, noteSecrets, record, runDir } from '../support/reliability';
import { seedProd, type Stack, startStack } from '../support/workflow-stack';
import { waitForOperations, type SeededProject } from '../../tools/emulator';

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

type Case = { name: string; run: () => Promise<unknown>; refusedFor: RegExp };

const root = join(__dirname, '..', '..');
let cliRuns = 0;

/** A refusal by the CLI: its exit code and its one line on stderr. */
class CliRefusal extends Error {
  constructor(
    readonly code: number | null,
    readonly stderr: string,
  ) {
    super(`exit ${code}: ${stderr.trim()}`);
  }
}

/**
 * The CLI as a user runs it, against the suite's dev server, worker and emulator. Resolves when it exits 0; rejects
 * with a CliRefusal unless it exited 2 (invalid input) or 4 (refused) with one line and no stack trace, which makes
 * the case fail as not refused. Its output goes to the run's logs, which the secrets scan reads.
 */
function cli(taskQueue: string, emu: Stack['emu'], namespace: string, ...args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      TEMPORAL_NAMESPACE: namespace,
      NEON_PROMOTE_TASK_QUEUE: taskQueue,
      NEON_API_BASE_URL: emu.baseUrl,
      NEON_API_KEY: emu.apiKey,
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('close', (code) => {
      const log = join(runDir, 'logs', `cli-${process.pid}-${++cliRuns}.log`);
      appendFileSync(log, `$ neon-promote ${JSON.stringify(args)}\nexit ${code}\n${stdout}\n${stderr}\n`);
      if (code === 0) return resolve();
      const oneLine = stderr.trim().split('\n').length === 1 && !/^\s+at .+:\d+/m.test(stderr);
      if ((code === 2 || code === 4) && oneLine) return reject(new CliRefusal(code, stderr));
      // Exit 1, a stack trace or several lines: not a clear refusal (the pattern cannot match this).
      reject(new Error(`UNCLEAR (exit ${code}, ${stderr.trim().split('\n').length} lines)`));
    }),
  );
}

test('bad input: each refused, naming the problem, with no mutating call', async () => {
  const ready: SeededProject = await seedProd(s.emu, 3);
  const other: SeededProject = await seedProd(s.emu, 3);
  const bare: SeededProject = await seedProd(s.emu, 3); // no dev: setup never ran
  const full: SeededProject = await seedProd(s.emu, 3);
  const w = await s.worker();
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
    const npc = (...args: string[]) => cli(s.t.taskQueue, s.emu, s.t.namespace, ...args);
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
        run: () => promote({ retention: { rollbackSnapshot: '3 fortnights' } }),
        refusedFor: /retention\.rollbackSnapshot.*duration/,
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
        refusedFor: /needs 2 free snapshot slots/,
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
      // The CLI, spawned: its own parsing, then the same schemas, then the workflow's refusals (exit 4).
      {
        name: 'CLI: hostile project ID',
        run: () => npc('promote', '--project', "x'; DROP TABLE--"),
        refusedFor: /--project: expected a Neon ID/,
      },
      {
        name: 'CLI: prod == dev',
        run: () => npc('promote', '--project', P, '--prod', 'prod', '--dev', 'prod'),
        refusedFor: /--dev: must differ from --prod/,
      },
      {
        name: 'CLI: branch name with a control character',
        run: () => npc('promote', '--project', P, '--prod', 'pr\u0007od'),
        refusedFor: /--prod: .*control/,
      },
      {
        name: 'CLI: check with an expectation it cannot read',
        run: () => npc('promote', '--project', P, '--check', 'SELECT 1 => sometimes'),
        refusedFor: /--check .*expectation/,
      },
      {
        name: 'CLI: approval timeout of 999 days',
        run: () => npc('promote', '--project', P, '--approve-required', '--approval-timeout', '999d'),
        refusedFor: /--approval-timeout: .*at most/,
      },
      {
        name: 'CLI: unknown write policy',
        run: () => npc('promote', '--project', P, '--write-policy', 'maybe'),
        refusedFor: /--write-policy: invalid option/,
      },
      {
        name: 'CLI: rollback by snapshot ID and name at once',
        run: () => npc('rollback', '--project', P, '--snapshot', 'a', '--snapshot-name', 'b'),
        refusedFor: /snapshotId.*not both/,
      },
      {
        name: 'CLI: preview label with spaces',
        run: () => npc('preview', 'create', 'my preview', '--project', P),
        refusedFor: /label/,
      },
      {
        name: 'CLI: schedule with a cron it cannot read',
        run: () => npc('schedule', 'refresh', '--project', P, '--cron', 'often'),
        refusedFor: /cron/,
      },
      {
        name: 'CLI: unknown prod branch (refused by the run)',
        run: () => npc('promote', '--project', P, '--prod', 'production', '--wait'),
        refusedFor: /prod branch "production" does not exist/,
      },
      {
        name: 'CLI: SQL check that writes (refused before the run)',
        run: () => npc('promote', '--project', P, '--check', 'gone: DELETE FROM items => rows 0', '--wait'),
        refusedFor: /check 1: must be a read-only query/,
      },
      {
        name: 'CLI: rollback to a snapshot of another project (refused by the run)',
        run: () => npc('rollback', '--project', P, '--snapshot', otherSnap, '--wait'),
        refusedFor: new RegExp(`no snapshot ${otherSnap}`),
      },
    ];

    const failures: string[] = [];
    const refusals: string[] = [];
    for (const k of cases) {
      const from = s.emu.requestLog().length;
      const err = await k.run().then(
        () => null,
        (e: unknown) => e,
      );
      const mutations = mutatingCalls(s.emu.requestLog().slice(from));
      const text = err === null ? 'ACCEPTED' : messages(err);
      refusals.push(`${k.name}: ${text.slice(0, 400)}`);
      const ok = err !== null && k.refusedFor.test(text) && mutations.length === 0;
      if (!ok)
        failures.push(
          `${k.name}: ${text.slice(0, 300)}${mutations.length ? `; mutating calls: ${mutations.map((m) => m.route).join(', ')}` : ''}`,
        );
      if (err instanceof WorkflowFailedError) expect(err.cause).toBeDefined();
    }
    // What each refusal said, for reading (not in the table).
    appendFileSync(join(runDir, 'bad-input-refusals.txt'), `${refusals.join('\n')}\n`);
    const viaCli = cases.filter((k) => k.name.startsWith('CLI: ')).length;
    record(__filename, {
      section: 'bad input',
      tried: `${cases.length} malformed or hostile inputs (${cases.length - viaCli} to the client and workflows, ${viaCli} to the CLI)`,
      count: cases.length,
      held: failures.length
        ? `NOT HELD for ${failures.length}: ${failures.join(' | ')}`
        : 'each refused naming the problem (the CLI with exit 2 or 4 and one line); no mutating call',
      ok: failures.length === 0,
    });
    expect(cases.length).toBeGreaterThanOrEqual(30);
    expect(failures).toEqual([]);
  });
}, 300_000);
