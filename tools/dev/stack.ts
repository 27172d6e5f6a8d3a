import { NativeConnection, type Worker } from '@temporalio/worker';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createActivitiesFromEnv } from '../../src/activities';
import { httpGetter } from '../../src/activities/database/connect';
import { createHealthActivities } from '../../src/activities/health';
import { startEmulator, type Emulator } from '../emulator';
import { createLogger, type Logger } from '../../src/observability/logger';
import { installRuntime, type MetricsSettings } from '../../src/worker/runtime';
import { REPO_ROOT } from '../temporal-cli';
import { createWorker, DEFAULT_TASK_QUEUE } from '../../src/worker';
import { startDevServer, type DevServer } from './temporal-server';

export type StackOptions = {
  /** Durable state of the Temporal dev server and the emulator; default <repo>/.data. */
  dataDir?: string;
  temporalPort?: number;
  uiPort?: number;
  /** Emulator HTTP port; fixed by default so stack.env stays valid across restarts. */
  emulatorPort?: number;
  taskQueue?: string;
  log?: (line: string) => void;
  /** The worker's log (SDK, workflow and activity lines); default: warnings and errors on stdout. */
  logger?: Logger;
  /** Serve the worker's Prometheus metrics here. */
  metrics?: MetricsSettings;
};

export type Stack = {
  temporal: DevServer;
  emulator: Emulator;
  worker: Worker;
  taskQueue: string;
  /** A file of `export` lines (TEMPORAL_ADDRESS, NEON_API_BASE_URL, NEON_API_KEY, ...) for other shells and the demo. */
  envFile: string;
  metricsUrl: string | null;
  /** Resolves when the worker stops (Ctrl-C, or `stop()`), after everything else stopped too. */
  done: Promise<void>;
  stop(): Promise<void>;
};

/**
 * The local stack: a durable Temporal dev server (SQLite under .data/, UI on :8233), the Neon emulator with real
 * Postgres (state under .data/emulator) and a worker whose activities talk to the emulator.
 */
export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // The Runtime must exist before the first connection; an embedding program's own Runtime is kept.
  installRuntime({ logger: opts.logger ?? createLogger({ level: 'warn' }), metrics: opts.metrics });
  const dataDir = resolve(opts.dataDir ?? join(REPO_ROOT, '.data'));
  const taskQueue = opts.taskQueue ?? DEFAULT_TASK_QUEUE;
  const temporal = await startDevServer({
    dbFilename: join(dataDir, 'temporal.db'),
    port: opts.temporalPort,
    uiPort: opts.uiPort,
    log,
  });
  let emulator: Emulator | undefined;
  let connection: NativeConnection | undefined;
  try {
    emulator = await startEmulator({ port: opts.emulatorPort ?? 7800, dataDir: join(dataDir, 'emulator') });
    connection = await NativeConnection.connect({ address: temporal.address });
    const neonEnv = { NEON_API_BASE_URL: emulator.baseUrl, NEON_API_KEY: emulator.apiKey };
    const worker = await createWorker({
      connection,
      taskQueue,
      activities: {
        ...createHealthActivities('local-stack'),
        // Health pages of a local stack are local: `http` checks may reach them (NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1).
        ...createActivitiesFromEnv(
          { ...process.env, ...neonEnv },
          { httpGet: httpGetter({ allowPrivateNetwork: true }) },
        ),
      },
    });
    const envFile = join(dataDir, 'stack.env');
    const metricsUrl = opts.metrics ? `http://${opts.metrics.bindAddress}/metrics` : null;
    const exports = {
      TEMPORAL_ADDRESS: temporal.address,
      NEON_PROMOTE_TASK_QUEUE: taskQueue,
      ...neonEnv,
      NEON_PROMOTE_UI_URL: temporal.uiUrl,
      ...(metricsUrl ? { NEON_PROMOTE_METRICS_URL: metricsUrl } : {}),
    };
    writeFileSync(
      envFile,
      Object.entries(exports)
        .map(([k, v]) => `export ${k}='${v}'\n`)
        .join(''),
      { mode: 0o600 },
    );
    const running = worker.run();
    const emu = emulator;
    const conn = connection;
    const done = running.finally(async () => {
      await conn.close();
      await emu.stop();
      await temporal.stop();
    });
    return {
      temporal,
      emulator,
      worker,
      taskQueue,
      envFile,
      metricsUrl,
      done,
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await done;
      },
    };
  } catch (err) {
    await connection?.close();
    await emulator?.stop();
    await temporal.stop();
    throw err;
  }
}
