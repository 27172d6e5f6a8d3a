import { z } from 'zod';
import { type CallOptions, NeonBadRequestError, NeonNotFoundError } from '../../neon';
import type { ActivityDeps } from '../deps';
import { nullOn404, withEndpoints } from './environment';
import { activity, currentContext, failure } from '../failures';
import { branchRef, isoTimestamp, neonId, resourceName } from '../inputs';
import { operationIds, toBranchInfo, toEndpointInfo } from './mappers';
import { pendingOperationIds, settling, settlingAll } from './operations';
import type { NeonActivities, ProjectBranches, UpdateBranchInput, UpdateBranchResult } from '../contract';

const endpointType = z.enum(['read_write', 'read_only']);
type EndpointType = z.infer<typeof endpointType>;
const updateInput = branchRef.extend({
  name: resourceName.optional(),
  protected: z.boolean().optional(),
  expiresAt: isoTimestamp.nullable().optional(),
});

/** Branch and endpoint mutations, each safe to repeat: create finds by name, update compares, delete accepts 404. */
export function branchActivities(deps: ActivityDeps) {
  const { neon } = deps;
  /**
   * PATCH only the fields that differ; a repeat after a lost response then sends nothing. Attempt 1 sends the wanted
   * fields without reading the branch first (one GET saved): a PATCH sets absolute values, so whatever an earlier
   * execution already set, the outcome is the same, at worst one no-op PATCH.
   */
  async function update(input: UpdateBranchInput, call: CallOptions): Promise<UpdateBranchResult> {
    const wanted = {
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.protected !== undefined ? { protected: input.protected } : {}),
      ...(input.expiresAt !== undefined ? { expiresAt: input.expiresAt } : {}),
    };
    if ((currentContext()?.info.attempt ?? 1) === 1 && Object.keys(wanted).length > 0) {
      const res = await neon.updateBranch(input.projectId, input.branchId, wanted, call);
      return { branch: toBranchInfo(res.branch), changed: true, operationIds: operationIds(res.operations) };
    }
    const current = await neon.getBranch(input.projectId, input.branchId, call);
    const patch: { name?: string; protected?: boolean; expiresAt?: string | null } = {};
    if (input.name !== undefined && input.name !== current.name) patch.name = input.name;
    if (input.protected !== undefined && input.protected !== current.protected) patch.protected = input.protected;
    if (input.expiresAt !== undefined && !sameInstant(input.expiresAt, current.expires_at))
      patch.expiresAt = input.expiresAt;
    if (Object.keys(patch).length === 0) return { branch: toBranchInfo(current), changed: false, operationIds: [] };
    const res = await neon.updateBranch(input.projectId, input.branchId, patch, call);
    return { branch: toBranchInfo(res.branch), changed: true, operationIds: operationIds(res.operations) };
  }

  /** An endpoint of this type the branch already has, with whatever of its operations is still running. */
  async function existingEndpoint(projectId: string, branchId: string, type: EndpointType, call: CallOptions) {
    const existing = (await neon.listBranchEndpoints(projectId, branchId, call)).find(
      (endpoint) => endpoint.type === type,
    );
    if (!existing) return null;
    const of = { branchIds: [branchId], endpointIds: [existing.id] };
    const pending = await pendingOperationIds(neon, projectId, of, call);
    return { endpoint: toEndpointInfo(existing), created: false, operationIds: pending };
  }

  return settlingAll(
    deps,
    [
      'createBranch',
      'updateBranch',
      'renameBranch',
      'protectBranch',
      'setBranchExpiry',
      'deleteBranch',
      'createEndpoint',
    ],
    {
      createBranch: activity(
        z.object({
          projectId: neonId,
          name: resourceName,
          parentId: neonId,
          expiresAt: isoTimestamp.optional(),
          protected: z.boolean().optional(),
          endpointType: endpointType.optional(),
        }),
        async (input, call) => {
          const existing = (await neon.listBranches(input.projectId, call)).find(({ name }) => name === input.name);
          if (existing) {
            if (existing.parent_id !== input.parentId) {
              throw failure(
                'NeonConflict',
                `branch "${input.name}" exists with parent ${existing.parent_id ?? 'none'}, not ${input.parentId}`,
              );
            }
            const branch = await withEndpoints(neon, input.projectId, existing, call);
            const of = { branchIds: [branch.id], endpointIds: branch.endpoints.map((endpoint) => endpoint.id) };
            return { branch, created: false, operationIds: await pendingOperationIds(neon, input.projectId, of, call) };
          }
          const res = await neon.createBranch(input.projectId, input, call);
          return {
            branch: { ...toBranchInfo(res.branch), endpoints: res.endpoints.map(toEndpointInfo) },
            created: true,
            operationIds: operationIds(res.operations),
          };
        },
      ),
      updateBranch: activity(updateInput, update),
      renameBranch: activity(branchRef.extend({ name: resourceName }), update),
      protectBranch: activity(branchRef.extend({ protected: z.boolean() }), update),
      setBranchExpiry: activity(branchRef.extend({ expiresAt: isoTimestamp.nullable() }), update),

      deleteBranch: activity(branchRef, async ({ projectId, branchId }, call) => {
        const res = await neon.deleteBranch(projectId, branchId, call).catch(nullOn404);
        return res
          ? { deleted: res.deleted, operationIds: operationIds(res.operations) }
          : { deleted: false, operationIds: [] };
      }),

      /**
       * A branch has at most one read-write endpoint, so one of the wanted type that exists is the result.
       *
       * For a read-write endpoint on attempt 1 the POST goes first (one GET saved): Neon itself refuses a second
       * read-write endpoint on a branch, so sending cannot make a duplicate, and a refusal (an endpoint made by an
       * earlier activity execution: a workflow reset, a step run again) falls back to the look-up. Read-only endpoints
       * have no such guard, and a retry most likely meets its own earlier attempt's endpoint: both look first, but for
       * attempt 1 on a branch the caller's restore has just made (`branchIsNew`), which cannot have one yet.
       */
      createEndpoint: activity(
        branchRef.extend({ type: endpointType, branchIsNew: z.boolean().optional() }),
        async ({ projectId, branchId, type, branchIsNew }, call) => {
          const first = (currentContext()?.info.attempt ?? 1) === 1;
          // A branch this run's restore has just made has no endpoint an earlier execution could have made.
          if (type === 'read_only' && branchIsNew && first) {
            const res = await neon.createEndpoint(projectId, { branchId, type }, call);
            return {
              endpoint: toEndpointInfo(res.endpoint),
              created: true,
              operationIds: operationIds(res.operations),
            };
          }
          if (type === 'read_write' && first) {
            const res = await neon.createEndpoint(projectId, { branchId, type }, call).catch((err: unknown) => {
              if (err instanceof NeonBadRequestError && !(err instanceof NeonNotFoundError)) return err;
              throw err;
            });
            if (!(res instanceof NeonBadRequestError))
              return {
                endpoint: toEndpointInfo(res.endpoint),
                created: true,
                operationIds: operationIds(res.operations),
              };
            const found = await existingEndpoint(projectId, branchId, type, call);
            if (!found) throw res;
            return found;
          }
          const found = await existingEndpoint(projectId, branchId, type, call);
          if (found) return found;
          const res = await neon.createEndpoint(projectId, { branchId, type }, call);
          return { endpoint: toEndpointInfo(res.endpoint), created: true, operationIds: operationIds(res.operations) };
        },
      ),

      /** Two project-wide lists (branches, endpoints), whatever the number of branches. */
      listBranchesAndEndpoints: activity(z.object({ projectId: neonId }), async ({ projectId }, call) => {
        const [branches, endpoints] = await Promise.all([
          neon.listBranches(projectId, call),
          neon.listEndpoints(projectId, call),
        ]);
        return {
          branches: branches.map(toBranchInfo),
          endpoints: endpoints.map((endpoint) => ({ ...toEndpointInfo(endpoint), host: endpoint.host ?? null })),
        } satisfies ProjectBranches;
      }),

      deleteEndpoint: endpointDeletion(deps),
    },
  ) satisfies Partial<NeonActivities>;
}

/**
 * Deletes an endpoint and waits for its operations; one that is gone already counts as deleted by this call's intent
 * (`deleted: false`). Its own activity, and the first half of a swap (finalizeRestore's `deleteEndpointId`).
 */
export function endpointDeletion(deps: ActivityDeps): NeonActivities['deleteEndpoint'] {
  const { neon } = deps;
  return settling(
    'deleteEndpoint',
    activity(z.object({ projectId: neonId, endpointId: neonId }), async ({ projectId, endpointId }, call) => {
      const res = await neon.deleteEndpoint(projectId, endpointId, call).catch(nullOn404);
      return res
        ? { deleted: res.deleted, operationIds: operationIds(res.operations) }
        : { deleted: false, operationIds: [] };
    }),
    deps,
  );
}

function sameInstant(wanted: string | null, current: string | null): boolean {
  if (wanted === null || current === null) return wanted === current;
  return Date.parse(wanted) === Date.parse(current);
}
