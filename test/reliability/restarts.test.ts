/**
 * Restarts under a running promotion: the emulator stopped and started again on the same data dir and port (its API
 * key and Postgres proxy port are kept in its state), and a Temporal dev server of this file's own stopped and started
 * again on the same SQLite file. The run continues and finishes as promised, with nothing created twice.
 */
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { NeonPromoteClient } from '../../src/client';
import { startDevServer } from '../../tools/dev/temporal-server';
import { startEmulator, type Emulator, type RequestLogEntry } from '../../tools/emulator';
import { freePort } from '../support/ports';
import { expectServerHistoriesReplay } from '../support/replay-check';
import { bundleProductionWorkflows } from '../support/workflow-bundle';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { killAllCrashWorkers, tempDir, writeBundle } from '../support/crash-worker';
import { creations, notedSecrets, noteSecrets, record, section, shape, startWorker } from '../support/reliability';
import type { Stack } from '../support/workflow-stack';
import { SCENARIOS, dataOf, preparedProject } from '../support/reliability-scenarios';

const sc = SCENARIOS.promote;
/**
 * What one promotion creates at Neon: the candidate's and the rollback snapshot, the fork point's and the candidate's
 * restores with an endpoint each, and the finalize of the swap. Once each: nothing twice.
 */
const CREATIONS = {
  'POST /projects/{project_id}/branches/{branch_id}/snapshot': 2,
  'POST /projects/{project_id}/snapshots/{snapshot_id}/restore': 2,
  'POST /projects/{project_id}/endpoints': 2,
  'POST /projects/{project_id}/branches/{branch_id}/finalize_restore': 1,
};
/** A worker's line as the candidate's restore starts (restore #1 is the fork point's, in prod_writes). */
const restoringCandidate = (line: string) => line.startsWith('START restoreSnapshot#2@');
let dir: string;
let bundlePath: string;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  dir = tempDir('np-rel-restart-');
  bundle = await bundleProductionWorkflows();
  bundlePath = writeBundle(bundle.code);
});
afterAll(async () => {
  await killAllCrashWorkers();
  rmSync(dir, { recursive: true, force: true });
});

/** A Stack on `t` and `emu` (only what scenarios.ts uses). */
const stackOf = (t: Pick<TestTemporal, 'client' | 'nativeConnection' | 'taskQueue'>, emu: Emulator) =>
  ({ t, emu, bundle }) as unknown as Stack;

test('emulator restarted mid-promotion (same data dir and port): the run continues and finishes', async () => {
  await section(
    __filename,
    { section: 'restarts', tried: 'emulator stopped during restore_candidate, started again' },
    async () => {
      const t = await connectTestTemporal(__filename);
      const opts = { port: await freePort(), dataDir: join(dir, 'emu'), operationDelayMs: { min: 200, max: 400 } };
      let emu = await startEmulator(opts);
      const logs: RequestLogEntry[][] = [];
      try {
        await noteSecrets(emu);
        const s = stackOf(t, emu);
        const { p, client } = await preparedProject(s, t.taskQueue, sc);
        const countFile = join(dir, 'count-emu');
        const w = await startWorker({ taskQueue: t.taskQueue, bundlePath, emu, countFile });
        const at = new Promise<void>((r) => w.onLine((l) => restoringCandidate(l) && r()));
        const from = emu.requestLog().length;
        const run = await sc.start(client, p);
        await at;
        logs.push(emu.requestLog().slice(from));
        await emu.stop();
        const down = Date.now();
        await new Promise((r) => setTimeout(r, 3000));
        emu = await startEmulator(opts);
        s.emu = emu;
        const outcome = (await run.result()).outcome;
        logs.push(emu.requestLog());
        await w.kill();
        expect(outcome).toBe(sc.outcome);
        expect(await dataOf(s, p)).toEqual({ prod: sc.prod, dev: sc.dev });
        const made = creations(logs.flat(), p.projectId);
        expect(made).toEqual(CREATIONS);
        // The candidate's snapshot is the fork point now (setup's is gone), next to the rollback snapshot.
        const left = await shape(emu, p.projectId);
        expect(left.snapshots.filter((x) => x.startsWith('np-'))).toEqual(['np-fork', 'np-rollback']);
        record(__filename, {
          section: 'restarts',
          tried: `emulator stopped during restore_candidate (API down ${Math.round((Date.now() - down) / 1000)} s incl. Postgres restart), started on the same data dir and port`,
          count: 1,
          held: `ended ${outcome}; prod = ${sc.prod.join()} data; creations ${JSON.stringify(made).replace(/"/g, '')}; left ${left.branches.join(', ')} / ${left.snapshots.join(', ')}`,
          ok: true,
        });
      } finally {
        await emu.stop();
        await t.close();
      }
    },
  );
}, 300_000);

test('Temporal dev server restarted with its SQLite file kept: the run continues and finishes', async () => {
  await section(
    __filename,
    { section: 'restarts', tried: 'Temporal dev server stopped mid-promotion, started again' },
    async () => {
      const ports = { port: await freePort(), uiPort: await freePort() };
      const dbFilename = join(dir, 'temporal.db');
      const log = () => undefined;
      let server = await startDevServer({ dbFilename, ...ports, log });
      const emu = await startEmulator({ port: 0, operationDelayMs: { min: 300, max: 600 } });
      const connection = await Connection.connect({ address: server.address });
      const nativeConnection = await NativeConnection.connect({ address: server.address });
      try {
        await noteSecrets(emu);
        const t = { client: new Client({ connection }), nativeConnection, taskQueue: 'restart-temporal' };
        const { p } = await preparedProject(stackOf(t, emu), t.taskQueue, sc);
        const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: t.taskQueue });
        const env = {
          taskQueue: t.taskQueue,
          bundlePath,
          emu,
          countFile: join(dir, 'count-t'),
          temporalAddress: server.address,
        };
        let w = await startWorker(env);
        const at = new Promise<void>((r) => w.onLine((l) => restoringCandidate(l) && r()));
        const from = emu.requestLog().length;
        const run = await sc.start(client, p);
        await at;
        await server.stop();
        await new Promise((r) => setTimeout(r, 2000));
        server = await startDevServer({ dbFilename, ...ports, log });
        // The worker rides the outage out if it can; one that gave up is replaced, as a supervisor would.
        const survived = w.proc.exitCode === null && w.proc.signalCode === null;
        if (!survived) w = await startWorker(env);
        const r = (await client.temporal.workflow.getHandle(run.workflowId).result()) as { outcome: string };
        expect(r.outcome).toBe(sc.outcome);
        expect(await dataOf(stackOf(t, emu), p)).toEqual({ prod: sc.prod, dev: sc.dev });
        const made = creations(emu.requestLog().slice(from), p.projectId);
        expect(made).toEqual(CREATIONS);
        // This server's histories go with it: scan them for secrets here.
        const secrets = notedSecrets();
        let histories = 0;
        for await (const wf of t.client.workflow.list()) {
          const text = JSON.stringify(await t.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
          histories++;
          expect(secrets.filter((x) => text.includes(x))).toEqual([]);
        }
        await w.kill();
        // And replay them all before they go, as the jest run's own server is at its end.
        await expectServerHistoriesReplay({ address: server.address, label: 'restarts' });
        record(__filename, {
          section: 'restarts',
          tried: `Temporal dev server stopped (SIGTERM) during restore_candidate, started again on the same SQLite file`,
          count: 1,
          held: `ended ${r.outcome}; prod = ${sc.prod.join()} data; creations ${JSON.stringify(made).replace(/"/g, '')}; worker ${survived ? 'rode the outage out' : 'exited and was replaced'}; ${histories} histories kept, no secret in them`,
          ok: true,
        });
      } finally {
        await killAllCrashWorkers();
        await emu.stop();
        await nativeConnection.close();
        await connection.close();
        await server.stop();
      }
    },
  );
}, 300_000);
