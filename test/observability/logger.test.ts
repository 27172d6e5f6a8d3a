import { Writable } from 'node:stream';
import { createLogger, temporalLogger } from '../../src/observability/logger';
import { metricsSettingsFromEnv } from '../../src/worker/runtime';
import { prettyStream } from '../../src/observability/pretty';
import { scrubText, scrubValue } from '../../src/observability/scrub';

function capture(): { lines: string[]; write(line: string): void } {
  const lines: string[] = [];
  return { lines, write: (line: string) => void lines.push(line) };
}

test('secrets are scrubbed from messages, fields and errors: connection-string passwords, Bearer tokens, API keys', () => {
  const out = capture();
  const logger = createLogger({ format: 'json', destination: out, secrets: ['napi_0123456789abcdef'] });
  const uri = 'postgresql://neondb_owner:s3cr3t-pw@ep-x.local:5432/neondb';
  logger.warn({ uri, password: 'hunter22', headers: { authorization: 'Bearer abc.def' } }, `cannot reach ${uri}`);
  logger.error({ err: new Error(`key napi_0123456789abcdef refused for ${uri}`) }, 'failed');
  temporalLogger(logger).info('from the SDK', { detail: 'Bearer xyz123', workflowId: 'wf-1' });
  const text = out.lines.join('');
  for (const secret of ['s3cr3t-pw', 'hunter22', 'abc.def', 'napi_0123456789abcdef', 'xyz123']) {
    expect(text).not.toContain(secret);
  }
  const records = out.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(String(records[0]?.msg)).toContain('neondb_owner:[redacted]@ep-x.local');
  expect(records[2]).toMatchObject({ level: 30, msg: 'from the SDK', workflowId: 'wf-1' });
});

test('a record nested past the depth bound is blanked below it, not passed through', () => {
  let record: Record<string, unknown> = { password: 'hunter22', note: 'postgresql://owner:deep-pw@ep-x.local/db' };
  for (let level = 0; level < 10; level++) record = { level: record };
  const text = JSON.stringify(scrubValue(record));
  expect(text).not.toContain('hunter22');
  expect(text).not.toContain('deep-pw');
  expect(text).toContain('[redacted]');
});

test('key=value connection strings have their password scrubbed, quoted or not', () => {
  expect(scrubText('host=ep-x.local password=s3cr3t-pw user=owner dbname=neondb')).toBe(
    'host=ep-x.local password=[redacted] user=owner dbname=neondb',
  );
  expect(scrubText("cannot connect: host=ep-x.local password='a b\\'c' user=owner")).toBe(
    'cannot connect: host=ep-x.local password=[redacted] user=owner',
  );
  expect(scrubText('PGPASSWORD=s3cr3t-pw psql')).toBe('PGPASSWORD=[redacted] psql');
});

test('Bearer tokens are scrubbed whatever the case of the scheme', () => {
  expect(scrubText('Authorization: bearer abc.def')).toBe('Authorization: bearer [redacted]');
  expect(scrubText('BEARER xyz123')).toBe('BEARER [redacted]');
});

test('fields named like secrets are blanked whatever their type; booleans saying one is set stay', () => {
  const scrubbed = scrubValue({
    password: 12345678,
    apiKey: { primary: 'napi_abc', rotated: ['napi_def'] },
    tokens: ['tok_1', 'tok_2'],
    passwordSet: true,
  });
  expect(scrubbed).toEqual({ password: '[redacted]', apiKey: '[redacted]', tokens: '[redacted]', passwordSet: true });
});

test('the pretty format prints one readable line per record with the IDs first', () => {
  const chunks: string[] = [];
  const sink = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
  const logger = createLogger({ format: 'pretty', destination: prettyStream(sink) });
  logger.info({ outcome: 'promoted', projectId: 'p-1', workflowId: 'wf-1' }, 'run finished');
  // eslint-disable-next-line no-control-regex -- colours are part of the line on a terminal
  const plain = chunks.join('').replace(/\x1b\[[0-9;]*m/g, '');
  expect(plain).toMatch(
    /^\d\d:\d\d:\d\d\.\d{3} INFO {2}run finished {2}workflowId=wf-1 projectId=p-1 outcome=promoted\n$/,
  );
});

test('metrics are off unless NEON_PROMOTE_METRICS_PORT is set; the host defaults to loopback', () => {
  expect(metricsSettingsFromEnv({})).toBeUndefined();
  expect(metricsSettingsFromEnv({ NEON_PROMOTE_METRICS_PORT: '9464' })).toEqual({ bindAddress: '127.0.0.1:9464' });
  expect(metricsSettingsFromEnv({ NEON_PROMOTE_METRICS_PORT: '9464', NEON_PROMOTE_METRICS_HOST: '0.0.0.0' })).toEqual({
    bindAddress: '0.0.0.0:9464',
  });
  expect(() => metricsSettingsFromEnv({ NEON_PROMOTE_METRICS_PORT: 'abc' })).toThrow(/port number/);
});
