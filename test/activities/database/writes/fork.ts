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

/**
 * Prod forked with `words`, text keys in mixed case and where orders differ: U+FF61 sorts before U+1F600 by code point
 * (and in UTF-8 bytes), after it by UTF-16 code unit (0xD83D). Since the fork prod deleted 2 keys, updated 2 and
 * inserted 3 next to them.
 */
export async function forkedWords(h: Harness): Promise<Forked> {
  const keys = ['A', 'B', 'a', 'b', '\u00e9', '\uff61', '\u{1F600}', '\u{1F600}x', 'z'];
  const fork = await forked(
    h,
    `CREATE TABLE words (w text PRIMARY KEY, n int NOT NULL);
     INSERT INTO words VALUES ${keys.map((key) => `('${key}', 0)`).join(', ')}`,
  );
  await sql(
    fork.prod.connectionUri,
    `DELETE FROM words WHERE w IN ('\uff61', 'a'); UPDATE words SET n = 1 WHERE w IN ('\u{1F600}', 'B');
     INSERT INTO words VALUES ('\uff62', 2), ('\u{1F601}', 2), ('C', 2)`,
  );
  return fork;
}
