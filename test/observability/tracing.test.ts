/**
 * One promotion is one trace: the client's call, the project's coordinator, the promote workflow, its activities and
 * each Neon request, linked parent to child across processes' worth of Temporal headers, and no span holds the API
 * key or a database password. Spans go to an in-memory exporter through startTracing's provider, against the real
 * dev server and the emulator.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Client } from '@temporalio/client';
import { createHealthActivities } from '../../src/activities/health';
import { NeonPromoteClient } from '../../src/client';
import { startTracing, tracingClientInterceptors, type Tracing } from '../../src/observability/tracing';
import { createWorker } from '../../src/worker';
import { coordinatorWorkflowId } from '../../src/workflows/contract/definitions';
import { uriOf } from '../support/emulator-api';
import { neonActivities, projectWithChange, startStack, type Stack } from '../support/workflow-stack';

const exporter = new InMemorySpanExporter();
let s: Stack;
let tracing: Tracing;
let client: NeonPromoteClient;

beforeAll(async () => {
  tracing = await startTracing({ serviceName: 'neon-promote-test', exporters: [exporter] });
  s = await startStack(__filename);
  const interceptors = { workflow: await tracingClientInterceptors() };
  const temporal = new Client({ connection: s.t.client.connection, namespace: s.t.namespace, interceptors });
  client = await NeonPromoteClient.connect({ client: temporal, taskQueue: s.t.taskQueue });
});
afterAll(async () => {
  await s?.stop();
  await tracing?.shutdown();
});

/** The span's ancestors in the exported set, nearest first; the chain stops where a parent was not exported. */
function ancestorsOf(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const byId = new Map(spans.map((each) => [each.spanContext().spanId, each]));
  const chain: ReadableSpan[] = [];
  for (let parent = byId.get(span.parentSpanId ?? ''); parent; parent = byId.get(parent.parentSpanId ?? '')) {
    chain.push(parent);
  }
  return chain;
}

const names = (spans: ReadableSpan[]) => spans.map((span) => span.name);

test('a promotion is one trace from the client start through the workflows and activities to the Neon requests', async () => {
  const worker = await createWorker({
    connection: s.t.nativeConnection,
    taskQueue: s.t.taskQueue,
    workflowBundle: s.bundle,
    activities: { ...createHealthActivities(), ...neonActivities(s.emu) },
    tracing,
  });
  const { project, passwords } = await worker.runUntil(async () => {
    const project = await projectWithChange({ emu: s.emu, client });
    await tracing.flush();
    exporter.reset();
    const result = await (await client.startPromotion({ projectId: project.projectId })).result();
    expect(result.outcome).toBe('promoted');
    const uris = [project.connectionUri, await uriOf(s.emu, project, 'prod'), await uriOf(s.emu, project, 'dev')];
    return { project, passwords: [...new Set(uris.map((uri) => decodeURIComponent(new URL(uri).password)))] };
  });
  await tracing.flush();
  const spans = exporter.getFinishedSpans();

  // The client's update-with-start is the root; the promotion runs as a child the coordinator starts in the update.
  const runPromote = spans.find((span) => span.name === 'RunWorkflow:promote');
  expect(runPromote).toBeDefined();
  const promoteChain = ancestorsOf(runPromote!, spans);
  expect(names(promoteChain)).toEqual([
    'StartChildWorkflow:promote',
    'HandleUpdate:submit',
    'UpdateWithStartWorkflow:submit',
  ]);
  const root = promoteChain.at(-1)!;
  expect(root.parentSpanId).toBeUndefined();
  expect(root.attributes.temporalWorkflowId).toBe(coordinatorWorkflowId(project.projectId));

  // Every Neon request: a client span named by its route template. The promotion's own are under its activities; the
  // coordinator's own work after the run (it lifts the run's fence) is in the trace that started the coordinator.
  const neon = spans.filter((span) => typeof span.attributes['http.route'] === 'string');
  for (const span of neon) {
    const { 'http.request.method': method, 'http.route': route, 'http.response.status_code': status } = span.attributes;
    expect(span.name).toBe(`${String(method)} ${String(route)}`);
    expect(route).toMatch(/^\/projects(\/|$)/);
    expect(route).not.toContain(project.projectId);
    // A request answered has its status; one that was not (cancelled with its activity, a socket error) says why.
    if (status === undefined) expect(span.attributes['error.type']).toEqual(expect.any(String));
    else expect(status).toEqual(expect.any(Number));
    expect(span.attributes['neon.request_id']).toEqual(expect.any(String));
  }
  const ofPromotion = neon.filter((span) => span.spanContext().traceId === root.spanContext().traceId);
  expect(ofPromotion.length).toBeGreaterThan(5);
  for (const span of ofPromotion) {
    expect(ancestorsOf(span, spans)).toContain(runPromote);
    expect(span.attributes['http.response.status_code']).toEqual(expect.any(Number));
  }
  const snapshot = ofPromotion.find(
    (span) => span.attributes['http.route'] === '/projects/{project_id}/branches/{branch_id}/snapshot',
  );
  expect(snapshot?.attributes['http.response.status_code']).toBeGreaterThanOrEqual(200);
  expect(snapshot?.attributes['http.response.status_code']).toBeLessThan(300);
  const chain = names(ancestorsOf(snapshot!, spans));
  expect(chain[0]).toMatch(/^RunActivity:/);
  expect(chain[1]).toBe(chain[0]!.replace('RunActivity:', 'StartActivity:'));
  expect(chain.slice(2)).toEqual(['RunWorkflow:promote', ...names(promoteChain)]);

  // Nothing secret anywhere in a span: names, attributes, events, status messages, links.
  const text = JSON.stringify(
    spans.map((span) => ({
      name: span.name,
      attributes: span.attributes,
      events: span.events,
      status: span.status,
      links: span.links,
    })),
  );
  expect(passwords.length).toBeGreaterThan(0);
  for (const secret of [s.emu.apiKey, ...passwords]) expect(text).not.toContain(secret);
  expect(text).not.toMatch(/postgres(ql)?:\/\//);
});

test("a run whose caller did not trace makes no workflow spans (the sandbox loads no OpenTelemetry); a traced caller's does", async () => {
  const worker = await createWorker({
    connection: s.t.nativeConnection,
    taskQueue: s.t.taskQueue,
    workflowBundle: s.bundle,
    activities: createHealthActivities(),
    tracing,
  });
  const untraced = await NeonPromoteClient.connect({ client: s.t.client, taskQueue: s.t.taskQueue });
  await worker.runUntil(async () => {
    await tracing.flush();
    exporter.reset();
    await untraced.healthCheck('untraced', `health-check-untraced-${Date.now()}`);
    await tracing.flush();
    expect(names(exporter.getFinishedSpans()).filter((name) => name.endsWith(':healthCheck'))).toEqual([]);
    await client.healthCheck('traced', `health-check-traced-${Date.now()}`);
  });
  await tracing.flush();
  const spans = exporter.getFinishedSpans();
  const run = spans.find((span) => span.name === 'RunWorkflow:healthCheck');
  expect(run && names(ancestorsOf(run, spans))).toEqual(['StartWorkflow:healthCheck']);
});
