/**
 * What one cached workflow costs the worker, which sizes its sticky cache (NEON_PROMOTE_MAX_CACHED_WORKFLOWS): RSS and
 * V8 heap per workflow held in the cache, and the mean time of a workflow's first workflow task, for several workflow
 * bundles side by side.
 *
 *   nice -n 19 node --expose-gc --import tsx bench/workflow-memory.ts [--n 300] [--before <git-rev>] [--extra zod]
 *     [--en-only] [--preload]
 *
 * Bundles measured, each in a worker process of its own against one Temporal dev server:
 * - `trivial`: the SDK and one workflow that waits (no neon-promote module at all);
 * - `trivial+MODULE` (with --extra MODULE,...): the same workflow importing a package, e.g. zod or zod/mini;
 * - `tree+en` (with --en-only): `tree` with zod's locales index aliased to English only (a bundler option, not the
 *   product's bundle: zod's entry points import every locale, and the sandbox instantiates each per workflow);
 * - `tree`: the workflows of the working tree (src/, copied as it is), with the production interceptors, bundled
 *   without the production bundler options (no preloaded modules: every module instantiated per workflow);
 * - `tree+preload` (with --preload): `tree` bundled with the production's preloadModules (workflowPreloadModules in
 *   src/worker.ts): zod and src/shared/zod.ts evaluated once per worker, shared by every workflow;
 * - `before` (with --before REV): the same tree with the schema modules (inputs, validate, duration, notify-input,
 *   list-previews, shared/checks) as they were at REV, so the two differ by the schemas only; `before+preload` (with
 *   both flags) is that tree bundled as `tree+preload` is.
 * In `tree` and `before`, the waiting workflow first validates a promotion's input with promoteInput, as promote does.
 * Each worker starts N of them (all kept in the cache), waits until each has answered a query (its first task is
 * done), collects garbage and reads the process's RSS; per workflow = (after - before) / N. The first task's
 * time is WorkflowTaskStarted -> WorkflowTaskCompleted in each run's history. Workflows run in a worker thread of the
 * process, so RSS (not the main thread's heap) is what shows them.
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startDevServer } from '../tools/dev/temporal-server';
import { workflowPreloadModules } from '../src/worker';
import { freePort } from '../test/support/ports';

const REPO = path.resolve(__dirname, '..');
const SCHEMA_FILES = [
  'src/workflows/contract/inputs.ts',
  'src/workflows/contract/validate.ts',
  'src/workflows/contract/duration.ts',
  'src/workflows/contract/notify.ts',
  'src/workflows/previews/list.ts',
  'src/shared/checks.ts',
];

const PROBE_WORKFLOW = `
import { condition, defineQuery, defineSignal, setHandler } from '@temporalio/workflow';
__IMPORTS__
export const memoryProbeReady = defineQuery<boolean>('memoryProbeReady');
export const memoryProbeRelease = defineSignal('memoryProbeRelease');
export async function memoryProbe(input: unknown): Promise<void> {
  __PARSE__
  let released = false;
  setHandler(memoryProbeReady, () => true);
  setHandler(memoryProbeRelease, () => void (released = true));
  await condition(() => released);
}
`;

type Variant = { name: string; root: string; full: boolean };
type Result = {
  variant: string;
  n: number;
  rssMB0: number;
  rssMB1: number;
  rssKBPerWorkflow: number;
  firstTaskMeanMs: number;
  firstTaskP50Ms: number;
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

/** A copy of the tree (src/ and a node_modules link) with the probe's workflow entry point written into it. */
function prepare(dir: string, name: string, before?: string): Variant {
  const root = path.join(dir, name);
  mkdirSync(root, { recursive: true });
  symlinkSync(path.join(REPO, 'node_modules'), path.join(root, 'node_modules'));
  if (name === 'trivial' || name.startsWith('trivial+')) {
    const extra = name.slice('trivial+'.length);
    const imports = extra ? `import * as extra from '${extra}';` : '';
    const use = extra ? 'void input; void Object.keys(extra).length;' : 'void input;';
    const code = PROBE_WORKFLOW.replace('__IMPORTS__', imports).replace('__PARSE__', use);
    writeFileSync(path.join(root, 'probe.ts'), code);
    return { name, root, full: false };
  }
  cpSync(path.join(REPO, 'src'), path.join(root, 'src'), { recursive: true });
  for (const f of before ? SCHEMA_FILES : []) {
    writeFileSync(path.join(root, f), execFileSync('git', ['show', `${before}:${f}`], { cwd: REPO }));
  }
  const imports = `export * from './index';\nimport { parseInput } from './contract/validate';\nimport { promoteInput } from './contract/inputs';`;
  // A tree from --before REV may export the schema itself where the working tree exports its builder (promoteInput()).
  const parse = 'parseInput(typeof promoteInput === "function" ? promoteInput() : promoteInput, input);';
  const code = PROBE_WORKFLOW.replace('__IMPORTS__', imports).replace('__PARSE__', parse);
  writeFileSync(path.join(root, 'src', 'workflows', 'memory-probe.ts'), code);
  return { name, root, full: true };
}

const mb = (b: number) => Math.round((b / 1048576) * 10) / 10;

/** RSS after garbage collection. (The workflows run in a worker thread, so the main thread's heap does not show them.) */
function measure(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}

/** One variant in this process: a worker with the variant's bundle, N waiting workflows, memory before and after. */
async function child(): Promise<void> {
  const [root, full, n, address] = [arg('root')!, arg('full') === '1', Number(arg('n')), arg('address')!];
  const entry = full ? path.join(root, 'src', 'workflows', 'memory-probe.ts') : path.join(root, 'probe.ts');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} };
  // tree+en: zod's locales index (all ~50 locales, which zod's entry points import eagerly) replaced by English only.
  const localesIndex = path.join(REPO, 'node_modules', 'zod', 'v4', 'locales', 'index.js');
  const stub = path.join(root, 'locales-en-only.js');
  if (arg('variant')!.endsWith('+en')) {
    writeFileSync(
      stub,
      `export { default as en } from ${JSON.stringify(localesIndex.replace(/index\.js$/, 'en.js'))};\n`,
    );
  }
  const { code } = await bundleWorkflowCode({
    workflowsPath: entry,
    ...(arg('variant')!.endsWith('+en')
      ? {
          webpackConfigHook: (c) => ({
            ...c,
            resolve: { ...c.resolve, alias: { ...(c.resolve?.alias as Record<string, string>), [localesIndex]: stub } },
          }),
        }
      : {}),
    ...(arg('variant')!.endsWith('+preload') ? { preloadModules: workflowPreloadModules(path.join(root, 'src')) } : {}),
    workflowInterceptorModules: full
      ? [
          path.join(root, 'src', 'workflows', 'notify-interceptor.ts'),
          path.join(root, 'src', 'observability', 'workflow-interceptors.ts'),
        ]
      : [],
    logger: quiet,
  });
  const locales = (code.match(/"\.\/node_modules\/zod\/v4\/locales\/[^"]+"/g) ?? []).length;
  process.stderr.write(
    `${arg('variant')}: bundle ${Math.round(code.length / 1024)} KB, ${locales} zod locale modules\n`,
  );
  const taskQueue = `memory-probe-${process.pid}`;
  const connection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { code },
    maxCachedWorkflows: n + 100,
    activities: {},
  });
  const clientConn = await Connection.connect({ address });
  const client = new Client({ connection: clientConn });
  const running = worker.run();
  const input = { projectId: 'memory-probe', checks: [{ kind: 'sql', sql: 'SELECT 1', expect: { value: 1 } }] };
  const startOne = (id: string) =>
    client.workflow.start('memoryProbe', { taskQueue, workflowId: id, args: [input], workflowExecutionTimeout: '1h' });
  // Warm-up: the reusable V8 context and the bundle are created with the first workflow; that is not per workflow.
  const warm = await startOne(`${taskQueue}-warm`);
  await warm.query('memoryProbeReady');
  await warm.signal('memoryProbeRelease');
  await warm.result();
  await new Promise((r) => setTimeout(r, 1000));
  const m0 = measure();
  const handles = [];
  for (let i = 0; i < n; i += 20) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(20, n - i) }, (_, j) => startOne(`${taskQueue}-${i + j}`)),
    );
    handles.push(...batch);
  }
  for (let i = 0; i < handles.length; i += 20) {
    await Promise.all(handles.slice(i, i + 20).map((h) => h.query('memoryProbeReady')));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const m1 = measure();
  const firstTask: number[] = [];
  for (let i = 0; i < handles.length; i += 20) {
    const part = await Promise.all(
      handles.slice(i, i + 20).map(async (h) => {
        const { events } = await h.fetchHistory();
        const started = events?.find((e) => e.workflowTaskStartedEventAttributes);
        const completed = events?.find((e) => e.workflowTaskCompletedEventAttributes);
        const t = (e: typeof started) => Number(e!.eventTime!.seconds) * 1000 + e!.eventTime!.nanos! / 1e6;
        return t(completed) - t(started);
      }),
    );
    firstTask.push(...part);
  }
  for (let i = 0; i < handles.length; i += 20) {
    await Promise.all(handles.slice(i, i + 20).map((h) => h.signal('memoryProbeRelease')));
  }
  for (const h of handles) await h.result();
  worker.shutdown();
  await running;
  await clientConn.close();
  await connection.close();
  firstTask.sort((a, b) => a - b);
  const result: Result = {
    variant: arg('variant')!,
    n,
    rssMB0: mb(m0),
    rssMB1: mb(m1),
    rssKBPerWorkflow: Math.round((m1 - m0) / 1024 / n),
    firstTaskMeanMs: Math.round((firstTask.reduce((a, b) => a + b, 0) / firstTask.length) * 10) / 10,
    firstTaskP50Ms: Math.round(firstTask[Math.floor(firstTask.length / 2)]! * 10) / 10,
  };
  process.stdout.write(`RESULT=${JSON.stringify(result)}\n`);
}

function runChild(v: Variant, n: number, address: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', '--import', 'tsx', __filename, '--child', '--variant', v.name, '--root', v.root];
    args.push('--full', v.full ? '1' : '0', '--n', String(n), '--address', address);
    const p = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('RESULT='));
      if (code === 0 && line) resolve(JSON.parse(line.slice('RESULT='.length)) as Result);
      else reject(new Error(`variant ${v.name} exited ${code}:\n${out}`));
    });
  });
}

async function main(): Promise<void> {
  const n = Number(arg('n') ?? 300);
  const before = arg('before');
  const dir = mkdtempSync(path.join(tmpdir(), 'neon-promote-memory-'));
  const log = (l: string) => process.stderr.write(`${l}\n`);
  const server = await startDevServer({
    dbFilename: path.join(dir, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    log,
  });
  try {
    const extras = (arg('extra') ?? '').split(',').filter(Boolean);
    const variants = [
      prepare(dir, 'trivial'),
      ...extras.map((m) => prepare(dir, `trivial+${m}`)),
      prepare(dir, 'tree'),
    ];
    if (before) variants.push(prepare(dir, 'before', before));
    if (before && process.argv.includes('--preload')) variants.push(prepare(dir, 'before+preload', before));
    if (process.argv.includes('--en-only')) variants.push(prepare(dir, 'tree+en'));
    if (process.argv.includes('--preload')) variants.push(prepare(dir, 'tree+preload'));
    log(
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; N=${n}; variants ${variants.map((v) => v.name).join(', ')}`,
    );
    const results: Result[] = [];
    for (const v of variants) {
      log(`measuring ${v.name}`);
      results.push(await runChild(v, n, server.address));
    }
    log(
      `load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
    );
    console.table(results);
    process.stdout.write(`${JSON.stringify(results)}\n`);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

(process.argv.includes('--child') ? child() : main()).catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
