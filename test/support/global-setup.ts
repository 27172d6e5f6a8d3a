import { TestWorkflowEnvironment } from '@temporalio/testing';
// Before the test server's Runtime exists: the replay check at teardown runs a worker in this process too.
import './quiet-runtime';
import { ensureTemporalCli } from '../../tools/temporal-cli';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';
import { ensureChromium } from './chromium';
import { freePort } from './ports';

/** Starts one real Temporal dev server for the whole jest run; test files reach it through TEMPORAL_TEST_ADDRESS. */
export default async function globalSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cli = await ensureTemporalCli(log);
  const browser = ensureChromium(log);
  if ('path' in browser) process.env.NEON_PROMOTE_TEST_CHROMIUM = browser.path;
  else process.env.NEON_PROMOTE_TEST_BROWSER_SKIP = browser.skip;
  const uiPort = await freePort();
  const started = Date.now();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: 'path' in cli ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'error' },
      ui: true,
      uiPort,
    },
  });
  (globalThis as { __temporalEnv?: TestWorkflowEnvironment }).__temporalEnv = env;
  process.env.TEMPORAL_TEST_ADDRESS = env.address;
  process.env.TEMPORAL_TEST_NAMESPACE = env.namespace ?? 'default';
  process.env.TEMPORAL_TEST_UI_URL = `http://127.0.0.1:${uiPort}`;
  log(
    `\nTemporal dev server at ${env.address}, UI at http://127.0.0.1:${uiPort} (started in ${Date.now() - started} ms)`,
  );
}
