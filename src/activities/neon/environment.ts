import { z } from 'zod';
import type { CallOptions, NeonClient } from '../../neon';
import { systemClock, type ActivityDeps } from '../deps';
import { activity, failure } from '../failures';
import { neonId, projectInput, resourceName } from '../inputs';
import { toBranchInfo, toEndpointInfo, toSnapshotInfo } from './mappers';
import type { BranchWithEndpoints, NeonActivities } from '../contract';

/** A branch and its endpoints (one extra call). */
export async function withEndpoints(
  neon: NeonClient,
  projectId: string,
  branch: Parameters<typeof toBranchInfo>[0],
  call: CallOptions,
): Promise<BranchWithEndpoints> {
  const endpoints = await neon.listBranchEndpoints(projectId, branch.id, call);
  return { ...toBranchInfo(branch), endpoints: endpoints.map(toEndpointInfo) };
}

/** Reading activities: they resolve branches by name, because IDs change on every finalized restore. */
export function environmentActivities({
  neon,
  clock = systemClock,
  snapshotLimit = 10,
  rootBranchLimit = null,
}: ActivityDeps) {
  return {
    resolveEnvironment: activity(
      z.object({ projectId: neonId, prodBranchName: resourceName, devBranchName: resourceName }),
      async ({ projectId, prodBranchName, devBranchName }, call) => {
        // Before the reads: what had expired by this time had expired when it was listed.
        const observedAt = new Date(clock.now()).toISOString();
        // Three independent reads; endpoints come from one project-wide list rather than one call per branch.
        const [branches, snapshots, endpoints] = await Promise.all([
          neon.listBranches(projectId, call),
          neon.listSnapshots(projectId, call),
          neon.listEndpoints(projectId, call),
        ]);
        const pick = (name: string): BranchWithEndpoints | null => {
          const found = branches.filter((branch) => branch.name === name);
          if (found.length === 0) return null;
          // Neon allows duplicate names; guessing which one is prod could promote onto the wrong branch.
          if (found.length > 1) {
            throw failure('NeonConflict', `${found.length} branches are named "${name}" in project ${projectId}`);
          }
          const branch = found[0]!;
          const own = endpoints.filter((endpoint) => endpoint.branch_id === branch.id);
          return { ...toBranchInfo(branch), endpoints: own.map(toEndpointInfo) };
        };
        const limit = snapshotLimit ?? null;
        const manual = snapshots.filter((snapshot) => snapshot.manual !== false).length;
        return {
          projectId,
          observedAt,
          prod: pick(prodBranchName),
          dev: pick(devBranchName),
          branches: branches.map(toBranchInfo),
          snapshots: snapshots.map(toSnapshotInfo),
          snapshotLimit: limit,
          freeSnapshotSlots: limit === null ? null : Math.max(0, limit - manual),
          rootBranchLimit: rootBranchLimit ?? null,
        };
      },
    ),
    getBranch: activity(
      z.union([
        z.object({ projectId: neonId, branchId: neonId }),
        z.object({ projectId: neonId, branchName: resourceName }),
      ]),
      async (input, call) => {
        if ('branchId' in input) {
          const branch = await neon.getBranch(input.projectId, input.branchId, call).catch(nullOn404);
          return branch ? withEndpoints(neon, input.projectId, branch, call) : null;
        }
        const branch = (await neon.listBranches(input.projectId, call)).find(({ name }) => name === input.branchName);
        return branch ? withEndpoints(neon, input.projectId, branch, call) : null;
      },
    ),
    listBranches: activity(projectInput, async ({ projectId }, call) =>
      (await neon.listBranches(projectId, call)).map(toBranchInfo),
    ),
  } satisfies Partial<NeonActivities>;
}

/** For lookups where "not there" is an answer, not a failure. */
export function nullOn404(err: unknown): null {
  const { status, code } = err as { status?: number; code?: string };
  // A 404 for a route that does not exist (a wrong base URL, a proxy) must not pass for "already deleted".
  if (status === 404 && code !== 'ROUTE_NOT_FOUND') return null;
  throw err;
}
