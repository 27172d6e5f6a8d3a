/**
 * A write session whose connection goes silent (packets dropped: no error, no answer) ends on the client's own bound,
 * as a retryable DatabaseUnreachable, and ends at once when its activity is cancelled. The silence is made by a TCP
 * relay in front of the branch's Postgres that stops relaying when told.
 */
import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { pgConnector } from '../../../../src/activities/database/connect';
import { withBranch } from '../../../../src/activities/database/writes/session';
import { callOptions } from '../../../../src/activities/failures';
import { createNeonClient, RateBudget } from '../../../../src/neon';
import { type Harness, startHarness } from '../../../support/activity-harness';
import { type Prod, seedProd } from '../../../support/activity-prod';
import { fileLogger } from '../../../support/runtime-log';
import { currentTestLog } from '../../../support/test-logs';

let h: Harness;
let prod: Prod;
let relay: Relay;

/** Relays TCP to one host and port until `silence()`; after it, neither side hears from the other. */
type Relay = { host: string; port: number; silence(): void; speak(): void; close(): Promise<void> };

async function startRelay(to: { host: string; port: number }): Promise<Relay> {
  let silent = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(to.port, to.host);
    for (const [from, into] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(from);
      from.on('data', (chunk) => void (silent || into.write(chunk)));
      from.on('error', () => into.destroy());
      from.on('close', () => into.destroy());
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    host: '127.0.0.1',
    port: (server.address() as AddressInfo).port,
    silence: () => void (silent = true),
    speak: () => void (silent = false),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

beforeAll(async () => {
  h = await startHarness({ mode: 'data' });
  prod = await seedProd(h, 3);
  const uri = new URL(prod.connectionUri);
  relay = await startRelay({ host: uri.hostname, port: Number(uri.port) });
}, 120_000);
afterEach(() => relay.speak());
afterAll(async () => {
  await relay?.close();
  await h?.stop();
});

/** The session's dependencies, with every connection going through the relay. */
const deps = () => ({
  neon: createNeonClient({ baseUrl: h.emu.baseUrl, apiKey: h.emu.apiKey, rateBudget: new RateBudget() }),
  db: ((uri, options) => {
    const relayed = new URL(uri);
    relayed.hostname = relay.host;
    relayed.port = String(relay.port);
    return pgConnector(relayed.toString(), options);
  }) satisfies typeof pgConnector,
});
const target = () => ({ ...prod.where, branchId: prod.branchId });
const activityEnvironment = () => new MockActivityEnvironment({}, { logger: fileLogger(currentTestLog()) });

/**
 * Runs, in `env`, a write session that answers one query, goes silent, and asks again; resolves with what the
 * activity threw. `sent` resolves once the unanswered query is on its way.
 */
function queryGoneSilent(
  env: MockActivityEnvironment,
  timeouts: { statementTimeoutMs: number; lockTimeoutMs: number },
) {
  let inFlight: () => void = () => undefined;
  const sent = new Promise<void>((r) => (inFlight = r));
  const ended = env
    .run(() =>
      withBranch(
        deps(),
        target(),
        callOptions(),
        async (session) => {
          await session.query('SELECT 1');
          relay.silence();
          const answer = session.query('SELECT 1');
          inFlight();
          return answer;
        },
        { sqlFailure: 'DetectionFailed', ...timeouts },
      ),
    )
    .catch((e: unknown) => e);
  return { sent, ended };
}

test('a query on a connection gone silent fails on the client bound as a retryable DatabaseUnreachable', async () => {
  const err = await queryGoneSilent(activityEnvironment(), { statementTimeoutMs: 1_000, lockTimeoutMs: 100 }).ended;
  expect(err).toMatchObject({ type: 'DatabaseUnreachable', nonRetryable: false });
  expect((err as Error).message).toContain(`lost the connection to branch ${prod.branchId}`);
}, 60_000);

test('a cancelled activity ends its session: the query in flight on a silent connection fails at once', async () => {
  const env = activityEnvironment();
  // Bounds far beyond the test's timeout: only the cancellation can end this query in time.
  const { sent, ended } = queryGoneSilent(env, { statementTimeoutMs: 600_000, lockTimeoutMs: 600_000 });
  await sent;
  env.cancel('CANCELLED');
  expect(await ended).toBeInstanceOf(CancelledFailure);
}, 30_000);

test('a cancelled activity whose session is still opening ends at once, as a worker shutting down needs', async () => {
  const env = activityEnvironment();
  // The relay takes the connection but passes nothing on: the session stays in its start-up until cancelled.
  relay.silence();
  const ended = env
    .run(() =>
      withBranch(deps(), target(), callOptions(), () => Promise.resolve('opened'), { sqlFailure: 'FenceFailed' }),
    )
    .catch((e: unknown) => e);
  await new Promise((resolve) => setTimeout(resolve, 300));
  env.cancel('WORKER_SHUTDOWN');
  expect(await ended).toBeInstanceOf(CancelledFailure);
}, 30_000);

test('a Neon API error inside a session keeps its own retry rules: it is no SQL error to give up on', async () => {
  // A nested session (withBranches) looks up its branch's connection string while the first is open: a 503 there
  // carries a `code` too, but no SQLSTATE.
  h.emu.setFaults({
    rules: [{ kind: 'error', status: 503, route: 'GET /projects/{project_id}/branches/{branch_id}' }],
  });
  try {
    const neon = deps().neon;
    const err = await activityEnvironment()
      .run(() =>
        withBranch(deps(), target(), callOptions(), () => neon.getBranch(prod.where.projectId, prod.branchId), {
          sqlFailure: 'DetectionFailed',
        }),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, retryable: true });
    expect(err).not.toMatchObject({ type: 'DetectionFailed' });
  } finally {
    h.emu.setFaults({ rules: [] });
  }
}, 30_000);
