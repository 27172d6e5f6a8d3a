/**
 * Temporal settings as Temporal's CLI reads them: a profile of a temporal.toml with the TEMPORAL_* variables over it,
 * and the CLI's --profile, --config-file, --address and --namespace over both.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { temporalSettingsFromEnv } from '../../src/temporal/connection';
import { runCli } from '../support/cli';
import { freePort } from '../support/ports';

let dir: string;
let home: string;
let file: string;
let nowhere: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'neon-promote-envconfig-'));
  home = path.join(dir, 'home');
  mkdirSync(home);
  nowhere = `127.0.0.1:${await freePort()}`;
  file = path.join(dir, 'temporal.toml');
  writeFileSync(
    file,
    `[profile.default]
address = "${nowhere}"
namespace = "ns-default"

[profile.test]
address = "${process.env.TEMPORAL_TEST_ADDRESS}"
namespace = "${process.env.TEMPORAL_TEST_NAMESPACE}"

[profile.cloud]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "cloud-key"
`,
  );
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The settings from these variables alone (HOME is an empty folder: no user's temporal.toml). */
const settings = (env: Record<string, string>) => temporalSettingsFromEnv({ HOME: home, ...env });

describe('the loader', () => {
  test('without any setting: localhost:7233, namespace default, no TLS', () => {
    expect(settings({})).toEqual({ address: 'localhost:7233', namespace: 'default' });
  });

  test('TEMPORAL_PROFILE selects a profile of TEMPORAL_CONFIG_FILE; without it the default profile', () => {
    expect(settings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud' })).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      namespace: 'ns.acct',
      apiKey: 'cloud-key',
      tls: true,
    });
    expect(settings({ TEMPORAL_CONFIG_FILE: file })).toEqual({ address: nowhere, namespace: 'ns-default' });
  });

  test("the user's temporal.toml is read when TEMPORAL_CONFIG_FILE is not set", () => {
    const user = path.join(dir, 'user');
    mkdirSync(path.join(user, '.config', 'temporalio'), { recursive: true });
    writeFileSync(path.join(user, '.config', 'temporalio', 'temporal.toml'), '[profile.default]\nnamespace = "mine"\n');
    expect(temporalSettingsFromEnv({ HOME: user })).toEqual({ address: 'localhost:7233', namespace: 'mine' });
  });

  test('variables are over the profile; an empty one counts as unset', () => {
    const env = { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'cloud', TEMPORAL_NAMESPACE: '' };
    expect(settings({ ...env, TEMPORAL_ADDRESS: 'other:7233', TEMPORAL_API_KEY: 'env-key' })).toMatchObject({
      address: 'other:7233',
      namespace: 'ns.acct',
      apiKey: 'env-key',
    });
  });

  test('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (the names README gave) still give the client certificate', () => {
    const cert = path.join(dir, 'client.pem');
    const key = path.join(dir, 'client.key');
    writeFileSync(cert, 'CERT');
    writeFileSync(key, 'KEY');
    const { tls } = settings({ TEMPORAL_TLS_CERT: cert, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_SERVER_NAME: 'srv' });
    expect(tls).toMatchObject({
      clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
      serverNameOverride: 'srv',
    });
    expect(() => settings({ TEMPORAL_TLS_CERT: cert })).toThrow(/certificate and its key/);
  });

  test('an unknown profile, a missing file or bad TOML is an error that quotes no secret', () => {
    expect(() => settings({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nope' })).toThrow(/'nope' not found/);
    const missing = path.join(dir, 'missing.toml');
    expect(() => settings({ TEMPORAL_CONFIG_FILE: missing })).toThrow(`${missing} does not exist`);
    const bad = path.join(dir, 'bad.toml');
    writeFileSync(bad, '[profile.default]\napi_key = "s3cret-key\n');
    expect(() => settings({ TEMPORAL_CONFIG_FILE: bad })).toThrow(/not valid TOML \(line 2/);
    expect(() => settings({ TEMPORAL_CONFIG_FILE: bad })).not.toThrow(/s3cret/);
  });
});

describe('the CLI', () => {
  /** The CLI with the profile file and none of the TEMPORAL_* variables the jest run may have. */
  const cli = (...args: string[]) =>
    runCli({ HOME: home, TEMPORAL_CONFIG_FILE: file, TEMPORAL_ADDRESS: undefined, TEMPORAL_NAMESPACE: undefined }, [
      ...args,
      'runs',
      '--project',
      'p-1',
      '--json',
    ]);

  test('--profile selects the Temporal server and namespace of the profile', async () => {
    const reached = await cli('--profile', 'test');
    expect(reached).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(reached.stdout)).toEqual([]);
    // The default profile names an address where nothing listens.
    const unreached = await cli();
    expect(unreached.code).toBe(1);
    expect(unreached.stderr).toContain(`cannot reach Temporal at ${nowhere}`);
  });

  test('--address and --namespace are over the profile; an unknown profile is invalid input', async () => {
    expect(
      await cli('--address', process.env.TEMPORAL_TEST_ADDRESS!, '--namespace', process.env.TEMPORAL_TEST_NAMESPACE!),
    ).toMatchObject({
      code: 0,
    });
    const other = await cli('--profile', 'test', '--namespace', 'no-such-namespace');
    expect(other.code).toBe(1);
    expect(other.stderr).toContain('no-such-namespace');
    expect(await cli('--profile', 'nope')).toMatchObject({ code: 2, stdout: '' });
  });
});
