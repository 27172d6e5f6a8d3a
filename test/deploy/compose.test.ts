/**
 * docker-compose.yml and the Dockerfile: checked by Compose itself (`docker compose` v2, else Debian's docker-compose
 * 1.29, which test/support/compose.ts installs where it can), and always for what this repo promises: the services,
 * worker settings, and that every file a container runs is in the image its service builds.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureCompose } from '../support/compose';

const ROOT = join(__dirname, '..', '..');

// Installed here (as root with apt-get) when missing, so a fresh machine runs the check instead of skipping it.
const found = ensureCompose((line) => process.stderr.write(`${line}\n`));
if ('skip' in found) console.warn(`compose validation skipped: ${found.skip}`);
const compose = 'command' in found ? found.command : undefined;
const withCompose = compose ? test : test.skip;

withCompose('Compose accepts the files (the workers-only one once its required settings are given)', () => {
  const [cmd, ...args] = compose!;
  const cloud = { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', NEON_API_KEY: 'k' };
  const unset = Object.fromEntries(Object.keys(cloud).map((k) => [k, undefined]));
  const config = (file: string, env: Record<string, string> = {}) =>
    execFileSync(cmd!, [...args, '-f', join(ROOT, file), 'config', '-q'], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...unset, ...env },
    });
  expect(config('docker-compose.yml').trim()).toBe('');
  expect(config('docker-compose.workers.yml', cloud).trim()).toBe('');
  // Without them Compose refuses the workers-only file and says which setting is missing.
  expect(() => config('docker-compose.workers.yml')).toThrow(
    /set TEMPORAL_ADDRESS|set TEMPORAL_NAMESPACE|set NEON_API_KEY/,
  );
});

type Service = {
  build?: { context: string; target: string };
  command?: string;
  environment?: Record<string, string>;
  ports?: string[];
};

const services = (file: string) =>
  (parse(readFileSync(join(ROOT, file), 'utf8'), { merge: true }) as { services: Record<string, Service> }).services;

test('a Temporal cluster on PostgreSQL with its UI, the emulator, and two workers built from this repo', () => {
  const s = services('docker-compose.yml');
  expect(Object.keys(s).sort()).toEqual(
    ['emulator', 'postgresql', 'search-attributes', 'temporal', 'temporal-ui', 'worker-1', 'worker-2'].sort(),
  );
  for (const name of ['worker-1', 'worker-2']) {
    expect(s[name]!.build).toEqual({ context: '.', target: 'worker' });
    expect(s[name]!.environment).toMatchObject({
      TEMPORAL_ADDRESS: expect.any(String) as unknown,
      NEON_API_KEY: expect.any(String) as unknown,
      NEON_PROMOTE_METRICS_PORT: '9464',
      NEON_PROMOTE_METRICS_HOST: '0.0.0.0',
    });
  }
  expect(new Set([...s['worker-1']!.ports!, ...s['worker-2']!.ports!]).size).toBe(2);
});

// The worker image holds dist/ (compiled src/) and production dependencies; the tools image holds src/ and tools/
// with every dependency (tsx, embedded Postgres). A service that runs a file its image lacks fails only at `up`.
test('every service runs a file its Dockerfile target holds, and the build copies only what the context has', () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM \S+ AS (\S+)$/gm)].map((m) => m[1]);
  expect(stages).toEqual(expect.arrayContaining(['worker', 'tools']));
  expect(stages.at(-1)).toBe('worker'); // `docker build .` without a target builds the worker

  const runs: { target: string; command: string }[] = [];
  for (const file of ['docker-compose.yml', 'docker-compose.workers.yml']) {
    for (const service of Object.values(services(file))) {
      if (!service.build) continue;
      expect(stages).toContain(service.build.target);
      const cmd = dockerfile.split(/^FROM /m).find((stage) => stage.includes(` AS ${service.build!.target}\n`));
      runs.push({ target: service.build.target, command: service.command ?? cmd!.match(/^CMD (.+)$/m)![1]! });
    }
  }
  for (const { target, command } of runs) {
    const files = [...command.matchAll(/\b((?:dist|tools)\/[\w/.-]+\.[jt]s)\b/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      if (file.startsWith('dist/')) {
        expect(target).toBe('worker');
        expect(existsSync(join(ROOT, file.replace(/^dist\//, 'src/').replace(/\.js$/, '.ts')))).toBe(true);
      } else {
        expect(target).toBe('tools');
        expect(existsSync(join(ROOT, file))).toBe(true);
      }
    }
  }
  expect(new Set(runs.map((run) => run.target))).toEqual(new Set(['worker', 'tools']));

  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .filter((line) => line && !line.startsWith('#'));
  const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(' '));
  expect(copied).toEqual(expect.arrayContaining(['src', 'tools', 'package-lock.json']));
  for (const path of copied) {
    expect(existsSync(join(ROOT, path))).toBe(true);
    expect(ignored).not.toContain(path);
  }
});
