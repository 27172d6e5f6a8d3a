import type { Browser } from 'playwright-core';
import { chromium } from 'playwright-core';
import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createHealthActivities } from '../../src/activities/health';
import { NeonOutcome, NeonPhase, NeonProjectId } from '../../src/temporal/search-attributes';
import { createWorker } from '../../src/worker';
import type { healthCheck } from '../../src/workflows';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';

// Debian's Chromium, installed by the test set-up (test/setup/browser.ts); skipped with its reason where there is none.
const chromiumPath = process.env.NEON_PROMOTE_TEST_CHROMIUM;
const uiUrl = process.env.TEMPORAL_TEST_UI_URL;
const skipReason = process.env.NEON_PROMOTE_TEST_BROWSER_SKIP;
if (!chromiumPath) console.warn(`browser test skipped: ${skipReason ?? 'no browser'}`);
const browserTest = chromiumPath && uiUrl ? test : test.skip;

let t: TestTemporal;
let workflowBundle: WorkflowBundleWithSourceMap;
let browser: Browser | undefined;

beforeAll(async () => {
  t = await connectTestTemporal(__filename);
  workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows') });
  if (chromiumPath) {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
    });
  }
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

browserTest('an operator finds a run in the Temporal UI by its Neon project ID and sees its outcome', async () => {
  const projectId = `ui-test-${Date.now()}`;
  const workflowId = `health-check-${projectId}`;
  const worker = await createWorker({
    connection: t.nativeConnection,
    taskQueue: t.taskQueue,
    workflowBundle,
    activities: createHealthActivities(),
  });
  await worker.runUntil(
    t.client.workflow.execute<typeof healthCheck>('healthCheck', {
      taskQueue: t.taskQueue,
      workflowId,
      args: ['ui'],
      typedSearchAttributes: [
        { key: NeonProjectId, value: projectId },
        { key: NeonPhase, value: 'health-check' },
        { key: NeonOutcome, value: 'ok' },
      ],
    }),
  );
  const page = await browser!.newPage();
  const query = encodeURIComponent(`NeonProjectId="${projectId}"`);
  await page.goto(`${uiUrl}/namespaces/${t.namespace}/workflows?query=${query}`);
  const row = page.getByRole('row').filter({ hasText: workflowId });
  await row.waitFor({ timeout: 30_000 });
  expect(await row.innerText()).toMatch(/Completed/i);
  await page.screenshot({ path: '/tmp/neon-promote-ui.png' });
  await page.close();
});
