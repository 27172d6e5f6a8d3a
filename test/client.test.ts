import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// A service that only starts runs must not load the worker: @temporalio/worker brings the SDK's native module, webpack
// and the workflow bundler. Each entry is loaded in a process of its own (jest's module registry is not node's).
const root = join(__dirname, '..');

/** The @temporalio packages in require.cache after node loads `entry` through tsx, as a service's require would. */
function temporalPackagesLoadedBy(entry: string): string[] {
  const probe = `
    require(${JSON.stringify(join(root, entry))});
    const packages = Object.keys(require.cache)
      .map((file) => /node_modules\\/(@temporalio\\/[^/]+)\\//.exec(file)?.[1])
      .filter(Boolean);
    process.stdout.write(JSON.stringify([...new Set(packages)].sort()));
  `;
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], { cwd: root, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`loading ${entry} failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

test('loading the client (src/client.ts) loads the Temporal client, not @temporalio/worker', () => {
  const loaded = temporalPackagesLoadedBy('src/client.ts');
  expect(loaded).toContain('@temporalio/client');
  expect(loaded).not.toContain('@temporalio/worker');
});

test('the probe sees @temporalio/worker when an entry does load it (src/worker.ts)', () => {
  expect(temporalPackagesLoadedBy('src/worker.ts')).toContain('@temporalio/worker');
});
