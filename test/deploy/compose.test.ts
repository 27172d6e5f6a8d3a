/**
 * docker-compose.yml and the Dockerfile: checked by Compose itself where it is installed (`docker compose` v2, else
 * Debian's docker-compose 1.29), and always for what this repo promises: the services, worker settings, and that
 * every dist/ entry point the containers run is built from a source file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const COMPOSE = join(ROOT, 'docker-compose.yml');

/** The Compose command on this machine, or undefined. */
function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

const compose = composeCommand();
if (!compose) console.warn('compose validation skipped: neither `docker compose` nor `docker-compose` is installed');
const withCompose = compose ? test : test.skip;

withCompose('Compose accepts the files (the workers-only one once its required settings are given)', () => {
  const [cmd, ...args] = compose!;
  const config = (file: string, env: Record<string, string> = {}) =>
    execFileSync(cmd!, [...args, '-f', join(ROOT, file), 'config', '-q'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
  expect(config('docker-compose.yml').trim()).toBe('');
  const cloud = { TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ns.acct', NEON_API_KEY: 'k' };
  expect(config('docker-compose.workers.yml', cloud).trim()).toBe('');
});

type Service = { build?: unknown; command?: string[]; environment?: Record<string, string>; ports?: string[] };

test('a Temporal cluster on PostgreSQL with its UI, the emulator, and two workers built from this repo', () => {
  const file = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, Service> };
  const s = file.services;
  expect(Object.keys(s).sort()).toEqual(
    ['emulator', 'postgresql', 'search-attributes', 'temporal', 'temporal-ui', 'worker-1', 'worker-2'].sort(),
  );
  for (const name of ['worker-1', 'worker-2']) {
    expect(s[name]!.build).toBe('.');
    expect(s[name]!.environment).toMatchObject({
      TEMPORAL_ADDRESS: expect.any(String) as unknown,
      NEON_API_KEY: expect.any(String) as unknown,
      NEON_PROMOTE_METRICS_PORT: '9464',
      NEON_PROMOTE_METRICS_HOST: '0.0.0.0',
    });
  }
  expect(new Set([...s['worker-1']!.ports!, ...s['worker-2']!.ports!]).size).toBe(2);
});

test('every dist/ entry point the image runs is built from a source file', () => {
  const text = readFileSync(COMPOSE, 'utf8') + readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const entries = [...text.matchAll(/dist\/([\w/-]+)\.js/g)].map((m) => m[1]!);
  expect(entries).toEqual(expect.arrayContaining(['worker', 'emulator/main', 'dev/search-attributes']));
  for (const e of entries) expect(existsSync(join(ROOT, 'src', `${e}.ts`))).toBe(true);
});
