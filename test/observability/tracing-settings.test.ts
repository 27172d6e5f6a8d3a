import { execFile, spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  requireInstalled,
  TRACING_PACKAGES,
  tracingRequested,
  tracingSettingsFromEnv,
} from '../../src/observability/tracing';

const root = join(__dirname, '..', '..');
const ENDPOINT = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' };

test('tracing is off unless the OTEL_* variables ask for it', () => {
  expect(tracingSettingsFromEnv({})).toBeUndefined();
  expect(tracingSettingsFromEnv({ OTEL_SERVICE_NAME: 'svc', OTEL_EXPORTER_OTLP_HEADERS: 'x=1' })).toBeUndefined();
  expect(tracingSettingsFromEnv({ ...ENDPOINT, OTEL_TRACES_EXPORTER: 'none' })).toBeUndefined();
  expect(tracingSettingsFromEnv({ ...ENDPOINT, OTEL_SDK_DISABLED: 'true' })).toBeUndefined();
  expect(tracingRequested({})).toBe(false);
});

test('an OTLP endpoint turns on OTLP over HTTP, protobuf unless the protocol says JSON; an exporter may be named', () => {
  expect(tracingSettingsFromEnv(ENDPOINT)).toEqual({ exporters: ['otlp-proto'] });
  expect(tracingSettingsFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' })).toEqual({
    exporters: ['otlp-proto'],
  });
  expect(tracingSettingsFromEnv({ ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' })).toEqual({
    exporters: ['otlp-json'],
  });
  expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'console' })).toEqual({ exporters: ['console'] });
  expect(tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'otlp, console' })).toEqual({
    exporters: ['otlp-proto', 'console'],
  });
});

test('tracing it cannot do is an error at start, not a silently untraced worker; the client only asks', () => {
  const grpc = { ...ENDPOINT, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' };
  expect(() => tracingSettingsFromEnv(grpc)).toThrow(/grpc is not supported/);
  expect(() => tracingSettingsFromEnv({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/zipkin is not one of/);
  // A service with its own SDK (say over gRPC) still gets its client calls traced.
  expect(tracingRequested(grpc)).toBe(true);
});

/** The @opentelemetry packages in require.cache after node loads the entries and runs `then` (tsx, own process). */
function openTelemetryLoaded(then: string, env: NodeJS.ProcessEnv = {}): string[] {
  const probe = `
    const client = require(${JSON.stringify(join(root, 'src/client.ts'))});
    const worker = require(${JSON.stringify(join(root, 'src/worker.ts'))});
    const neon = require(${JSON.stringify(join(root, 'src/neon/index.ts'))});
    (async () => {
      ${then}
      const packages = Object.keys(require.cache)
        .map((file) => /node_modules\\/(@opentelemetry\\/[^/]+|@temporalio\\/interceptors-opentelemetry)\\//.exec(file)?.[1])
        .filter(Boolean);
      process.stdout.write(JSON.stringify([...new Set(packages)].sort()));
    })();
  `;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
  const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', probe], {
    cwd: root,
    encoding: 'utf8',
    env: { ...clean, ...env },
  });
  if (run.status !== 0) throw new Error(`probe failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

test('off, nothing of OpenTelemetry is loaded: not by the client, the worker or the Neon client', () => {
  const loaded = openTelemetryLoaded(`
    if (await worker.tracingFromEnv(process.env) !== undefined) throw new Error('tracing is on');
    await require(${JSON.stringify(join(root, 'src/worker/tracing.ts'))}).tracingOptions(undefined);
  `);
  expect(loaded).toEqual([]);
});

test('on, the SDK, the OTLP exporter and the interceptors are loaded (the probe sees them)', () => {
  const loaded = openTelemetryLoaded(
    `
    const tracing = await worker.tracingFromEnv(process.env);
    await require(${JSON.stringify(join(root, 'src/index.ts'))}).tracingClientInterceptors();
    await require(${JSON.stringify(join(root, 'src/worker/tracing.ts'))}).tracingOptions(tracing);
    await tracing.shutdown();
  `,
    ENDPOINT,
  );
  expect(loaded).toEqual(
    expect.arrayContaining([
      '@opentelemetry/api',
      '@opentelemetry/sdk-trace-base',
      '@opentelemetry/exporter-trace-otlp-proto',
      '@temporalio/interceptors-opentelemetry',
    ]),
  );
});

/** The requests an OTLP collector on 127.0.0.1 gets while a process of its own traces one span through tracingFromEnv. */
async function collected(env: NodeJS.ProcessEnv): Promise<{ path: string; type: string; body: Buffer }[]> {
  const received: { path: string; type: string; body: Buffer }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const probe = `
    (async () => {
      const tracing = await require(${JSON.stringify(join(root, 'src/worker.ts'))}).tracingFromEnv(process.env, 'probe');
      require('@opentelemetry/api').trace.getTracer('probe').startSpan('probe-span').end();
      await tracing.shutdown();
    })();
  `;
  const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OTEL_')));
  try {
    await promisify(execFile)(process.execPath, ['--import', 'tsx', '-e', probe], {
      cwd: root,
      env: { ...clean, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, ...env },
    });
  } finally {
    server.close();
  }
  return received;
}

test('on, spans go to the OTLP endpoint over HTTP: protobuf by default, JSON when asked', async () => {
  const proto = await collected({});
  expect(proto.map(({ path, type }) => ({ path, type }))).toEqual([
    { path: '/v1/traces', type: 'application/x-protobuf' },
  ]);
  expect(proto[0]!.body.includes('probe-span')).toBe(true);
  const json = await collected({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_SERVICE_NAME: 'probe-service' });
  expect(json.map(({ path, type }) => ({ path, type }))).toEqual([{ path: '/v1/traces', type: 'application/json' }]);
  const text = json[0]!.body.toString('utf8');
  expect(text).toContain('probe-span');
  expect(text).toContain('probe-service');
});

test('optional packages that are not installed are named all at once, with the command that installs them', () => {
  expect(() =>
    requireInstalled(
      ['@opentelemetry/api', '@opentelemetry/nowhere', '@opentelemetry/exporter-trace-otlp-nowhere'],
      'tracing to OTLP over HTTP (protobuf)',
      'or OTEL_TRACES_EXPORTER=none',
    ),
  ).toThrow(
    'tracing to OTLP over HTTP (protobuf) needs optional dependencies of neon-promote that are not installed: ' +
      'npm install @opentelemetry/nowhere@latest @opentelemetry/exporter-trace-otlp-nowhere@latest (or OTEL_TRACES_EXPORTER=none)',
  );
  expect(() => requireInstalled(['@opentelemetry/nowhere'], 'tracing', 'or none')).toThrow(
    'tracing needs an optional dependency of neon-promote that is not installed: npm install @opentelemetry/nowhere@latest (or none)',
  );
  // Installed (development dependencies of the checkout): nothing to say.
  expect(() =>
    requireInstalled([...TRACING_PACKAGES, '@opentelemetry/exporter-trace-otlp-proto'], 'tracing', 'or none'),
  ).not.toThrow();
});
