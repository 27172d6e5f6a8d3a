import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import {
  createNotifyActivities,
  retryAfterMs,
  webhookSettingsFromEnv,
  type WebhookSettings,
} from '../../../src/activities/notify/deliver';
import { signWebhook, verifyWebhookSignature } from '../../../src/activities/notify/signature';
import { promoteInput, setupInput } from '../../../src/workflows/contract/inputs';
import type { RunFinishedPayload } from '../../../src/workflows/contract/notify';
import { SECRET, startReceiver, type Receiver } from '../../support/webhook';

let rcv: Receiver;
beforeAll(async () => {
  rcv = await startReceiver();
});
afterAll(async () => rcv?.close());
beforeEach(() => {
  rcv.requests.length = 0;
  rcv.answer = () => ({ status: 200 });
});

const NOW = 1_800_000_000_000;
const payload: RunFinishedPayload = {
  event: 'run.finished',
  deliveryId: 'promote-1-notify-r1',
  workflowId: 'promote-1',
  runId: 'r1',
  workflowType: 'promote',
  projectId: 'p-1',
  outcome: 'promoted',
  reason: null,
  startedAt: new Date(NOW - 5000).toISOString(),
  finishedAt: new Date(NOW).toISOString(),
  durationMs: 5000,
  steps: [],
  prodWrites: null,
  summary: 'promote of project p-1: promoted',
};

/** The receiver listens on 127.0.0.1: a worker with NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1 unless `settings` say not. */
const notify = (settings: WebhookSettings, target: { url: string } | { worker: true } = { url: rcv.url }) =>
  new MockActivityEnvironment().run(
    createNotifyActivities({ now: () => NOW, allowPrivateNetwork: true, ...settings }).notify,
    {
      target,
      payload,
    },
  );

const failureOf = async (p: Promise<unknown>): Promise<ApplicationFailure> => {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApplicationFailure);
  return err as ApplicationFailure;
};

describe('signature', () => {
  const body = JSON.stringify(payload);
  const nowSec = NOW / 1000;
  const header = signWebhook(body, SECRET, nowSec);

  test('verifies with the secret, not with another, not for another body, not once stale', () => {
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSec })).toBe(true);
    expect(verifyWebhookSignature({ body: Buffer.from(body), header, secret: SECRET, nowSec: nowSec + 299 })).toBe(
      true,
    );
    expect(verifyWebhookSignature({ body, header, secret: `${SECRET}x`, nowSec })).toBe(false);
    expect(verifyWebhookSignature({ body: body.replace('promoted', 'aborted'), header, secret: SECRET, nowSec })).toBe(
      false,
    );
    expect(verifyWebhookSignature({ body, header, secret: SECRET, nowSec: nowSec + 301 })).toBe(false);
    // A timestamp moved forward does not keep an old signature fresh: the timestamp is signed.
    expect(
      verifyWebhookSignature({
        body,
        header: header.replace(`t=${nowSec}`, `t=${nowSec + 600}`),
        secret: SECRET,
        nowSec: nowSec + 600,
      }),
    ).toBe(false);
    expect(verifyWebhookSignature({ body, header: undefined, secret: SECRET, nowSec })).toBe(false);
    expect(verifyWebhookSignature({ body, header: 'garbage', secret: SECRET, nowSec })).toBe(false);
  });
});

describe('notify activity', () => {
  test('POSTs the payload as JSON with event, delivery and a signature of the exact body', async () => {
    await expect(notify({ secret: SECRET })).resolves.toEqual({ status: 200 });
    const [d] = rcv.requests;
    expect(JSON.parse(d!.body)).toEqual(payload);
    expect(d!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-neon-promote-event': 'run.finished',
      'x-neon-promote-delivery': payload.deliveryId,
    });
    const header = d!.headers['x-neon-promote-signature'];
    expect(verifyWebhookSignature({ body: d!.body, header, secret: SECRET, nowSec: NOW / 1000 })).toBe(true);
  });

  test("a run without a URL of its own goes to the worker's", async () => {
    await notify({ secret: SECRET, url: rcv.url }, { worker: true });
    expect(rcv.requests).toHaveLength(1);
  });

  test('429 and 503 are retried after Retry-After; other 5xx and 408 are retried; other 4xx are rejected', async () => {
    rcv.answer = () => ({ status: 429, headers: { 'retry-after': '7' } });
    expect(await failureOf(notify({ secret: SECRET }))).toMatchObject({
      type: 'WebhookUnavailable',
      nonRetryable: false,
      nextRetryDelay: 7000,
    });
    rcv.answer = () => ({ status: 503, headers: { 'retry-after': '2' } });
    expect(await failureOf(notify({ secret: SECRET }))).toMatchObject({
      type: 'WebhookUnavailable',
      nextRetryDelay: 2000,
    });
    for (const status of [500, 502, 408]) {
      rcv.answer = () => ({ status });
      expect(await failureOf(notify({ secret: SECRET }))).toMatchObject({
        type: 'WebhookUnavailable',
        nonRetryable: false,
      });
    }
    for (const status of [400, 401, 404, 410]) {
      rcv.answer = () => ({ status });
      expect(await failureOf(notify({ secret: SECRET }))).toMatchObject({
        type: 'WebhookRejected',
        nonRetryable: true,
      });
    }
  });

  test('a socket error is retryable and its message names only the origin', async () => {
    const url = 'http://127.0.0.1:1/services/T000/B000/tokenpart';
    const f = await failureOf(notify({ secret: SECRET }, { url }));
    expect(f).toMatchObject({ type: 'WebhookUnavailable', nonRetryable: false });
    expect(f.message).toContain('127.0.0.1:1');
    expect(f.message).not.toContain('tokenpart');
  });

  test('by default a webhook at a loopback or link-local address is rejected without a request', async () => {
    const port = new URL(rcv.url).port;
    for (const url of [rcv.url, `http://localhost:${port}/hooks/neon`, 'http://169.254.169.254/latest/meta-data/']) {
      const f = await failureOf(notify({ secret: SECRET, allowPrivateNetwork: false }, { url }));
      expect(f).toMatchObject({ type: 'WebhookRejected', nonRetryable: true });
      expect(f.message).toContain('loopback, private or link-local');
    }
    expect(rcv.requests).toHaveLength(0);
  });

  test('without a secret (or a worker URL when needed) nothing is sent, and retrying would not help', async () => {
    expect(await failureOf(notify({}))).toMatchObject({ type: 'WebhookNotConfigured', nonRetryable: true });
    expect(await failureOf(notify({ secret: SECRET }, { worker: true }))).toMatchObject({
      type: 'WebhookNotConfigured',
    });
    expect(rcv.requests).toHaveLength(0);
  });

  test('Retry-After as seconds or a date, capped at 10 minutes', () => {
    expect(retryAfterMs('3', NOW)).toBe(3000);
    expect(retryAfterMs(new Date(NOW + 20_000).toUTCString(), NOW)).toBe(20_000);
    expect(retryAfterMs('86400', NOW)).toBe(600_000);
    expect(retryAfterMs('soon', NOW)).toBeUndefined();
  });

  test('worker settings: a URL without a secret is refused at start-up', () => {
    expect(() => webhookSettingsFromEnv({ NEON_PROMOTE_WEBHOOK_URL: 'https://hooks.example.com/x' })).toThrow(
      /NEON_PROMOTE_WEBHOOK_SECRET/,
    );
    expect(webhookSettingsFromEnv({ NEON_PROMOTE_WEBHOOK_SECRET: SECRET })).toEqual({
      url: undefined,
      secret: SECRET,
      allowPrivateNetwork: false,
    });
  });

  test('worker settings: NEON_PROMOTE_ALLOW_PRIVATE_HTTP is 1 or 0, anything else is refused at start-up', () => {
    expect(webhookSettingsFromEnv({ NEON_PROMOTE_ALLOW_PRIVATE_HTTP: '1' }).allowPrivateNetwork).toBe(true);
    expect(webhookSettingsFromEnv({ NEON_PROMOTE_ALLOW_PRIVATE_HTTP: '0' }).allowPrivateNetwork).toBe(false);
    expect(() => webhookSettingsFromEnv({ NEON_PROMOTE_ALLOW_PRIVATE_HTTP: 'yes' })).toThrow(/expected 1 or 0/);
  });
});

describe('notify input', () => {
  const ok = (url: string) => promoteInput().safeParse({ projectId: 'p-1', notify: { url } }).success;
  test('https anywhere, http to localhost only, never a user or password in the URL', () => {
    expect(ok('https://hooks.example.com/neon?x=1')).toBe(true);
    expect(ok('http://localhost:8080/hook')).toBe(true);
    expect(ok('http://127.0.0.1:8080/hook')).toBe(true);
    expect(ok('http://hooks.example.com/hook')).toBe(false);
    expect(ok('https://user:pw@hooks.example.com/hook')).toBe(false);
    expect(ok('ftp://hooks.example.com/hook')).toBe(false);
    expect(ok('not a url')).toBe(false);
    expect(setupInput().safeParse({ projectId: 'p-1', notify: {} }).success).toBe(false);
    expect(setupInput().safeParse({ projectId: 'p-1' }).success).toBe(true);
  });
});
