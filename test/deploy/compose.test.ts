/**
 * docker-compose.yml and the Dockerfile: checked by Compose itself (`docker compose` v2, else Debian's docker-compose
 * 1.29, which test/setup/compose.ts installs where it can), and always for what this repo promises: the services,
 * worker settings, and that every dist/ entry point the containers run is built from a source file.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ensureCompose } from '../setup/compose';

const ROOT = join(__dirname, '..', '..');
const COMPOSE = join(ROOT, 'docker-compose.yml');

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
