import { parseArgs } from 'node:util';
import { isPlan } from './plans';
import { FaultConfigSchema } from './server';
import { startEmulator, type EmulatorOptions, type FaultRule } from './index';

const usage = `npm run emulator -- [options]: a local Neon API v2 backed by real Postgres

  --port N             HTTP port (0 = any free port; default 0)
  --host H             bind address (default 127.0.0.1)
  --api-key K          API key (default: generated, kept in the data dir)
  --data-dir D         state and embedded Postgres (default: a temp dir removed on exit)
  --pg-url URL         use this Postgres server (superuser URL) instead of an embedded one
                       (shareable: this emulator's databases and roles carry its tag from the state;
                       without --data-dir they are dropped on exit)
  --memory             control plane only, no Postgres
  --plan free|launch|scale  Neon plan whose limits apply (default scale; see README "Limits")
  --snapshot-quota N   manual snapshots per project, over the plan's (free 1, launch and scale 100;
                       10 gives the paid plans' figure of Neon's earlier docs)
  --root-branch-limit N  root branches per project, over the plan's (free 3, launch 5, scale 25)
  --default-on-finalize moves|stays  whether a finalized restore takes the default flag (default moves)
  --root-on-finalize moves|stays  whether a finalized restore of the project's root becomes the root, leaving
                       the replaced branch deletable (default moves); Neon documents neither
  --detaching-ms MS    how long a finalized restore reads restore_status detaching (default 1000)
  --branch-page-size N  most branches per page of the branch list (default 10000)
  --op-delay MS|MIN-MAX  operation duration (default 50-150)
  --faults JSON        fault rules, e.g. '{"rules":[{"kind":"error","rate":0.1}]}'
  --error-rate R  --rate-limit-rate R  --latency-ms MS  --fail-op-rate R  --lost-rate R  --locked-burst N
  --cancel-op-rate R  --skip-op-rate R  --op-error-rate R
  --verbose            log Postgres and proxy lines`;

function rules(v: Record<string, string | boolean | undefined>): FaultRule[] {
  const num = (k: string): number | undefined => (typeof v[k] === 'string' ? Number(v[k]) : undefined);
  const out: FaultRule[] = [];
  if (num('error-rate')) out.push({ kind: 'error', rate: num('error-rate') });
  if (num('rate-limit-rate')) out.push({ kind: 'rate_limit', rate: num('rate-limit-rate') });
  if (num('latency-ms')) out.push({ kind: 'latency', latencyMs: num('latency-ms') });
  if (num('fail-op-rate')) out.push({ kind: 'fail_operation', rate: num('fail-op-rate') });
  if (num('cancel-op-rate')) out.push({ kind: 'cancel_operation', rate: num('cancel-op-rate') });
  if (num('skip-op-rate')) out.push({ kind: 'skip_operation', rate: num('skip-op-rate') });
  if (num('op-error-rate')) out.push({ kind: 'operation_error', rate: num('op-error-rate') });
  if (num('lost-rate')) out.push({ kind: 'response_lost', rate: num('lost-rate') });
  if (num('locked-burst')) out.push({ kind: 'locked', times: num('locked-burst') });
  return out;
}

async function main(): Promise<void> {
  const str = { type: 'string' } as const;
  const { values: v } = parseArgs({
    options: {
      port: str,
      host: str,
      'api-key': str,
      'data-dir': str,
      'pg-url': str,
      memory: { type: 'boolean' },
      plan: str,
      'snapshot-quota': str,
      'root-branch-limit': str,
      'default-on-finalize': str,
      'root-on-finalize': str,
      'detaching-ms': str,
      'branch-page-size': str,
      'op-delay': str,
      faults: str,
      'error-rate': str,
      'rate-limit-rate': str,
      'latency-ms': str,
      'fail-op-rate': str,
      'cancel-op-rate': str,
      'skip-op-rate': str,
      'op-error-rate': str,
      'lost-rate': str,
      'locked-burst': str,
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (v.help) return void process.stdout.write(usage + '\n');
  if (v.plan !== undefined && !isPlan(v.plan)) {
    process.stderr.write(`neon-emulator: --plan must be free, launch or scale, not "${v.plan}"\n`);
    process.exitCode = 2;
    return;
  }
  for (const flag of ['default-on-finalize', 'root-on-finalize'] as const) {
    const rule = v[flag];
    if (rule !== undefined && rule !== 'moves' && rule !== 'stays') {
      process.stderr.write(`neon-emulator: --${flag} must be moves or stays, not "${rule}"\n`);
      process.exitCode = 2;
      return;
    }
  }
  const delay = v['op-delay']?.split('-').map(Number);
  const faults = v.faults ? FaultConfigSchema.parse(JSON.parse(v.faults)) : { rules: [] };
  faults.rules.push(...rules(v));
  const opts: EmulatorOptions = {
    port: Number(v.port ?? 0),
    host: v.host,
    apiKey: v['api-key'] ?? process.env.NEON_EMULATOR_API_KEY,
    dataDir: v['data-dir'],
    pgUrl: v['pg-url'],
    mode: v.memory ? 'memory' : 'data',
    plan: v.plan,
    snapshotQuota: v['snapshot-quota'] ? Number(v['snapshot-quota']) : undefined,
    rootBranchLimit: v['root-branch-limit'] ? Number(v['root-branch-limit']) : undefined,
    defaultOnFinalize: v['default-on-finalize'] as EmulatorOptions['defaultOnFinalize'],
    rootOnFinalize: v['root-on-finalize'] as EmulatorOptions['rootOnFinalize'],
    detachingMs: v['detaching-ms'] ? { afterFinalize: Number(v['detaching-ms']) } : undefined,
    branchPageSize: v['branch-page-size'] ? Number(v['branch-page-size']) : undefined,
    operationDelayMs: delay ? (delay.length === 2 ? { min: delay[0]!, max: delay[1]! } : delay[0]) : undefined,
    faults,
    log: (line) => {
      if (v.verbose || !line.startsWith('[pg]')) process.stderr.write(line + '\n');
    },
  };
  const emu = await startEmulator(opts);
  // Machine-readable first lines: scripts read the URL and key from here.
  process.stdout.write(
    `NEON_API_BASE_URL=${emu.baseUrl}\nNEON_API_KEY=${emu.apiKey}\nNEON_EMULATOR_ADMIN_URL=${emu.adminUrl}\n`,
  );
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`neon-emulator: ${signal}, stopping\n`);
    emu.stop().then(
      () => process.exit(0),
      (err: Error) => (process.stderr.write(`${err.message}\n`), process.exit(1)),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`neon-emulator: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
