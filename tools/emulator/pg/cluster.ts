import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, chownSync, chmodSync, readFileSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { postgresBinDir, postgresUser, type PostgresUser } from './binaries';

/** Where the backend Postgres listens and how the emulator reaches it as an administrator. */
export type ClusterTarget = {
  host: string; // a socket directory or a hostname
  port: number;
  user: string;
  password?: string;
  /** The administrative database to connect to (default 'postgres'). */
  database?: string;
};

export type EmbeddedCluster = ClusterTarget & { stop(): Promise<void> };

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function ownedDir(dir: string, ids: PostgresUser | undefined, mode: number): void {
  mkdirSync(dir, { recursive: true, mode });
  chmodSync(dir, mode);
  if (ids) chownSync(dir, ids.uid, ids.gid);
}

/** The postgres user must be able to reach its data directory through every ancestor (e.g. a 0700 mkdtemp dir). */
function traversable(dir: string, log: (line: string) => void): void {
  for (let d = path.resolve(dir); path.dirname(d) !== d; d = path.dirname(d)) {
    const st = statSync(d);
    if (st.mode & 0o001 || st.uid !== process.getuid?.()) continue;
    chmodSync(d, (st.mode & 0o7777) | 0o011);
    log(`embedded postgres: made ${d} traversable for the postgres user`);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A postmaster left behind by an emulator that was killed: stop it so this run owns the cluster. */
async function stopOrphan(pgdata: string): Promise<void> {
  const pidFile = path.join(pgdata, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!pid || !processAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let i = 0; i < 200 && processAlive(pid); i++) await new Promise((r) => setTimeout(r, 50));
}

async function waitReady(target: ClusterTarget, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${output()}`);
    const c = new Client({ host: target.host, port: target.port, user: target.user, database: 'postgres' });
    try {
      await c.connect();
      await c.end();
      return;
    } catch (err) {
      await c.end().catch(() => undefined);
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 30));
    }
  }
}

/**
 * Starts (initialising on first use) a private Postgres cluster under `dir`. It listens on a Unix socket only, so it
 * needs no TCP port and cannot collide with a Postgres already serving this machine; local trust auth is safe there
 * because the socket directory is private. Durability settings are relaxed: this is a test double, not a database of
 * record.
 */
export async function startEmbeddedCluster(dir: string, log: (line: string) => void): Promise<EmbeddedCluster> {
  const ids = postgresUser();
  const bin = postgresBinDir(ids, log);
  mkdirSync(dir, { recursive: true });
  if (ids) traversable(dir, log);
  const pgdata = path.join(dir, 'pg');
  const sock = path.join(dir, 'sock');
  ownedDir(sock, ids, 0o700);
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C' };
  if (!existsSync(path.join(pgdata, 'PG_VERSION'))) {
    ownedDir(pgdata, ids, 0o700);
    if (readdirSync(pgdata).length === 0) {
      const args = [
        '-D',
        pgdata,
        '-U',
        'postgres',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ];
      execFileSync(path.join(bin, 'initdb'), args, { ...ids, env, stdio: 'pipe' });
    }
  }
  await stopOrphan(pgdata);
  const port = 5433; // names the socket file only: the cluster does not listen on TCP
  const settings = {
    listen_addresses: '',
    unix_socket_directories: sock,
    fsync: 'off',
    synchronous_commit: 'off',
    full_page_writes: 'off',
    max_connections: '300',
    logging_collector: 'off',
  };
  const args = ['-D', pgdata, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const child = spawn(path.join(bin, 'postgres'), args, { ...ids, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(`[pg] ${line}`);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const target: ClusterTarget = { host: sock, port, user: 'postgres' };
  await waitReady(target, child, () => output);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    ...target,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGINT'); // fast shutdown: disconnects clients, then checkpoints
      await exited;
    },
  };
}
