import { seedProject, type SeededProject } from '../../tools/emulator';
import type { Harness } from './activity-harness';

/** A seeded prod ("main", `items` with 10 rows) and helpers bound to it. */
export type Prod = SeededProject & {
  where: { projectId: string; databaseName: string; roleName: string };
  /** Connection string of a branch through one of its endpoints (default its read-write one). */
  uriOf(branchId: string, endpointId?: string): Promise<string>;
  settle(ops: { operationIds: string[] }): Promise<void>;
  /** A branch of `parentId` with a read-write endpoint. */
  branch(name: string, parentId: string): Promise<{ id: string; endpointId: string }>;
  /**
   * Dev as the product makes it: a root branch restored from a snapshot of prod (`np-fork`; only a root branch can be
   * snapshot), with a read-write endpoint.
   */
  forkDev(): Promise<{ id: string; forkSnapshotId: string }>;
  endpoint(branchId: string, type?: 'read_write' | 'read_only'): Promise<string>;
  snapshot(branchId: string, name: string): Promise<string>;
  /** Restores a snapshot onto `targetBranchId` and finalizes: returns the new branch's ID. */
  swap(snapshotId: string, targetBranchId: string): Promise<string>;
};

export async function seedProd(h: Harness, rows = 10): Promise<Prod> {
  const s = await seedProject(h.emu, { rows, branchName: 'main' });
  const where = { projectId: s.projectId, databaseName: s.databaseName, roleName: s.roleName };
  const settle = async (r: { operationIds: string[] }) =>
    void (await h.run(h.activities.waitForOperations, { projectId: s.projectId, operationIds: r.operationIds }));
  const endpoint = async (branchId: string, type: 'read_write' | 'read_only' = 'read_write') => {
    const r = await h.run(h.activities.createEndpoint, { projectId: s.projectId, branchId, type });
    await settle(r);
    return r.endpoint.id;
  };
  const snapshot = async (branchId: string, name: string) => {
    const r = await h.run(h.activities.ensureSnapshot, { projectId: s.projectId, branchId, name });
    await settle(r);
    return r.snapshot.id;
  };
  return {
    ...s,
    where,
    settle,
    endpoint,
    async uriOf(branchId, endpointId) {
      const q = new URLSearchParams({ branch_id: branchId, database_name: s.databaseName, role_name: s.roleName });
      if (endpointId) q.set('endpoint_id', endpointId);
      return (await h.api('GET', `/projects/${s.projectId}/connection_uri?${q.toString()}`)).uri as string;
    },
    async branch(name, parentId) {
      const r = await h.run(h.activities.createBranch, {
        projectId: s.projectId,
        name,
        parentId,
        endpointType: 'read_write',
      });
      await settle(r);
      return { id: r.branch.id, endpointId: r.branch.endpoints[0]!.id };
    },
    async forkDev() {
      const forkSnapshotId = await snapshot(s.branchId, 'np-fork');
      const dev = await h.run(h.activities.restoreSnapshot, {
        projectId: s.projectId,
        snapshotId: forkSnapshotId,
        targetBranchId: s.branchId,
        finalize: false,
        name: 'dev',
      });
      await settle(dev);
      await endpoint(dev.branch.id);
      return { id: dev.branch.id, forkSnapshotId };
    },
    snapshot,
    async swap(snapshotId, targetBranchId) {
      const r = await h.run(h.activities.restoreSnapshot, {
        projectId: s.projectId,
        snapshotId,
        targetBranchId,
        finalize: true,
      });
      await settle(r);
      return r.branch.id;
    },
  };
}
