import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHealthActivities } from '../../src/activities/health';
import { createNotifyActivities, type WebhookSettings } from '../../src/activities/notify/deliver';
import { NeonPromoteClient } from '../../src/client';
import { startEmulator, type Emulator } from '../../tools/emulator';
import { createWorker, WORKFLOW_BUNDLE_OPTIONS, WORKFLOW_INTERCEPTOR_MODULES } from '../../src/worker';
import type { RunFinishedPayload } from '../../src/workflows/contract/notify';
import { connectTestTemporal, type TestTemporal } from './temporal';
import { neonActivities } from './workflow-stack';

export const SECRET = 'whsec-test-0123456789abcdef';

export type Delivery = { status: number; headers: IncomingHttpHeaders; body: string };

/** A webhook receiver on 127.0.0.1 that answers with `answer()` (200 by default) and records every request. */
export type Receiver = {
  url: string;
  requests: Delivery[];
  /** The accepted (2xx) deliveries, parsed. */
  accepted(): RunFinishedPayload[];
  answer: (req: Delivery) => { status: number; headers?: Record<string, string> };
  close(): Promise<void>;
};

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    requests: [],
    accepted: () => r.requests.filter((d) => d.status < 300).map((d) => JSON.parse(d.body) as RunFinishedPayload),
    answer: () => ({ status: 200 }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const d: Delivery = { status: 0, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const a = r.answer(d);
      d.status = a.status;
      r.requests.push(d);
      res.writeHead(a.status, a.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/neon`;
  return r;
}

export type NotifyStack = {
  t: TestTemporal;
  emu: Emulator;
  client: NeonPromoteClient;
  /** A worker running the production bundle (workflows and their interceptors) with these webhook settings. */
  worker(webhook: WebhookSettings): Promise<Worker>;
  stop(): Promise<void>;
};

export async function startNotifyStack(testFile: string): Promise<NotifyStack> {
  const [t, emu, bundle] = await Promise.all([
    connectTestTemporal(testFile),
    startEmulator({ port: 0, operationDelayMs: { min: 5, max: 20 } }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      workflowInterceptorModules: WORKFLOW_INTERCEPTOR_MODULES,
      ...WORKFLOW_BUNDLE_OPTIONS,
      logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
    }),
  ]);
  const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: t.taskQueue });
  return {
    t,
    emu,
    client,
    worker: (webhook) =>
      createWorker({
        connection: t.nativeConnection,
        taskQueue: t.taskQueue,
        workflowBundle: bundle,
        activities: { ...createHealthActivities(), ...neonActivities(emu), ...createNotifyActivities(webhook) },
      }),
    async stop() {
      await emu.stop();
      await t.close();
    },
  };
}

/** Polls until `fn` returns a value (not undefined), for at most `ms`. */
export async function eventually<T>(fn: () => T | undefined, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
