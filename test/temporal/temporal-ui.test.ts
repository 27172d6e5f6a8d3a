import type { Worker } from '@temporalio/worker';
import { chromium, type Browser, type Page } from 'playwright-core';
import { uriOf } from '../support/emulator-api';
import { sql } from '../support/postgres';
import { seedProd, type Stack, startStack } from '../support/workflow-stack';

// Debian's Chromium, installed by the test set-up (test/support/chromium.ts); skipped with its reason where there is none.
const chromiumPath = process.env.NEON_PROMOTE_TEST_CHROMIUM;
const uiUrl = process.env.TEMPORAL_TEST_UI_URL;
if (!chromiumPath) console.warn(`browser test skipped: ${process.env.NEON_PROMOTE_TEST_BROWSER_SKIP ?? 'no browser'}`);
const browserTest = chromiumPath && uiUrl ? test : test.skip;

/**
 * The text of the run page's User Metadata tab once it shows `expected`: the summary, details and current details
 * are markdown the UI renders in frames of their own.
 */
async function userMetadata(page: Page, expected: string): Promise<string> {
  await page.getByText('User Metadata', { exact: true }).click();
  let text = '';
  for (let i = 0; i < 60 && !text.includes(expected); i++) {
    if (i > 0) await page.waitForTimeout(500);
    const frames = await Promise.all(
      page.frames().map((frame) =>
        frame
          .locator('body')
          .innerText({ timeout: 1000 })
          .catch(() => ''),
      ),
    );
    text = frames.join('\n');
  }
  return text;
}

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
  'an operator finds a promotion in the Temporal UI by its Neon project ID and reads its page; a refused run reads refused',
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

    // The run's page says what the run is and how it went: its static summary and details, its current details
    // (outcome and each step), and on the timeline each activity with the step it ran for.
    await page.goto(`${uiUrl}/namespaces/${s.t.namespace}/workflows/${run.workflowId}`);
    for (const event of [
      'restoreSnapshot • restore_candidate',
      'ensureSnapshot • snapshot_prod',
      'finalizeRestore • swap',
      'verifyBranch • verify_prod',
    ])
      await page.getByText(event, { exact: true }).first().waitFor({ timeout: 30_000 });
    // The local activities (the plan's Neon reads, the fence) carry their step too, in their marker's user metadata:
    // the event history shows it as the Summary of their rows. The timeline cannot: for a local activity the UI draws
    // the activity type it decodes from the marker, in place of the summary (timeline-graph-row.svelte).
    await page.goto(`${page.url().split('?')[0]}?per-page=500`);
    const localActivity = page.getByRole('row').filter({ hasText: 'Local Activity' });
    await localActivity.filter({ hasText: 'fenceWrites' }).first().waitFor({ timeout: 30_000 });
    const localSteps = (await localActivity.allInnerTexts()).map((row) => {
      const [, type, step] = /Activity Type\s+(\w+)(?:\s+Summary\s+(\w+))?/.exec(row) ?? [];
      return `${type} • ${step ?? '(no step)'}`;
    });
    expect(localSteps).toEqual(
      expect.arrayContaining(['resolveEnvironment • plan', 'compareSchema • plan', 'fenceWrites • fence']),
    );
    const promoted = await userMetadata(page, 'Outcome: promoted');
    expect(promoted).toContain(`promotion of project ${project.projectId}: dev → prod`);
    expect(promoted).toContain(`Project: ${project.projectId}`);
    expect(promoted).toMatch(/snapshot_prod: done/);
    expect(promoted).toMatch(/verify_prod: done/);

    // A refused run says so: its failure, its current details, and `runs` (the CLI's --json prints listRuns).
    const refused = await s.client.startPromotion({ projectId: project.projectId, prodBranchName: 'no-such-branch' });
    await expect(refused.result()).rejects.toThrow();
    await page.goto(`${uiUrl}/namespaces/${s.t.namespace}/workflows/${refused.workflowId}`);
    await page
      .getByText(/"message": "refused: the prod branch/)
      .first()
      .waitFor({ timeout: 30_000 });
    const refusal = await userMetadata(page, 'Refused, nothing was changed');
    expect(refusal).toMatch(/Refused, nothing was changed: the prod branch .no-such-branch. does not exist/);
    const runs = await s.client.listRuns(project.projectId, { type: 'promote' });
    expect(runs.find((r) => r.workflowId === refused.workflowId)).toMatchObject({
      status: 'REFUSED',
      temporalStatus: 'FAILED',
      outcome: 'refused',
    });

    // The project's coordinator, always Running, says what it is.
    await page.goto(`${uiUrl}/namespaces/${s.t.namespace}/workflows/neon-promote-project-${project.projectId}`);
    const coordinator = await userMetadata(page, 'Runs finished since it started: 3');
    expect(coordinator).toContain(`coordinator of project ${project.projectId}`);
    expect(coordinator).toMatch(/not a promotion/);
    expect(coordinator).toMatch(/Idle: no run holds the project/);
    await page.close();
  },
);
