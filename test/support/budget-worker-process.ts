/**
 * A worker process as operators run it (`runWorker`: settings from the environment, the account's shared rate budget),
 * with a pre-built workflow bundle (BUNDLE_PATH) so that several processes do not each bundle on start. Its JSON log
 * lines go to stdout; "worker started" says it polls.
 */
import { runWorker } from '../../src/worker';

runWorker(process.env, { workflowBundle: { codePath: process.env.BUNDLE_PATH! } }).catch((err: unknown) => {
  process.stderr.write(`budget worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
