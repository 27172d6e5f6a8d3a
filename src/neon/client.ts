import type { Dispatcher } from 'undici';
import { type CallOptions, type HttpConfig, type HttpRequest, defaultDispatcher, send } from './http';
import { type RateBudget, sharedRateBudget } from './rate-budget';
import * as schemas from './schemas';
import type { z } from 'zod';

export type NeonClientConfig = {
  /** Default https://console.neon.tech/api/v2 (the emulator's URL in tests). */
  baseUrl?: string;
  /** From the worker's environment or secret store; never from workflow arguments. */
  apiKey: string;
  /** Default: an undici Agent with keep-alive. Tests pass a MockAgent. */
  dispatcher?: Dispatcher;
  /** Default: the process-wide budget, so every client in a worker shares Neon's rate limit. */
  rateBudget?: RateBudget;
  /** First segment of every X-Request-ID (default "neon-promote"). */
  requestIdPrefix?: string;
  /** Headers and body timeout of one request (default 30 000 ms). */
  timeoutMs?: number;
};

export type CreateBranchRequest = {
  name: string;
  parentId: string;
  expiresAt?: string;
  protected?: boolean;
  endpointType?: 'read_write' | 'read_only';
};
export type UpdateBranchRequest = { name?: string; protected?: boolean; expiresAt?: string | null };
export type CreateSnapshotRequest = { name?: string; expiresAt?: string; lsn?: string; timestamp?: string };
export type RestoreSnapshotRequest = { name?: string; targetBranchId?: string; finalizeRestore?: boolean };
export type RestoreBranchRequest = {
  sourceBranchId: string;
  sourceLsn?: string;
  sourceTimestamp?: string;
  preserveUnderName?: string;
};
export type ConnectionUriRequest = {
  branchId: string;
  endpointId?: string;
  databaseName: string;
  roleName: string;
  pooled?: boolean;
};

/**
 * A typed client for the Neon endpoints the promotion workflow uses. Every response is checked against its schema;
 * every failure is a NeonApiError. Each method takes `CallOptions` last: the request-ID context and a cancel signal.
 */
export function createNeonClient(config: NeonClientConfig) {
  if (!config.apiKey) throw new Error('Neon API key is missing (set NEON_API_KEY for the worker)');
  const http: HttpConfig = {
    baseUrl: config.baseUrl ?? 'https://console.neon.tech/api/v2',
    apiKey: config.apiKey,
    dispatcher: config.dispatcher ?? defaultDispatcher(),
    rateBudget: config.rateBudget ?? sharedRateBudget(),
    requestIdPrefix: config.requestIdPrefix ?? 'neon-promote',
    timeoutMs: config.timeoutMs ?? 30_000,
  };
  const call = async <T extends z.ZodType>(req: HttpRequest<T>, options?: CallOptions) =>
    (await send(http, req, options)).data;
  const PROJECT = '/projects/{project_id}';

  return {
    /**
     * Every branch, page by page: Neon's pages may hold fewer than the limit asked for, so the cursor is followed until
     * a page has none (or no branch). A branch updated between two pages can move in the default order (updated_at):
     * each is kept once.
     */
    async listBranches(projectId: string, options?: CallOptions) {
      const branches = new Map<string, schemas.NeonBranch>();
      let cursor: string | undefined;
      do {
        const page = await call(
          {
            method: 'GET',
            route: `${PROJECT}/branches`,
            params: [projectId],
            query: { limit: 10000, cursor },
            schema: schemas.branchesResponse,
          },
          options,
        );
        for (const branch of page.branches) branches.set(branch.id, branch);
        cursor = page.pagination?.next && page.branches.length > 0 ? page.pagination.next : undefined;
      } while (cursor);
      return [...branches.values()];
    },
    getBranch: async (projectId: string, branchId: string, options?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${PROJECT}/branches/{branch_id}`,
            params: [projectId, branchId],
            schema: schemas.branchResponse,
          },
          options,
        )
      ).branch,
    createBranch: (projectId: string, request: CreateBranchRequest, options?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${PROJECT}/branches`,
          params: [projectId],
          body: {
            branch: {
              name: request.name,
              parent_id: request.parentId,
              expires_at: request.expiresAt,
              protected: request.protected,
            },
            endpoints: request.endpointType ? [{ type: request.endpointType }] : undefined,
          },
          schema: schemas.createdBranchResponse,
        },
        options,
      ),
    updateBranch: (projectId: string, branchId: string, request: UpdateBranchRequest, options?: CallOptions) =>
      call(
        {
          method: 'PATCH',
          route: `${PROJECT}/branches/{branch_id}`,
          params: [projectId, branchId],
          body: { branch: { name: request.name, protected: request.protected, expires_at: request.expiresAt } },
          schema: schemas.branchOperationsResponse,
        },
        options,
      ),
    /** Makes the branch the project's default; Neon takes the flag from the branch that had it (spec setDefaultProjectBranch). */
    setDefaultBranch: (projectId: string, branchId: string, options?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${PROJECT}/branches/{branch_id}/set_as_default`,
          params: [projectId, branchId],
          schema: schemas.branchOperationsResponse,
        },
        options,
      ),
    /**
     * Resolves `{ deleted: false }` on 204, Neon's answer when the branch is already gone. `hard_delete`: what this
     * product deletes it made and is done with, so it goes at once instead of staying recoverable (and stored) for
     * Neon's 7-day window.
     */
    async deleteBranch(projectId: string, branchId: string, options?: CallOptions) {
      const res = await send(
        http,
        {
          method: 'DELETE',
          route: `${PROJECT}/branches/{branch_id}`,
          params: [projectId, branchId],
          query: { hard_delete: true },
          schema: schemas.operationsResponse.partial(),
        },
        options,
      );
      return { deleted: res.status !== 204, operations: res.data.operations ?? [] };
    },
    restoreBranch: (projectId: string, branchId: string, request: RestoreBranchRequest, options?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${PROJECT}/branches/{branch_id}/restore`,
          params: [projectId, branchId],
          body: {
            source_branch_id: request.sourceBranchId,
            source_lsn: request.sourceLsn,
            source_timestamp: request.sourceTimestamp,
            preserve_under_name: request.preserveUnderName,
          },
          schema: schemas.branchOperationsResponse,
        },
        options,
      ),
    compareSchema: async (
      projectId: string,
      branchId: string,
      request: { baseBranchId: string; databaseName: string },
      options?: CallOptions,
    ) =>
      (
        await call(
          {
            method: 'GET',
            route: `${PROJECT}/branches/{branch_id}/compare_schema`,
            params: [projectId, branchId],
            query: { base_branch_id: request.baseBranchId, db_name: request.databaseName },
            schema: schemas.schemaCompareResponse,
          },
          options,
        )
      ).diff ?? '',
    /** name, expires_at, lsn and timestamp are query parameters in the spec (the guide's JSON body is not). */
    createSnapshot: (projectId: string, branchId: string, request: CreateSnapshotRequest, options?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${PROJECT}/branches/{branch_id}/snapshot`,
          params: [projectId, branchId],
          query: { name: request.name, expires_at: request.expiresAt, lsn: request.lsn, timestamp: request.timestamp },
          schema: schemas.snapshotOperationsResponse,
        },
        options,
      ),
    listSnapshots: async (projectId: string, options?: CallOptions) =>
      (
        await call(
          { method: 'GET', route: `${PROJECT}/snapshots`, params: [projectId], schema: schemas.snapshotsResponse },
          options,
        )
      ).snapshots,
    updateSnapshot: async (projectId: string, snapshotId: string, request: { name: string }, options?: CallOptions) =>
      (
        await call(
          {
            method: 'PATCH',
            route: `${PROJECT}/snapshots/{snapshot_id}`,
            params: [projectId, snapshotId],
            body: { snapshot: { name: request.name } },
            schema: schemas.snapshotResponse,
          },
          options,
        )
      ).snapshot,
    deleteSnapshot: async (projectId: string, snapshotId: string, options?: CallOptions) =>
      (
        await call(
          {
            method: 'DELETE',
            route: `${PROJECT}/snapshots/{snapshot_id}`,
            params: [projectId, snapshotId],
            schema: schemas.operationsResponse,
          },
          options,
        )
      ).operations,
    restoreSnapshot: (projectId: string, snapshotId: string, request: RestoreSnapshotRequest, options?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${PROJECT}/snapshots/{snapshot_id}/restore`,
          params: [projectId, snapshotId],
          body: {
            name: request.name,
            target_branch_id: request.targetBranchId,
            finalize_restore: request.finalizeRestore ?? false,
          },
          schema: schemas.restoredSnapshotResponse,
        },
        options,
      ),
    finalizeRestore: async (projectId: string, branchId: string, request: { name?: string }, options?: CallOptions) =>
      (
        await call(
          {
            method: 'POST',
            route: `${PROJECT}/branches/{branch_id}/finalize_restore`,
            params: [projectId, branchId],
            body: { name: request.name },
            schema: schemas.operationsResponse,
          },
          options,
        )
      ).operations,
    listEndpoints: async (projectId: string, options?: CallOptions) =>
      (
        await call(
          { method: 'GET', route: `${PROJECT}/endpoints`, params: [projectId], schema: schemas.endpointsResponse },
          options,
        )
      ).endpoints,
    listBranchEndpoints: async (projectId: string, branchId: string, options?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${PROJECT}/branches/{branch_id}/endpoints`,
            params: [projectId, branchId],
            schema: schemas.endpointsResponse,
          },
          options,
        )
      ).endpoints,
    createEndpoint: (
      projectId: string,
      request: { branchId: string; type: 'read_write' | 'read_only' },
      options?: CallOptions,
    ) =>
      call(
        {
          method: 'POST',
          route: `${PROJECT}/endpoints`,
          params: [projectId],
          body: { endpoint: { branch_id: request.branchId, type: request.type } },
          schema: schemas.endpointOperationsResponse,
        },
        options,
      ),
    /** Neon answers 204 without a body when the endpoint is already gone. */
    async deleteEndpoint(projectId: string, endpointId: string, options?: CallOptions) {
      const res = await send(
        http,
        {
          method: 'DELETE',
          route: `${PROJECT}/endpoints/{endpoint_id}`,
          params: [projectId, endpointId],
          schema: schemas.operationsResponse.partial(),
        },
        options,
      );
      return { deleted: res.status !== 204, operations: res.data.operations ?? [] };
    },
    getOperation: async (projectId: string, operationId: string, options?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${PROJECT}/operations/{operation_id}`,
            params: [projectId, operationId],
            schema: schemas.operationResponse,
          },
          options,
        )
      ).operation,
    /**
     * The project's most recent operations, newest first (one page of `limit`, 1..1000). Neon keeps a project locked
     * while operations run, so the unfinished ones are among the newest: callers looking for those need no more pages.
     */
    listOperations: async (projectId: string, request: { limit?: number } = {}, options?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${PROJECT}/operations`,
            params: [projectId],
            query: { limit: request.limit ?? 100 },
            schema: schemas.operationsPageResponse,
          },
          options,
        )
      ).operations,
    /** A secret (it holds the password): use it to connect and drop it; never log, return or store it. */
    getConnectionUri: async (projectId: string, request: ConnectionUriRequest, options?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${PROJECT}/connection_uri`,
            params: [projectId],
            query: {
              branch_id: request.branchId,
              endpoint_id: request.endpointId,
              database_name: request.databaseName,
              role_name: request.roleName,
              pooled: request.pooled,
            },
            schema: schemas.connectionUriResponse,
          },
          options,
        )
      ).uri,
  };
}

/** The client's type, for activity dependencies and fakes. */
export type NeonClient = ReturnType<typeof createNeonClient>;
