import type { Worker } from '@temporalio/worker';
import { chromium, type Browser } from 'playwright-core';
import { uriOf } from '../support/emulator-api';
import { sql } from '../support/postgres';
import { seedProd, type Stack, startStack } from '../support/workflow-stack';

// Debian's Chromium, installed by the test set-up (test/support/chromium.ts); skipped with its reason where there is none.
const chromiumPath = process.env.NEON_PROMOTE_TEST_CHROMIUM;
const uiUrl = process.env.TEMPORAL_TEST_UI_URL;
if (!chromiumPath) console.warn(`browser test skipped: ${process.env.NEON_PROMOTE_TEST_BROWSER_SKIP ?? 'no browser'}`);
const browserTest = chromiumPath && uiUrl ? test : test.skip;

let s: Stack;
let worker: Worker;
let running: Promise<void>;
let browser: Browser | undefined;

beforeAll(async () => {
  s = await startStack(__filename);
  worker = await s.worker();
  running = worker.run();
  if (chromiumPath) {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking'],
    });
  }
});
afterAll(async () => {
  await browser?.close();
  worker?.shutdown();
  await running;
  await s?.stop();
});

browserTest(
  'an operator finds a promotion in the Temporal UI by its Neon project ID and sees its outcome',
  async () => {
    const project = await seedProd(s.emu);
    await s.client.startSetup({ projectId: project.projectId }).then((r) => r.result());
    await sql(await uriOf(s.emu, project, 'dev'), "UPDATE items SET source = 'dev'");
    const run = await s.client.startPromotion({ projectId: project.projectId });
    expect(await run.result()).toMatchObject({ outcome: 'promoted' });

    const page = await browser!.newPage();
    const query = encodeURIComponent(`NeonProjectId="${project.projectId}" AND WorkflowType="promote"`);
    await page.goto(`${uiUrl}/namespaces/${s.t.namespace}/workflows?query=${query}`);
    const row = page.getByRole('row').filter({ hasText: run.workflowId });
    await row.waitFor({ timeout: 30_000 });
    expect(await row.innerText()).toMatch(/Completed/i);

    // The run's page shows the outcome the workflow recorded as a search attribute.
    await row.getByRole('link', { name: run.workflowId }).click();
    await page.getByText('Search Attributes', { exact: true }).click();
    await page.getByText('NeonOutcome').first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: '/tmp/neon-promote-ui.png', fullPage: true });
    const body = await page.locator('body').innerText();
    expect(body).toMatch(/NeonOutcome[\s\S]{0,80}promoted/);
    await page.close();
  },
);
