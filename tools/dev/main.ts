import { parseArgs } from 'node:util';
import { loggerFromEnv } from '../../src/observability/logger';
import { metricsSettingsFromEnv } from '../../src/worker/runtime';
import { startStack } from './stack';

const usage = `npm run dev -- [options]: Temporal, the Neon emulator and a worker, until Ctrl-C

  --data-dir D         Temporal's SQLite file and the emulator's state (default: .data in the checkout)
  --temporal-port N    Temporal frontend (default 7233)
  --ui-port N          Temporal web UI (default 8233)
  --emulator-port N    Neon emulator API (default 7800)
  --metrics-port N     worker metrics (default: NEON_PROMOTE_METRICS_PORT, else 9464)`;

const port = (value: string | undefined): number | undefined => (value === undefined ? undefined : Number(value));

/** `npm run dev`: the local stack, until Ctrl-C. The worker logs runs as they finish and serves metrics on :9464. */
async function main(): Promise<void> {
  const str = { type: 'string' } as const;
  const { values: args } = parseArgs({
    options: {
      'data-dir': str,
      'temporal-port': str,
      'ui-port': str,
      'emulator-port': str,
      'metrics-port': str,
      help: { type: 'boolean' },
    },
  });
  if (args.help) return void console.log(usage);
  // The ports are flags so that a second stack (another checkout, a test run) can live beside the first one.
  const env = {
    NEON_PROMOTE_METRICS_PORT: '9464',
    ...process.env,
    ...(args['metrics-port'] ? { NEON_PROMOTE_METRICS_PORT: args['metrics-port'] } : {}),
  };
  const stack = await startStack({
    dataDir: args['data-dir'],
    temporalPort: port(args['temporal-port']),
    uiPort: port(args['ui-port']),
    emulatorPort: port(args['emulator-port']),
    logger: loggerFromEnv(env),
    metrics: metricsSettingsFromEnv(env),
  });
  console.log(`neon-promote local stack is up
  Temporal UI        ${stack.temporal.uiUrl}
  Temporal address   ${stack.temporal.address}   (task queue ${stack.taskQueue})
  Neon emulator      ${stack.emulator.baseUrl}
  worker metrics     ${stack.metricsUrl ?? 'off'}
  settings for other shells: source ${stack.envFile}
Press Ctrl-C to stop.`);
  await stack.done;
  console.log('stopped');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
