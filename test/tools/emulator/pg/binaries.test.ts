/**
 * As root, Postgres runs as the `postgres` user, who cannot enter a checkout in a 0700 folder: its binaries then run
 * from a copy it can reach. Here the installed binaries are copied into a 0700 folder, as a clone made in
 * `mktemp -d` holds them, and the copies go to a folder of the test's own instead of the shared temporary folder.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { installedPostgres, postgresBinDir, postgresUser } from '../../../../tools/emulator/pg/binaries';
import { appendLog, currentTestLog } from '../../../support/test-logs';

const user = postgresUser();
const asRoot = user ? test : test.skip;
if (!user) console.warn('skipped: Postgres runs as the postgres user only when the tests run as root');

const log = (line: string) => appendLog(currentTestLog(), `${line}\n`);
let dir: string;
let files: { dir: string; version: string };
let copies: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'neon-promote-pgbin-'));
  const clone = path.join(dir, 'private');
  mkdirSync(clone, { mode: 0o700 });
  files = { dir: path.join(clone, 'native'), version: 'test' };
  cpSync(installedPostgres().dir, files.dir, { recursive: true, verbatimSymlinks: true });
  copies = path.join(dir, 'copies');
  mkdirSync(copies);
  chmodSync(copies, 0o755);
  chmodSync(dir, 0o755);
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

asRoot('binaries in a folder only root can enter run as the postgres user from a copy: initdb makes a cluster', () => {
  const direct = spawnSync(path.join(files.dir, 'bin', 'postgres'), ['--version'], { ...user });
  expect(direct.error).toMatchObject({ code: 'EACCES' });

  const bin = postgresBinDir(user, log, files, copies);
  expect(bin.startsWith(copies)).toBe(true);
  const data = path.join(dir, 'data');
  mkdirSync(data, { mode: 0o700 });
  chownSync(data, user!.uid, user!.gid);
  const args = ['-D', data, '-U', 'postgres', '--auth=trust', '--locale=C', '--no-sync', '--no-instructions'];
  const initdb = spawnSync(path.join(bin, 'initdb'), args, { ...user, env: { ...process.env, LC_ALL: 'C' } });
  appendLog(currentTestLog(), `${initdb.stdout?.toString()}${initdb.stderr?.toString()}`);
  expect(initdb.error).toBeUndefined();
  expect(initdb.status).toBe(0);
  expect(statSync(path.join(data, 'PG_VERSION')).isFile()).toBe(true);
  // The next start uses the same copy.
  expect(postgresBinDir(user, log, files, copies)).toBe(bin);
});

asRoot('a copy that differs from the installed files is made again; one another user owns is refused', () => {
  const bin = postgresBinDir(user, log, files, copies);
  const pgCtl = path.join(bin, 'pg_ctl');
  const size = statSync(pgCtl).size;
  appendFileSync(pgCtl, 'x');
  expect(postgresBinDir(user, log, files, copies)).toBe(bin);
  expect(statSync(pgCtl).size).toBe(size);

  chmodSync(pgCtl, 0o777); // writable by anyone: anyone may have changed it
  expect(postgresBinDir(user, log, files, copies)).toBe(bin);
  expect(statSync(pgCtl).mode & 0o777).toBe(0o755);

  const copy = path.dirname(bin);
  chownSync(copy, user!.uid, user!.gid);
  expect(() => postgresBinDir(user, log, files, copies)).toThrow(/is not this user's copy of the Postgres binaries/);
});
