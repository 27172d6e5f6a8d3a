import type { Worker } from '@temporalio/worker';
import type { PreviewListing } from '../../src/cli/preview-list';
import type { SeededProject } from '../../tools/emulator';
import { runCli, type CliResult } from '../support/cli';
import { freePort } from '../support/ports';
import { maybeRecordHistory } from '../support/histories';
import { api, uriOf } from '../support/emulator-api';
import { sql } from '../support/postgres';
import { seedProd, sourceOf, type Stack, startStack } from '../support/workflow-stack';

// The CLI as a user runs it: a spawned process against the real dev server, a worker and the emulator.
let s: Stack;
let worker: Worker;
let running: Promise<void>;
let project: SeededProject;

function cli(...args: string[]): Promise<CliResult> {
  return cliWith({}, ...args);
}

/** The CLI with these environment settings over the stack's (undefined: the variable is not set at all). */
function cliWith(settings: Record<string, string | undefined>, ...args: string[]): Promise<CliResult> {
  return runCli(
    {
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      TEMPORAL_NAMESPACE: s.t.namespace,
      NEON_PROMOTE_TASK_QUEUE: s.t.taskQueue,
      NEON_API_BASE_URL: s.emu.baseUrl,
      NEON_API_KEY: s.emu.apiKey,
      ...settings,
    },
    args,
  );
}

const mutatingCalls = () => s.emu.requestLog().filter((r) => r.method !== 'GET').length;

beforeAll(async () => {
  s = await startStack(__filename);
  worker = await s.worker();
  running = worker.run();
  project = await seedProd(s.emu);
  await s.client.startSetup({ projectId: project.projectId }).then((r) => r.result());
  await sql(await uriOf(s.emu, project, 'dev'), "UPDATE items SET source = 'dev'");
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await s?.stop();
});

test('promote --wait --json promotes, prints the result as JSON and exits 0; status shows the timeline', async () => {
  const prodUri = await uriOf(s.emu, project, 'prod');
  const r = await cli(
    ...['promote', '--project', project.projectId, '--wait', '--json'],
    ...['--check', 'items: SELECT count(*) FROM items => >= 1', '--workflow-id', `cli-promote-${Date.now()}`],
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const result = JSON.parse(r.stdout) as { outcome: string; verification: { prod: { ok: boolean } } };
  expect(result).toMatchObject({ outcome: 'promoted', verification: { prod: { ok: true } } });
  expect(await sourceOf(prodUri)).toEqual(['dev']); // same connection string, dev's data

  const runs = JSON.parse((await cli('runs', '--project', project.projectId, '--json')).stdout) as {
    type: string;
    workflowId: string;
  }[];
  const id = runs.find((x) => x.type === 'promote')!.workflowId;
  const status = await cli('status', id);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/swap\s+\d+\.\d s/);
  expect(status.stdout).toMatch(/^promoted$/m);
});

test('a post-swap check that fails rolls prod back: plain progress lines, exit code 3', async () => {
  const prodUri = await uriOf(s.emu, project, 'prod');
  await sql(await uriOf(s.emu, project, 'dev'), "UPDATE items SET source = 'dev2'");
  const r = await cli(
    ...['promote', '--project', project.projectId, '--wait'],
    ...['--post-swap-check', "SELECT count(*) FROM items WHERE source = 'dev2' => = 0"],
  );
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/verify_prod/); // one line per step when stdout is not a terminal
  expect(r.stdout).toMatch(/rolled_back/);
  expect(await sourceOf(prodUri)).toEqual(['dev']); // the pre-promotion data, through the same endpoint
});

test("promote --dry-run --wait shows prod's writes since the fork and what would become of them; --discard-prod-writes reaches the run", async () => {
  const p = await seedProd(s.emu);
  await s.client.startSetup({ projectId: p.projectId }).then((r) => r.result());
  await sql(await uriOf(s.emu, p, 'prod'), "INSERT INTO items (label, source) VALUES ('on prod', 'prod')");
  const dryRun = ['promote', '--project', p.projectId, '--dry-run', '--wait'];

  const stopped = await cli(...dryRun);
  expect(stopped.code).toBe(0);
  expect(stopped.stdout).toMatch(/^prod's writes since the fork \(np-fork-\S+, \S+\): 1 row$/m);
  expect(stopped.stdout).toMatch(
    /^ {2}public\.items +1 inserted, 0 updated, 0 deleted +STOPPED: not carried or discarded$/m,
  );
  expect(stopped.stdout).toMatch(/^dry_run: a promotion now would stop: .*public\.items/m);

  const id = `cli-discard-${Date.now()}`;
  const discarded = await cli(
    ...[...dryRun, '--workflow-id', id],
    ...['--discard-prod-writes', 'items,audit', '--discard-prod-writes', 'crm.leads'],
  );
  expect(discarded.stderr).toBe('');
  expect(discarded.stdout).toMatch(/^ {2}public\.items +1 inserted, 0 updated, 0 deleted +discarded$/m);
  expect(discarded.stdout).toMatch(/^dry_run$/m);
  const started = (await s.t.client.workflow.getHandle(id).fetchHistory()).events?.[0]
    ?.workflowExecutionStartedEventAttributes;
  const input = JSON.parse(Buffer.from(started!.input!.payloads![0]!.data!).toString()) as object;
  expect(input).toMatchObject({ discardProdWrites: ['items', 'audit', 'crm.leads'] });
  // status shows the same count, from the run's progress.
  expect((await cli('status', id)).stdout).toMatch(/^ {2}public\.items +1 inserted, 0 updated, 0 deleted +discarded$/m);

  const json = await cli(...dryRun, '--json', '--discard-prod-writes', '*');
  const result = JSON.parse(json.stdout) as { forkPoint: unknown; writes: { sinceFork: unknown } };
  expect(result.forkPoint).toMatchObject({ name: expect.stringMatching(/^np-fork-/) as unknown });
  expect(result.writes.sinceFork).toMatchObject({
    rowsChanged: 1,
    tables: [{ table: 'public.items', inserts: 1, updates: 0, deletes: 0, handling: 'discard' }],
  });
});

test('a schedule is created, paused and deleted', async () => {
  const p = ['--project', project.projectId];
  expect((await cli('schedule', 'refresh', ...p, '--cron', '0 3 * * *')).code).toBe(0);
  const list = async () =>
    JSON.parse((await cli('schedule', 'list', ...p, '--json')).stdout) as { kind: string; paused: boolean }[];
  expect(await list()).toEqual([expect.objectContaining({ kind: 'refresh', paused: false })]);
  expect((await cli('schedule', 'pause', 'refresh', ...p)).code).toBe(0);
  expect(await list()).toEqual([expect.objectContaining({ kind: 'refresh', paused: true })]);
  expect((await cli('schedule', 'delete', 'refresh', ...p)).code).toBe(0);
  expect(await list()).toEqual([]);
});

test.each([
  [['promote', '--project', 'NOT A PROJECT!', '--wait'], /--project: /],
  [['promote', '--check', 'SELECT 1 => sometimes', '--wait'], /--check .*expectation/],
  [['promote', '--write-policy', 'maybe', '--wait'], /--write-policy: /],
  [['rollback', '--snapshot', 'x'.repeat(200), '--wait'], /--snapshot: /],
])('invalid input %j: one clear line naming the flag, exit code 2, nothing sent to Neon', async (args, named) => {
  const before = mutatingCalls();
  const withProject = args.includes('--project') ? args : [...args, '--project', project.projectId];
  const r = await cli(...withProject);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(named);
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+/m); // no stack trace
  expect(mutatingCalls()).toBe(before);
});

/** Every payload in a history as text (payload data are bytes, which JSON.stringify would show as numbers). */
function payloadTexts(x: unknown, out: string[] = []): string[] {
  if (ArrayBuffer.isView(x)) out.push(Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('utf8'));
  else if (Array.isArray(x)) for (const v of x) payloadTexts(v, out);
  else if (x && typeof x === 'object') for (const v of Object.values(x)) payloadTexts(v, out);
  return out;
}

/** A Neon call made by hand, sent again while the project is locked (423) by the operations of the one before. */
async function byHand(method: string, path: string, body?: unknown): Promise<Awaited<ReturnType<typeof api>>> {
  for (let i = 0; ; i++) {
    try {
      return await api(s.emu, method, path, body);
    } catch (err) {
      if (i >= 100 || !/: 423 /.test(String(err))) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** `preview list` asks the worker: the CLI has no Neon settings at all (as on a laptop without the Neon key). */
const noNeon = { NEON_API_KEY: undefined, NEON_API_BASE_URL: undefined };

test('preview list (no Neon key in the CLI): the previews Neon has now, which ones neon-promote made, host and expiry', async () => {
  const p = ['--project', project.projectId];
  const made = await cli('preview', 'create', 'cli-list', ...p, '--expires-in', '2h', '--json');
  expect(made.code).toBe(0);
  const created = JSON.parse(made.stdout) as { name: string; branchId: string; endpointId: string; expiresAt: string };
  // A child of dev made by someone else (the console, neonctl): a preview too, but not neon-promote's.
  const branches = (await api(s.emu, 'GET', `/projects/${project.projectId}/branches`)).branches as {
    id: string;
    name: string;
  }[];
  const dev = branches.find((b) => b.name === 'dev')!;
  const prod = branches.find((b) => b.name === 'prod')!;
  const other = (
    await byHand('POST', `/projects/${project.projectId}/branches`, {
      branch: { name: 'hand-made', parent_id: dev.id },
      endpoints: [{ type: 'read_write' }],
    })
  ).branch as { id: string };
  // Named like a preview but not a child of dev (and no endpoint): listed by its name, not neon-promote's.
  const named = (
    await byHand('POST', `/projects/${project.projectId}/branches`, {
      branch: { name: 'preview-by-hand', parent_id: prod.id },
    })
  ).branch as { id: string };

  // Which runs made what comes from Temporal's visibility store, a moment behind the run.
  let list: PreviewListing[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await cliWith(noNeon, 'preview', 'list', ...p, '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    list = JSON.parse(r.stdout) as PreviewListing[];
    if (list.find((x) => x.name === created.name)?.createdBy === 'neon-promote') break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  expect(list.map((x) => x.name)).toEqual(['hand-made', created.name, 'preview-by-hand'].sort()); // not prod, not dev
  expect(list.find((x) => x.name === created.name)).toEqual({
    name: created.name,
    branchId: created.branchId,
    parent: { id: dev.id, name: 'dev' },
    endpointId: created.endpointId,
    host: new URL(s.emu.baseUrl).hostname,
    expiresAt: created.expiresAt,
    createdAt: expect.any(String) as unknown,
    createdBy: 'neon-promote',
    workflowId: expect.stringMatching(/^createPreview-/) as unknown,
  });
  expect(list.find((x) => x.name === 'hand-made')).toMatchObject({
    branchId: other.id,
    parent: { id: dev.id, name: 'dev' },
    endpointId: expect.any(String) as unknown,
    expiresAt: null,
    createdBy: 'other',
    workflowId: null,
  });
  expect(list.find((x) => x.name === 'preview-by-hand')).toMatchObject({
    branchId: named.id,
    parent: { id: prod.id, name: 'prod' },
    endpointId: null,
    host: null,
    createdBy: 'other',
  });

  const text = await cliWith(noNeon, 'preview', 'list', ...p);
  expect(text.code).toBe(0);
  expect(text.stdout).toMatch(/^NAME +BRANCH +PARENT +HOST +EXPIRES +MADE BY$/m);
  expect(text.stdout).toMatch(
    new RegExp(`^${created.name} +${created.branchId} +dev +\\S+ +\\d{4}-\\S+ \\S+Z +neon-promote$`, 'm'),
  );
  expect(text.stdout).toMatch(/^hand-made +\S+ +dev +\S+ +never +not neon-promote$/m);
  expect(text.stdout).toMatch(/^preview-by-hand +\S+ +prod +no endpoint +never +not neon-promote$/m);

  const deleted = await cli('preview', 'delete', created.name, ...p);
  expect(deleted.code).toBe(0);
  const after = JSON.parse((await cliWith(noNeon, 'preview', 'list', ...p, '--json')).stdout) as PreviewListing[];
  expect(after.map((x) => x.name)).toEqual(['hand-made', 'preview-by-hand']);
  for (const id of [other.id, named.id]) await byHand('DELETE', `/projects/${project.projectId}/branches/${id}`);
});

test('listPreviews: a read-only run of two reads, outside the coordinator, with no secret in its history', async () => {
  const preview = await s.client.createPreview({ projectId: project.projectId, label: 'history' });
  const before = mutatingCalls();
  const workflowId = `listPreviews-history-${Date.now()}`;
  const list = await s.client.listPreviews(project.projectId, { workflowId });
  expect(list.map((x) => x.name)).toContain(preview.name);
  expect(mutatingCalls()).toBe(before); // reads only

  const handle = s.t.client.workflow.getHandle(workflowId);
  const history = await handle.fetchHistory();
  const scheduled = (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name)
    .filter((name): name is string => typeof name === 'string')
    .sort();
  expect(scheduled).toEqual(['findPreviewRuns', 'listBranchesAndEndpoints']);
  // Not admitted through the coordinator (that would be an admission activity or a signal): no signal, child, marker.
  expect(
    (history.events ?? []).filter(
      (e) =>
        e.signalExternalWorkflowExecutionInitiatedEventAttributes ??
        e.startChildWorkflowExecutionInitiatedEventAttributes ??
        e.markerRecordedEventAttributes,
    ),
  ).toEqual([]);

  // What the run recorded (its input, its reads and its result): IDs, names, hosts and times; no key, password or URI.
  const recorded = payloadTexts(history).join('\n');
  expect(recorded).toContain(`"branchId":"${preview.branchId}"`); // the payloads were read: the check below can fail
  const uri = new URL(await uriOf(s.emu, project, preview.name));
  expect(uri.password.length).toBeGreaterThan(0);
  for (const secret of [s.emu.apiKey, uri.password, uri.toString()]) expect(recorded).not.toContain(secret);
  expect(recorded).not.toMatch(/password|postgres(ql)?:\/\//i);
  expect(JSON.stringify(list)).not.toMatch(/password|postgres(ql)?:\/\//i);
  await maybeRecordHistory(handle, 'list-previews');
  await s.client.deletePreview({ projectId: project.projectId, name: preview.name });
});

test('preview list with a dev branch that does not exist: refused (exit 4) naming it, not an empty list', async () => {
  const r = await cliWith(noNeon, 'preview', 'list', '--project', project.projectId, '--dev', 'no-such-dev');
  expect(r.stdout).toBe('');
  expect(r.stderr.trim()).toBe('neon-promote: refused: the dev branch "no-such-dev" does not exist');
  expect(r.code).toBe(4);
});

test('listPreviews: invalid input is refused by the client before anything runs', async () => {
  await expect(s.client.listPreviews('NOT A PROJECT!')).rejects.toThrow(/projectId/);
  await expect(s.client.listPreviews(project.projectId, { dev: '' })).rejects.toThrow(/devBranchName/);
});

describe('with Temporal unreachable', () => {
  const secrets = { TEMPORAL_API_KEY: 'temporal-secret-4711', NEON_API_KEY: 'neon-secret-4712' };
  let down: Record<string, string>;
  beforeAll(async () => {
    down = { ...secrets, TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}` }; // nothing listens there
  });

  test.each([
    [['promote', '--project', 'NOT A PROJECT!'], /--project: /],
    [['promote', '--project', 'p-1', '--write-policy', 'maybe'], /--write-policy: /],
    [['promote', '--project', 'p-1', '--discard-prod-writes', 'items;drop'], /--discard-prod-writes: /],
    [['promote', '--project', 'p-1', '--discard-prod-writes', 'items,'], /--discard-prod-writes: /],
    [['setup', '--project', 'p-1', '--if-busy', 'sometimes'], /--if-busy: /],
    [['setup', '--project', 'p-1', '--workflow-id', 'x'.repeat(201)], /--workflow-id: /], // the coordinator's limit
    [['refresh', '--project', 'p-1', '--check', 'SELECT 1'], /--check/],
    [['rollback', '--project', 'p-1', '--snapshot', 'a', '--snapshot-name', 'b'], /--snapshot: /],
    [['preview', 'create', 'bad label!', '--project', 'p-1'], /<label>: /],
    [['preview', 'list', '--project', 'p-1', '--dev', ''], /--dev: /],
    [['runs', '--project', 'p-1', '--limit', '0'], /--limit: /],
    [['schedule', 'refresh', '--project', 'p-1', '--cron', 'often'], /cron/],
    [['schedule', 'pause', 'weekly', '--project', 'p-1'], /kind/],
    [['schedule', 'list', '--project', ''], /--project/], // not every project's schedules
    [['approve', 'run-1', '--by', ' '], /by/],
  ])('invalid input %j: exit 2 and one line naming the flag', async (args, named) => {
    const r = await cliWith(down, ...args);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(named);
    expect(r.code).toBe(2);
  });

  test.each([
    [['promote', '--project', 'p-1', '--check', 'items: SELECT count(*) FROM items => >= 1']],
    [['preview', 'list', '--project', 'p-1']],
  ])('valid input %j: exit 1 and one line saying Temporal cannot be reached, no stack, no secret', async (args) => {
    const r = await cliWith(down, ...args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(new RegExp(`cannot reach Temporal at ${down.TEMPORAL_ADDRESS}`));
    expect(r.stderr).not.toMatch(/^\s+at .+:\d+/m);
    for (const secret of Object.values(secrets)) expect(r.stderr + r.stdout).not.toContain(secret);
  });
});
