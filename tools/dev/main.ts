import { loggerFromEnv } from '../../src/observability/logger';
import { metricsSettingsFromEnv } from '../../src/worker/runtime';
import { startStack } from './stack';

/** `npm run dev`: the local stack, until Ctrl-C. The worker logs runs as they finish and serves metrics on :9464. */
async function main(): Promise<void> {
  const env = { NEON_PROMOTE_METRICS_PORT: '9464', ...process.env };
  const stack = await startStack({ logger: loggerFromEnv(env), metrics: metricsSettingsFromEnv(env) });
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
