/** Helpers of the write-policy workflow tests: reading ids off any branch or snapshot, and a prod with a `writes` table. */
import { MockActivityEnvironment } from '@temporalio/testing';
import type { SeededProject } from '../../tools/emulator';
import { api } from './emulator-api';
import { sql } from './postgres';
import { fileLogger } from './runtime-log';
import { currentTestLog } from './test-logs';
import { neonActivities, seedProd, type Stack } from './workflow-stack';

export type Ids = Set<number>;

/** A prod with `items` and an empty `writes` table (the writer's), and dev made from it by the setup workflow. */
export async function projectWithWrites(s: Stack, rows = 3): Promise<SeededProject> {
  const p = await seedProd(s.emu, rows);
  await sql(p.connectionUri, 'CREATE TABLE writes (id bigint PRIMARY KEY, note text)');
  const worker = await s.worker();
  await worker.runUntil(async () => (await s.client.startSetup({ projectId: p.projectId })).result());
  return p;
}

export function neonTools(s: Stack, p: SeededProject) {
  const acts = neonActivities(s.emu);
  const logger = fileLogger(currentTestLog());
  const run = <I, O>(fn: (i: I) => Promise<O>, input: I): Promise<O> =>
    new MockActivityEnvironment({}, { logger }).run(fn, input);
  const settle = (r: { operationIds: string[] }) =>
    run(acts.waitForOperations, { projectId: p.projectId, operationIds: r.operationIds });
  const uriOf = async (branchId: string, endpointId: string): Promise<string> => {
    const q = new URLSearchParams({
      branch_id: branchId,
      endpoint_id: endpointId,
      database_name: p.databaseName,
      role_name: p.roleName,
    });
    return (await api(s.emu, 'GET', `/projects/${p.projectId}/connection_uri?${q.toString()}`)).uri as string;
  };
  const idsVia = async (branchId: string, endpointId?: string): Promise<Ids> => {
    let ep = endpointId;
    if (!ep) {
      const r = await run(acts.createEndpoint, { projectId: p.projectId, branchId, type: 'read_only' as const });
      await settle(r);
      ep = r.endpoint.id;
    }
    const rows = await sql<{ id: string }>(await uriOf(branchId, ep), 'SELECT id FROM writes');
    return new Set(rows.map((r) => Number(r.id)));
  };
  return {
    /** Ids in `writes` on a branch (through a new read-only endpoint: backups have none). */
    idsOnBranch: (branchId: string) => idsVia(branchId),
    /** Ids in `writes` in a snapshot (restored next to prod without finalize). */
    async idsInSnapshot(snapshotId: string, targetBranchId: string): Promise<Ids> {
      const r = await run(acts.restoreSnapshot, {
        projectId: p.projectId,
        snapshotId,
        targetBranchId,
        finalize: false,
        name: `test-view-${snapshotId}`,
      });
      await settle(r);
      return idsVia(r.branch.id);
    },
  };
}

export const missingFrom = (ids: number[], ...sets: Ids[]): number[] => ids.filter((i) => !sets.some((x) => x.has(i)));
