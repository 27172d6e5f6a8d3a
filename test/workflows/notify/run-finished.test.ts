import { WorkflowFailedError } from '@temporalio/client';
import { verifyWebhookSignature } from '../../../src/activities/notify/signature';
import { createNotifyActivities, type WebhookSettings } from '../../../src/activities/notify/deliver';
import { uriOf } from '../../support/emulator-api';
import { untilDefined } from '../../support/polling';
import { sql } from '../../support/postgres';
import { neonActivities, seedProd, type Stack, startStack } from '../../support/workflow-stack';
import { SECRET, startReceiver, type Receiver } from '../../support/webhook';

let s: Stack;
let rcv: Receiver;
beforeAll(async () => {
  [s, rcv] = await Promise.all([startStack(__filename), startReceiver()]);
});
afterAll(async () => Promise.all([s?.stop(), rcv?.close()]));

/**
 * A worker on the production bundle whose notification activities use these webhook settings; the receiver listens
 * on 127.0.0.1, so the worker allows private addresses (NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1).
 */
const workerWith = (webhook: WebhookSettings) =>
  s.worker({ ...neonActivities(s.emu), ...createNotifyActivities({ allowPrivateNetwork: true, ...webhook }) });

beforeEach(() => {
  rcv.answer = () => ({ status: 200 });
});

/** A project set up for promotion whose dev holds a change. */
async function projectWithChange() {
  const p = await seedProd(s.emu, 3);
  const setup = await s.client.startSetup({ projectId: p.projectId });
  const { forkPoint } = await setup.result();
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  return Object.assign(p, { setupWorkflowId: setup.workflowId, forkPoint });
}

const deliveriesOf = (workflowId: string) =>
  rcv.requests.filter((d) => (JSON.parse(d.body) as { workflowId: string }).workflowId === workflowId);

/** The run's history and its notification's, as text. */
async function histories(workflowId: string, deliveryId: string): Promise<string> {
  const run = await s.t.client.workflow.getHandle(workflowId).fetchHistory();
  const child = await s.t.client.workflow.getHandle(deliveryId).fetchHistory();
  return JSON.stringify(run) + JSON.stringify(child);
}

test('a promoted run POSTs a signed run.finished payload with its outcome and steps; no secret in it or in history', async () => {
  const worker = await workerWith({ secret: SECRET });
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const run = await s.client.startPromotion({ projectId: p.projectId, notify: { url: rcv.url } });
    expect((await run.result()).outcome).toBe('promoted');
    const d = await untilDefined('the delivery', () => deliveriesOf(run.workflowId).find((x) => x.status === 200));
    const body = JSON.parse(d.body) as Record<string, unknown> & { steps: { name: string; status: string }[] };
    expect(body).toMatchObject({
      event: 'run.finished',
      workflowId: run.workflowId,
      workflowType: 'promote',
      projectId: p.projectId,
      outcome: 'promoted',
      reason: null,
    });
    expect(body.steps.find((x) => x.name === 'swap')).toMatchObject({ status: 'done' });
    // Prod took no write since setup forked dev: counted, and nothing to carry or discard.
    expect(body.prodWrites).toEqual({
      forkPointAt: p.forkPoint!.createdAt,
      rowsChanged: 0,
      tables: [],
      tablesAdded: [],
      tablesDropped: [],
    });
    expect(d.headers['x-neon-promote-delivery']).toBe(body.deliveryId);
    const header = d.headers['x-neon-promote-signature'];
    expect(verifyWebhookSignature({ body: d.body, header, secret: SECRET })).toBe(true);
    expect(verifyWebhookSignature({ body: d.body, header, secret: 'another-secret-of-length' })).toBe(false);

    // The setup run had no webhook, and neither has this worker: it started no notification.
    const setup = await s.t.client.workflow.getHandle(p.setupWorkflowId).fetchHistory();
    expect(JSON.stringify(setup)).not.toContain('deliverNotification');

    const password = new URL(p.connectionUri).password;
    expect(password.length).toBeGreaterThan(3);
    const text = (await histories(run.workflowId, body.deliveryId as string)) + d.body;
    for (const secret of [SECRET, s.emu.apiKey, password]) expect(text).not.toContain(secret);
  });
});

test("a promotion stopped by prod's writes since the fork names each table, its counts and handling; no key values", async () => {
  const worker = await workerWith({ secret: SECRET });
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    await sql(
      await uriOf(s.emu, p, 'prod'),
      `INSERT INTO items (id, label, source) VALUES (987654, 'prod', 'prod');
       UPDATE items SET label = 'renamed on prod' WHERE id = 1;
       CREATE TABLE scratch (id int)`,
    );
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      discardProdWrites: ['scratch'],
      notify: { url: rcv.url },
    });
    expect((await run.result()).outcome).toBe('aborted');
    const d = await untilDefined('the delivery', () => deliveriesOf(run.workflowId).find((x) => x.status === 200));
    const body = JSON.parse(d.body) as { prodWrites: unknown };
    expect(body.prodWrites).toEqual({
      forkPointAt: p.forkPoint!.createdAt,
      rowsChanged: 2,
      tables: [{ table: 'public.items', inserts: 1, updates: 1, deletes: 0, handling: 'unhandled' }],
      tablesAdded: [{ table: 'public.scratch', handling: 'discard' }],
      tablesDropped: [],
    });
    // The count's sample keys are prod's rows: they stay in the run.
    expect(d.body).not.toContain('987654');
    expect(d.body).not.toContain('sampleKeys');
  });
});

test('a refused run notifies its outcome as refused, not failed', async () => {
  const worker = await workerWith({ secret: SECRET });
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 3);
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      prodBranchName: 'no-such-branch',
      notify: { url: rcv.url },
    });
    await expect(run.result()).rejects.toThrow(WorkflowFailedError);
    const d = await untilDefined('the delivery', () => deliveriesOf(run.workflowId).find((x) => x.status === 200));
    expect(JSON.parse(d.body)).toMatchObject({
      outcome: 'refused',
      reason: 'the prod branch "no-such-branch" does not exist',
    });
  });
});

test("a rolled-back run notifies the worker's own webhook, whose URL stays out of history", async () => {
  const worker = await workerWith({ secret: SECRET, url: rcv.url });
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      postSwapChecks: [{ kind: 'sql', name: 'smoke', sql: 'SELECT count(*) FROM items', expect: { value: 999 } }],
    });
    expect((await run.result()).outcome).toBe('rolled_back');
    const d = await untilDefined('the delivery', () => deliveriesOf(run.workflowId).find((x) => x.status === 200));
    const body = JSON.parse(d.body) as { outcome: string; reason: string; deliveryId: string; summary: string };
    expect(body.outcome).toBe('rolled_back');
    expect(body.reason).toContain('smoke');
    expect(body.summary).toContain('rolled_back');
    expect(
      verifyWebhookSignature({ body: d.body, header: d.headers['x-neon-promote-signature'], secret: SECRET }),
    ).toBe(true);
    expect(await histories(run.workflowId, body.deliveryId)).not.toContain(rcv.url);
  });
});

test('a webhook that is down gets the notification later, from the retries, while the run has already completed', async () => {
  let open = false;
  rcv.answer = () => (open ? { status: 204 } : { status: 503, headers: { 'retry-after': '1' } });
  const worker = await workerWith({ secret: SECRET });
  await worker.runUntil(async () => {
    const p = await seedProd(s.emu, 2);
    const run = await s.client.startSetup({ projectId: p.projectId, notify: { url: rcv.url } });
    expect((await run.result()).outcome).toBe('created');
    // The run is done while its webhook still refuses: nothing was accepted yet.
    expect(deliveriesOf(run.workflowId).filter((d) => d.status < 300)).toEqual([]);
    await untilDefined('a retried delivery', () => (deliveriesOf(run.workflowId).length >= 2 ? true : undefined));
    open = true;
    const d = await untilDefined('the accepted delivery', () =>
      deliveriesOf(run.workflowId).find((x) => x.status === 204),
    );
    const body = JSON.parse(d.body) as { outcome: string; deliveryId: string; prodWrites: unknown };
    expect(body.outcome).toBe('created');
    expect(body.prodWrites).toBeNull(); // not a promotion
    // Every attempt carried the same delivery ID, so a receiver can drop duplicates.
    expect(new Set(deliveriesOf(run.workflowId).map((x) => x.headers['x-neon-promote-delivery']))).toEqual(
      new Set([body.deliveryId]),
    );
    expect(await s.t.client.workflow.getHandle(body.deliveryId).result()).toEqual({ status: 204 });
  });
});

test('a cancelled run reports cancelled; a webhook that rejects the request (4xx) is not retried', async () => {
  rcv.answer = () => ({ status: 410 });
  const worker = await workerWith({ secret: SECRET });
  await worker.runUntil(async () => {
    const p = await projectWithChange();
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      approval: { required: true },
      notify: { url: rcv.url },
    });
    await waitForStep(run.workflowId, 'approval');
    await s.client.cancel(run.workflowId);
    await expect(run.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const d = await untilDefined('the delivery', () => deliveriesOf(run.workflowId)[0]);
    const body = JSON.parse(d.body) as { outcome: string; deliveryId: string };
    expect(body.outcome).toBe('cancelled');
    const err: unknown = await s.t.client.workflow
      .getHandle(body.deliveryId)
      .result()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(((err as WorkflowFailedError).cause?.cause as { type?: string } | undefined)?.type).toBe('WebhookRejected');
    expect(deliveriesOf(run.workflowId)).toHaveLength(1);
  });
});

async function waitForStep(workflowId: string, step: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const progress = await s.client.getProgress(workflowId).catch(() => null);
    if (progress?.currentStep === step) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${workflowId} never reached ${step}`);
}
