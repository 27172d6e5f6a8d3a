import { Connection } from '@temporalio/client';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureTemporalCli } from '../temporal-cli';
import { searchAttributeFlags } from '../../src/temporal/search-attributes';

export type DevServerOptions = {
  /** SQLite file that keeps every run across restarts (`.data/temporal.db` for the local stack). */
  dbFilename: string;
  port?: number;
  uiPort?: number;
  log?: (line: string) => void;
  /** `--dynamic-config-value` pairs, on top of (or replacing) DEV_SERVER_DYNAMIC_CONFIG. */
  dynamicConfig?: Record<string, string | number | boolean>;
};

/**
 * Dynamic config the local stack's dev server starts with. Eager activity execution: when a workflow task schedules
 * an activity on the worker's own task queue, the server hands the activity task back in the task's completion
 * instead of through matching (the TypeScript SDK asks for it by default; the server grants it only with this on).
 * Production servers take the same key in their dynamic config (`system.enableActivityEagerExecution`).
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, string | number | boolean>> = {
  'system.enableActivityEagerExecution': true,
};

/** `--dynamic-config-value KEY=JSON` flags for `temporal server start-dev`. */
export function dynamicConfigFlags(values: Record<string, string | number | boolean>): string[] {
  return Object.entries(values).flatMap(([k, v]) => ['--dynamic-config-value', `${k}=${JSON.stringify(v)}`]);
}

export type DevServer = { address: string; uiUrl: string; process: ChildProcess; stop(): Promise<void> };

/** Starts `temporal server start-dev` with durable SQLite storage and the UI, and waits until it answers. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const cli = await ensureTemporalCli(log);
  if (!('path' in cli))
    throw new Error('the local stack needs the temporal CLI (install Go, or set TEMPORAL_CLI_PATH)');
  mkdirSync(dirname(opts.dbFilename), { recursive: true });
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort)];
  args.push('--db-filename', opts.dbFilename, '--log-level', 'error', ...searchAttributeFlags());
  args.push(...dynamicConfigFlags({ ...DEV_SERVER_DYNAMIC_CONFIG, ...opts.dynamicConfig }));
  const child = spawn(cli.path, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((res) => child.once('exit', res));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(
        `temporal server start-dev exited (${child.exitCode}); is port ${port} or ${uiPort} taken?\n${stderr}`,
      );
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 1000 });
      await conn.healthService.check({});
      await conn.close();
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`Temporal dev server did not answer on ${address} within 30 s: ${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    address,
    uiUrl: `http://localhost:${uiPort}`,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
