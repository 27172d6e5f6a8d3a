import type { Harness } from '../../../support/activity-harness';
import { type Prod, seedProd } from '../../../support/activity-prod';
import { sql } from '../../../support/postgres';

/** Prod forked as a promotion meets it: dev and the fork point restored from snapshots of one state of prod. */
export type Forked = {
  prod: Prod;
  /** Dev: a root branch restored from a snapshot, with a read-write endpoint. */
  dev: { branchId: string; endpointId: string; uri: string };
  /** The fork point: restored from the fork snapshot without finalize, read through a read-only endpoint. */
  base: { branchId: string; endpointId: string };
};

/** Seeds prod (`items`, 10 rows), runs `setup` on it, and forks. */
export async function forked(h: Harness, setup: string): Promise<Forked> {
  const prod = await seedProd(h, 10);
  await sql(prod.connectionUri, setup);
  // Two snapshots of the same state: a restore of a snapshot onto the same target finds the earlier one's branch.
  const forkSnapshotId = await prod.snapshot(prod.branchId, 'np-fork');
  const devSnapshotId = await prod.snapshot(prod.branchId, 'np-dev');
  const restore = async (snapshotId: string, name: string) => {
    const restored = await h.run(h.activities.restoreSnapshot, {
      projectId: prod.projectId,
      snapshotId,
      targetBranchId: prod.branchId,
      finalize: false,
      name,
    });
    await prod.settle(restored);
    return restored.branch.id;
  };
  const devId = await restore(devSnapshotId, 'dev');
  const devEndpoint = await prod.endpoint(devId);
  const baseId = await restore(forkSnapshotId, 'np-fork-point');
  return {
    prod,
    dev: { branchId: devId, endpointId: devEndpoint, uri: await prod.uriOf(devId, devEndpoint) },
    base: { branchId: baseId, endpointId: await prod.endpoint(baseId, 'read_only') },
  };
}
