import { TestWorkflowEnvironment } from '@temporalio/testing';
import { ensureTemporalCli } from '../../tools/temporal-cli';
import { searchAttributeKeys } from '../../src/temporal/search-attributes';
import { ensureChromium } from './chromium';
import { freePort } from './ports';
import { logRuntimeTo } from './runtime-log';
import { JEST_PROCESS_LOG, SERVER_LOG, shownPath, startLog, TEST_LOGS_DIR } from './test-logs';
import { startTestServer, type TestServer } from './test-server';

/** The server global-teardown.ts checks and stops (setup and teardown share jest's process). */
export type GlobalServer = Pick<TestServer, 'address' | 'stop'>;

/** Starts one real Temporal dev server for the whole jest run; test files reach it through TEMPORAL_TEST_ADDRESS. */
export default async function globalSetup(): Promise<void> {
  // The replay check at teardown runs a worker in this process.
  startLog(JEST_PROCESS_LOG);
  logRuntimeTo(JEST_PROCESS_LOG);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const cli = await ensureTemporalCli(log);
  const browser = ensureChromium(log);
  if ('path' in browser) process.env.NEON_PROMOTE_TEST_CHROMIUM = browser.path;
  else process.env.NEON_PROMOTE_TEST_BROWSER_SKIP = browser.skip;
  const started = Date.now();
  const server = 'path' in cli ? await startTestServer(cli.path, SERVER_LOG) : await downloadedServer();
  (globalThis as { __temporalServer?: GlobalServer }).__temporalServer = server;
  process.env.TEMPORAL_TEST_ADDRESS = server.address;
  process.env.TEMPORAL_TEST_NAMESPACE = server.namespace;
  process.env.TEMPORAL_TEST_UI_URL = server.uiUrl;
  log(
    `\nTemporal dev server at ${server.address}, UI at ${server.uiUrl} (started in ${Date.now() - started} ms); ` +
      `logs in ${shownPath(TEST_LOGS_DIR)}/`,
  );
}

/**
 * Without a Temporal CLI here (no Go to build one), the SDK downloads its dev server and starts it itself; that
 * server writes its errors to the terminal.
 */
async function downloadedServer(): Promise<TestServer> {
  const uiPort = await freePort();
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download' },
      searchAttributes: searchAttributeKeys,
      log: { format: 'pretty', level: 'error' },
      ui: true,
      uiPort,
    },
  });
  return {
    address: env.address,
    namespace: env.namespace ?? 'default',
    uiUrl: `http://127.0.0.1:${uiPort}`,
    stop: () => env.teardown(),
  };
}
