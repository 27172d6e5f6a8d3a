/**
 * Where the demo runs: the local stack of `npm run dev` when it is up (its stack.env answers), else a stack of its
 * own started for the demo and stopped after it, with the worker's JSON log in a file beside the Temporal database.
 */
import { Connection } from '@temporalio/client';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import { startStack } from '../dev/stack';
import { createLogger } from '../../src/observability/logger';
import type { NeonApi } from './neon';

export type DemoStackOptions = {
  dataDir: string;
  temporalPort: number;
  uiPort: number;
  emulatorPort: number;
  metricsPort: number;
  log: (line: string) => void;
};

export type DemoStack = {
  reused: boolean;
  temporalAddress: string;
  uiUrl: string;
  taskQueue: string;
  neon: NeonApi;
  metricsUrl: string | null;
  workerLog: string | null;
  stop(): Promise<void>;
};

/** A refusal the user can act on: printed as one line, without a stack trace. */
export class DemoSetupError extends Error {}

export async function openDemoStack(o: DemoStackOptions): Promise<DemoStack> {
  const running = await runningStack(join(o.dataDir, 'stack.env'));
  if (running) return running;
  for (const port of [o.temporalPort, o.uiPort, o.emulatorPort, o.metricsPort]) {
    if (await listening(port)) {
      throw new DemoSetupError(
        `port ${port} is taken, but not by a local stack of ${o.dataDir} that answers: stop what holds it, or give ` +
          `the demo other ports (npm run demo -- --temporal-port 7243 --ui-port 8243 --emulator-port 7810 --metrics-port 9474)`,
      );
    }
  }
  const workerLog = join(o.dataDir, 'demo-worker.log');
  const destination = pino.destination({ dest: workerLog, mkdir: true, sync: true, append: false });
  const stack = await startStack({
    dataDir: o.dataDir,
    temporalPort: o.temporalPort,
    uiPort: o.uiPort,
    emulatorPort: o.emulatorPort,
    log: o.log,
    logger: createLogger({ format: 'json', destination }),
    metrics: { bindAddress: `127.0.0.1:${o.metricsPort}` },
  });
  return {
    reused: false,
    temporalAddress: stack.temporal.address,
    uiUrl: stack.temporal.uiUrl,
    taskQueue: stack.taskQueue,
    neon: { baseUrl: stack.emulator.baseUrl, apiKey: stack.emulator.apiKey },
    metricsUrl: stack.metricsUrl,
    workerLog,
    stop: () => stack.stop(),
  };
}

/** The stack `npm run dev` wrote to stack.env, if its Temporal server and emulator both answer. */
async function runningStack(envFile: string): Promise<DemoStack | undefined> {
  if (!existsSync(envFile)) return undefined;
  const env: Record<string, string> = {};
  for (const m of readFileSync(envFile, 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1]!] = m[2]!;
  const { TEMPORAL_ADDRESS: address, NEON_API_BASE_URL: baseUrl, NEON_API_KEY: apiKey } = env;
  if (!address || !baseUrl || !apiKey) return undefined;
  try {
    const conn = await Connection.connect({ address, connectTimeout: 1000 });
    try {
      await conn.healthService.check({});
    } finally {
      await conn.close();
    }
    const res = await fetch(`${baseUrl}/projects`, {
      headers: { authorization: `Bearer ${apiKey}` },
      signal: AbortSignal.timeout(2000),
    });
    if (!res.ok) return undefined;
  } catch {
    return undefined; // a stack.env left by a stack that has stopped
  }
  return {
    reused: true,
    temporalAddress: address,
    uiUrl: env.NEON_PROMOTE_UI_URL ?? 'http://localhost:8233',
    taskQueue: env.NEON_PROMOTE_TASK_QUEUE ?? 'neon-promote',
    neon: { baseUrl, apiKey },
    metricsUrl: env.NEON_PROMOTE_METRICS_URL ?? null,
    workerLog: null,
    stop: async () => undefined,
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
