import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../../src/temporal/cli';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';

/** Starts one real Temporal dev server for the whole jest run; test files reach it through TEMPORAL_TEST_ADDRESS. */
export default async function globalSetup(): Promise<void> {
  const cli = await ensureTemporalCli();
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: 'path' in cli ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'error' },
    },
  });
  (globalThis as { __temporalEnv?: TestWorkflowEnvironment }).__temporalEnv = env;
  process.env.TEMPORAL_TEST_ADDRESS = env.address;
  process.env.TEMPORAL_TEST_NAMESPACE = env.namespace ?? 'default';
  process.stderr.write(`\nTemporal dev server at ${env.address} (started in ${Date.now() - started} ms)\n`);
}
