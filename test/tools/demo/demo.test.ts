/**
 * `npm run demo` as a user runs it: a process of its own with its own stack (temporary data directory, free ports, so
 * neither the test server nor a user's `npm run dev` is disturbed). Every line of its summary must be green, and every
 * run it left on its server must replay with the current workflow code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDevServer } from '../../../tools/dev/temporal-server';
import { freePort } from '../../support/ports';
import { expectServerHistoriesReplay } from '../../support/replay-check';

const ROOT = join(__dirname, '..', '..', '..');
let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'neon-promote-demo-'));
});
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function runDemo(args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'tools/demo/main.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

test('the demo runs the whole story and ends with every step green', async () => {
  const [temporal, ui, emulator, metrics] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const { code, out } = await runDemo([
    ...['--data-dir', dataDir, '--temporal-port', String(temporal), '--ui-port', String(ui)],
    ...['--emulator-port', String(emulator), '--metrics-port', String(metrics)],
  ]);
  const summary = out.slice(out.indexOf('\nSummary\n'));
  const rows = summary
    .split('\n')
    .slice(3)
    .filter((l) => /^ {2}(ok|FAILED) /.test(l));
  const steps = rows.map((l) => l.slice(9, 28).trim());
  expect(steps).toEqual([
    'sample project',
    'setup',
    'preview',
    'change on dev',
    'form submissions',
    'promotion',
    'failed promotion',
    'rollback',
    'dev refresh',
    'live writes',
    'metrics',
  ]);
  expect(rows.filter((l) => !l.startsWith('  ok '))).toEqual([]);
  expect(summary).toMatch(/promotion +promoted .* 7 carried; 0 of 7 missing, dev's #1 answered/);
  expect(summary).toMatch(/failed promotion +rolled_back /);
  expect(summary).toMatch(/live writes +promoted .* [1-9]\d* carried, 0 lost/);
  expect(out).toContain(`http://localhost:${ui}/namespaces/default/workflows?query=NeonProjectId`);
  expect(out).not.toMatch(/postgres(ql)?:\/\/[^\s]*:[^\s@]+@/); // no connection string with a password
  expect(code).toBe(0);

  // The demo's server keeps its runs in the data directory: serve them again and replay every one.
  const server = await startDevServer({
    dbFilename: join(dataDir, 'temporal.db'),
    port: await freePort(),
    uiPort: await freePort(),
    log: () => undefined,
  });
  try {
    const report = await expectServerHistoriesReplay({ address: server.address, label: 'demo' });
    expect(report.replayed).toBeGreaterThan(0);
  } finally {
    await server.stop();
  }
}, 240_000);
