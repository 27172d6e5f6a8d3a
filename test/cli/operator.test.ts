import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Worker } from '@temporalio/worker';
import { runCli, type CliResult } from '../support/cli';
import { api, uriOf } from '../support/emulator-api';
import { freePort } from '../support/ports';
import { sql } from '../support/postgres';
import { projectWithChange, sourceOf, type Stack, startStack } from '../support/workflow-stack';
import { inTerminal, screenLines, type PtyRun } from './pty';

// What an operator sees: the CLI in a pseudo-terminal (and, for scripts, through pipes) against the real dev server,
// a worker and the emulator.
let s: Stack;
let worker: Worker;

// Each test runs whole promotions through a spawned CLI; on a loaded machine one takes well over a minute.
jest.setTimeout(300_000);
let running: Promise<void>;

const stackEnv = (): Record<string, string | undefined> => ({
  TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
  TEMPORAL_NAMESPACE: s.t.namespace,
  NEON_PROMOTE_TASK_QUEUE: s.t.taskQueue,
  NEON_API_BASE_URL: s.emu.baseUrl,
  NEON_API_KEY: s.emu.apiKey,
  NEON_PROMOTE_UI_URL: 'http://localhost:8233',
});
const cli = (...args: string[]): Promise<CliResult> => runCli(stackEnv(), args);
const tty = (...args: string[]): PtyRun => inTerminal(stackEnv(), args);

/** A promotion's workflow ID as the CLI printed it on its first line. */
const idOn = (run: PtyRun): string => /^promote (promote-\S+)/m.exec(run.screen())![1]!;

beforeAll(async () => {
  s = await startStack(__filename);
  worker = await s.worker();
  running = worker.run();
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await s?.stop();
});

test('a promotion in a terminal: steps with times, then every check, the rollback point, the outcome, total time and UI link', async () => {
  const p = await projectWithChange(s);
  const run = tty(
    'promote',
    '--project',
    p.projectId,
    '--wait',
    '--check',
    'items: SELECT count(*) FROM items => >= 1',
  );
  expect(await run.exited).toBe(0);
  const lines = screenLines(run);
  expect(run.raw()).toContain('\x1b[32m✔'); // coloured: it knew it was on a terminal
  expect(lines).toContainEqual(expect.stringMatching(/^ {4}✔ swap +\d+\.\d s$/));
  expect(lines).toContainEqual('  checks on the candidate (before the swap): passed');
  expect(lines).toContainEqual('    ✔ items');
  expect(lines).toContainEqual(expect.stringMatching(/^ {2}rollback point: snapshot \S+ \(kept until \S+\)$/));
  expect(lines).toContainEqual(
    expect.stringMatching(/^ {2}backup of the replaced branch: np-old-\S+ br-\S+ \(until \S+\)$/),
  );
  expect(lines).toContainEqual('promoted');
  const id = idOn(run);
  expect(lines.at(-1)).toBe(
    `  took ${/took (\d+\.\d s)/.exec(lines.at(-1)!)?.[1]}; in the Temporal UI: http://localhost:8233/namespaces/${s.t.namespace}/workflows/${id}`,
  );
  // No step line is left half drawn: the live line was replaced by the step's permanent one.
  expect(lines.filter((line) => /so far/.test(line))).toEqual([]);
});

test('a failed check in a terminal: marked failed with its reason, however many fail; exit 3 after the rollback', async () => {
  const p = await projectWithChange(s);
  const run = tty(
    ...['promote', '--project', p.projectId, '--wait'],
    ...[
      '--post-swap-check',
      'smoke: SELECT 1 WHERE false => rows 1',
      '--post-swap-check',
      'stock: SELECT count(*) FROM items => >= 1000',
    ],
  );
  expect(await run.exited).toBe(3);
  const lines = screenLines(run);
  // The step itself is marked failed with the reasons, not ticked because it ran.
  expect(lines).toContainEqual(
    expect.stringMatching(
      /^ {4}✘ verify_prod +\d+\.\d s {2}smoke: expected 1 rows, got 0; stock: expected value >= 1000, got 3$/,
    ),
  );
  expect(lines).toContainEqual('  checks on prod (after the swap): FAILED');
  expect(lines).toContainEqual('    ✘ smoke: expected 1 rows, got 0');
  expect(lines).toContainEqual('    ✘ stock: expected value >= 1000, got 3');
  expect(lines).toContainEqual('rolled_back: check "smoke" failed on prod after the swap');
});

test('a dry run in a terminal shows the plan and the schema diff, and changes nothing', async () => {
  const p = await projectWithChange(s);
  await sql(await uriOf(s.emu, p, 'dev'), 'ALTER TABLE items ADD COLUMN note text');
  const run = tty('promote', '--project', p.projectId, '--wait', '--dry-run');
  expect(await run.exited).toBe(0);
  const lines = screenLines(run);
  expect(lines).toContainEqual('plan:');
  expect(lines).toContainEqual(expect.stringMatching(/^ {2}prod br-\S+ <- dev br-\S+$/));
  expect(lines).toContainEqual("  schema diff (prod -> dev, what prod's schema becomes):");
  expect(lines).toContainEqual(expect.stringMatching(/^ {4}\+ +note text,?$/));
  expect(lines).toContainEqual('dry_run');
  expect(await sourceOf(await uriOf(s.emu, p, 'prod'))).toEqual(['prod']);

  // A check naming a table dev lacks (a typo) can never pass on the candidate: refused by the plan, before the swap.
  const typo = await cli(
    'promote',
    '--project',
    p.projectId,
    '--wait',
    '--post-swap-check',
    'SELECT count(*) FROM itemz => >= 1',
  );
  expect(typo.stderr.trim()).toBe(
    'neon-promote: invalid input: post-swap check 1: it cannot be planned: relation "itemz" does not exist ' +
      "(the checks run on dev's schema)",
  );
  expect(typo.code).toBe(2);
});

test('an approval wait in a terminal says how to approve and until when; approved from another shell, it promotes', async () => {
  const p = await projectWithChange(s);
  const run = tty('promote', '--project', p.projectId, '--wait', '--approve-required', '--approval-timeout', '10m');
  await run.waitFor(/neon-promote reject promote-\S+ --by <you>/);
  const id = idOn(run);
  const lines = screenLines(run);
  expect(lines).toContainEqual(
    expect.stringMatching(/^ {4}waiting for approval until \d{4}-\d\d-\d\dT\S+Z \(then it stops, prod untouched\):$/),
  );
  expect(lines).toContainEqual(`      neon-promote reject ${id} --by <you>`);
  const approved = await cli('approve', id, '--by', 'ops', '--comment', 'looks right');
  expect(approved.stdout).toMatch(/^approved by ops at /);
  expect(await run.exited).toBe(0);
  expect(screenLines(run)).toContainEqual(expect.stringMatching(/^ {2}approved by ops at \S+: "looks right"$/));

  // status shows who approved and why, after the run's IDs and times, and the steps in the order they ran.
  const status = await cli('status', id);
  const out = status.stdout.split('\n');
  expect(out[0]).toBe(`promote ${id}  COMPLETED`);
  expect(out[1]).toMatch(
    new RegExp(`^ {2}project ${p.projectId}; run ID \\S+; started \\S+, closed \\S+ \\(\\d+\\.\\d s\\)$`),
  );
  expect(out).toContainEqual(expect.stringMatching(/^ {2}approved by ops at \S+: "looks right"$/));
});

test('Ctrl-C on --wait says the run goes on and how to stop it; cancel and approve answer for an ended run', async () => {
  const p = await projectWithChange(s);
  const run = tty('promote', '--project', p.projectId, '--wait', '--approve-required');
  await run.waitFor(/neon-promote approve/);
  const id = idOn(run);
  run.press('\x03');
  expect(await run.exited).toBe(130);
  const lines = screenLines(run);
  expect(lines).toContainEqual(`stopped watching; the run goes on without you: ${id}`);
  expect(lines).toContainEqual(expect.stringContaining(`neon-promote cancel ${id}`));
  expect((await s.t.client.workflow.getHandle(id).describe()).status.name).toBe('RUNNING');

  // While it waits the project is busy: a run that asks to be refused is, and says so as JSON too.
  const refused = await cli('promote', '--project', p.projectId, '--if-busy', 'refuse', '--json');
  expect(refused.code).toBe(4);
  expect(JSON.parse(refused.stdout)).toEqual({ outcome: 'refused', reason: expect.stringContaining(id) as unknown });

  expect((await cli('cancel', id)).stdout).toMatch(new RegExp(`^cancellation requested for ${id}`));
  await s.t.client.workflow
    .getHandle(id)
    .result()
    .catch(() => undefined);
  const again = await cli('cancel', id);
  expect(again.stdout.trim()).toBe(`${id} has ended (cancelled, cancelled): nothing to cancel`);
  expect(again.code).toBe(0);
  const late = await cli('approve', id, '--by', 'ops');
  expect(late.stdout.trim()).toBe(`${id} has ended (cancelled, cancelled): nothing to approve`);
  expect(late.stderr).toBe('');
  expect(late.code).toBe(4);
});

test('status --follow: the header before the steps; a run without a progress query shows its status, not a crash', async () => {
  const p = await projectWithChange(s);
  const started = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true } });
  const following = cli('status', started.workflowId, '--follow');
  for (let i = 0; i < 1000; i++) {
    const steps = (await s.client.getProgress(started.workflowId).catch(() => ({ steps: [] }))).steps;
    if (steps.some((step) => step.name === 'approval' && step.status === 'running')) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await s.client.approve(started.workflowId, 'ops');
  const followed = await following;
  expect(followed.code).toBe(0);
  const out = followed.stdout.split('\n');
  expect(out[0]).toBe(`promote ${started.workflowId}  RUNNING`);
  expect(out.findIndex((line) => /✔ plan/.test(line))).toBeGreaterThan(1);
  expect(out).toContainEqual('promoted');

  const coordinator = await cli('status', `neon-promote-project-${p.projectId}`);
  expect(coordinator.stderr).toBe('');
  expect(coordinator.stdout).toMatch(/^projectCoordinator neon-promote-project-\S+ {2}RUNNING$/m);
  expect(coordinator.stdout).toMatch(/^ {2}steps: not available \(.*progress.*\)$/m);
});

test('previews are addressed by the name given at create; list has a header; connection-string gives a working URI', async () => {
  const p = await projectWithChange(s);
  const at = ['--project', p.projectId];
  expect((await cli('preview', 'create', 'feature-x', ...at)).stdout).toMatch(/^created preview-feature-x /);
  // The name reaches the run as the branch create made: Neon's own rule (no reset from a parent restored within
  // 24 hours, as dev was at setup) is what answers, not "does not exist".
  const reset = await cli('preview', 'reset', 'feature-x', ...at);
  expect(reset.stderr).toMatch(/^neon-promote: refused: Neon refused to reset preview "preview-feature-x" from dev: /);
  expect(reset.code).toBe(4);

  const list = (await cli('preview', 'list', ...at)).stdout.split('\n');
  expect(list[0]).toMatch(/^NAME +BRANCH +PARENT +HOST +EXPIRES +MADE BY$/);
  expect(list[1]).toMatch(/^preview-feature-x +br-\S+ +dev +\S+ +\d{4}-\d\d-\d\d \d\d:\d\dZ +neon-promote$/);

  const uri = await cli('preview', 'connection-string', 'feature-x', ...at);
  expect(uri.code).toBe(0);
  expect(await sql<{ n: number }>(uri.stdout.trim(), 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 3 }]);

  expect((await cli('preview', 'delete', 'feature-x', ...at)).stdout.trim()).toBe('deleted preview-feature-x');
  const gone = await cli('preview', 'delete', 'feature-x', ...at);
  expect(gone.stdout.trim()).toBe('no preview named "feature-x" or "preview-feature-x": nothing deleted');
  expect((await cli('preview', 'connection-string', 'feature-x', ...at)).code).toBe(4);
});

test('a run the coordinator refused reads as refused in runs; a project Neon does not have is refused saying so', async () => {
  const p = await projectWithChange(s);
  const holder = await s.client.startPromotion({ projectId: p.projectId, approval: { required: true } });
  const id = `refused-${Date.now()}`;
  // Started without the client, as the Temporal UI would: the coordinator refuses it and the run ends failed.
  await s.t.client.workflow
    .start('promote', {
      workflowId: id,
      taskQueue: s.t.taskQueue,
      args: [{ projectId: p.projectId, ifBusy: 'refuse' }],
    })
    .then((handle) => handle.result())
    .catch(() => undefined);
  let runs = '';
  for (let i = 0; i < 50 && !runs.includes(id); i++) runs = (await cli('runs', '--project', p.projectId)).stdout;
  expect(runs).toMatch(new RegExp(`^\\S+ +promote +REFUSED +refused +${id}$`, 'm'));
  const listed = JSON.parse((await cli('runs', '--project', p.projectId, '--json')).stdout) as {
    workflowId: string;
    status: string;
  }[];
  expect(listed.find((run) => run.workflowId === id)?.status).toBe('REFUSED');
  await s.client.cancel(holder.workflowId);

  const missing = await cli('promote', '--project', 'no-such-project-123', '--wait');
  expect(missing.stderr.trim()).toBe(
    "neon-promote: refused: no such project at Neon (or the worker's NEON_API_KEY cannot see it); nothing was changed",
  );
  expect(missing.code).toBe(4);
});

test('a refused refresh is one line naming what dev changed and where the whole diff is; --json carries the diff', async () => {
  const p = await projectWithChange(s);
  await sql(
    await uriOf(s.emu, p, 'dev'),
    'CREATE TABLE audit_log (id int PRIMARY KEY, note text); ALTER TABLE items ADD COLUMN flag boolean',
  );
  const text = await cli('refresh', '--project', p.projectId, '--wait');
  expect(text.code).toBe(4);
  const said = text.stderr.trim().split('\n');
  expect(said).toHaveLength(1);
  expect(said[0]).toMatch(
    /^neon-promote: refused: dev holds changes that were never promoted: its schema differs from prod's \(\d+ line\(s\) added and \d+ removed in its schema dump, touching [^)]*audit_log[^)]*\); its data differs from prod's in [^;]*public\.items[^;]*; promote them or refresh with --force \(the full diff: the same command with --json\)$/,
  );

  const json = await cli('refresh', '--project', p.projectId, '--wait', '--json');
  expect(json.code).toBe(4);
  const answer = JSON.parse(json.stdout) as {
    outcome: string;
    details: { schemaDiff: string; unpromotedChanges: unknown };
  };
  expect(answer.outcome).toBe('refused');
  expect(answer.details.schemaDiff).toMatch(/CREATE TABLE public\.audit_log/);
  expect(answer.details.schemaDiff).toMatch(/flag boolean/);
  expect(answer.details.unpromotedChanges).toMatchObject({ schema: true });
  expect(answer.details.unpromotedChanges).toHaveProperty('tablesChanged', expect.arrayContaining(['public.items']));
});

test.each([
  [['--write-policy', 'maybe'], /^neon-promote: invalid input: --write-policy: invalid option/],
  [['--approve-required', '--approval-timeout', 'soon'], /^neon-promote: invalid input: --approval-timeout: /],
  [['--reconcile-table', 'items:id', '--on-conflict', 'x'], /^neon-promote: invalid input: --on-conflict: /],
])('bad flag values %j name the flag, not the input field', async (flags, said) => {
  const r = await cli('promote', '--project', 'p-1', ...flags);
  expect(r.stderr).toMatch(said);
  expect(r.code).toBe(2);
});

test('with nothing listening at the Temporal address, the CLI says so at once rather than after its connect timeout', async () => {
  const address = `127.0.0.1:${await freePort()}`;
  const r = await runCli({ ...stackEnv(), TEMPORAL_ADDRESS: address }, ['runs', '--project', 'p-1']);
  expect(r.stderr.trim()).toBe(
    `neon-promote: cannot reach Temporal at ${address} (ECONNREFUSED: nothing answers there); start one (npm run dev) or set TEMPORAL_ADDRESS`,
  );
  expect(r.code).toBe(1);
});

test('npm run new-project makes a project in the emulator whose branch is prod, ready for setup', async () => {
  const out = await new Promise<CliResult>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../../tools/dev/new-project.ts'), '--name', 'by-hand'],
      {
        env: { ...process.env, NEON_API_BASE_URL: s.emu.baseUrl, NEON_API_KEY: s.emu.apiKey },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  expect(out.code).toBe(0);
  const projectId = /^ {2}export NEON_PROJECT_ID=(\S+)$/m.exec(out.stdout)![1]!;
  const branches = (await api(s.emu, 'GET', `/projects/${projectId}/branches`)).branches as { name: string }[];
  expect(branches.map((b) => b.name)).toEqual(['prod']);
  const setup = await cli('setup', '--project', projectId, '--wait');
  expect(setup.code).toBe(0);
});
