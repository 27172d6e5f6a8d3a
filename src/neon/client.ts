import type { Dispatcher } from 'undici';
import { type CallOptions, type HttpConfig, type HttpRequest, defaultDispatcher, send } from './http';
import { type RateBudget, sharedRateBudget } from './rate-budget';
import * as s from './schemas';
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
  const call = async <T extends z.ZodType>(req: HttpRequest<T>, o?: CallOptions) => (await send(http, req, o)).data;
  const P = '/projects/{project_id}';

  return {
    async listBranches(projectId: string, o?: CallOptions) {
      const branches: s.NeonBranch[] = [];
      let cursor: string | undefined;
      // Neon paginates when asked to; ask for the maximum page and follow the cursor just in case.
      do {
        const page = await call(
          {
            method: 'GET',
            route: `${P}/branches`,
            params: [projectId],
            query: { limit: 10000, cursor },
            schema: s.branchesResponse,
          },
          o,
        );
        branches.push(...page.branches);
        cursor = page.pagination?.next && page.branches.length > 0 ? page.pagination.next : undefined;
      } while (cursor);
      return branches;
    },
    getBranch: async (projectId: string, branchId: string, o?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${P}/branches/{branch_id}`,
            params: [projectId, branchId],
            schema: s.branchResponse,
          },
          o,
        )
      ).branch,
    createBranch: (projectId: string, r: CreateBranchRequest, o?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${P}/branches`,
          params: [projectId],
          body: {
            branch: { name: r.name, parent_id: r.parentId, expires_at: r.expiresAt, protected: r.protected },
            endpoints: r.endpointType ? [{ type: r.endpointType }] : undefined,
          },
          schema: s.createdBranchResponse,
        },
        o,
      ),
    updateBranch: (projectId: string, branchId: string, r: UpdateBranchRequest, o?: CallOptions) =>
      call(
        {
          method: 'PATCH',
          route: `${P}/branches/{branch_id}`,
          params: [projectId, branchId],
          body: { branch: { name: r.name, protected: r.protected, expires_at: r.expiresAt } },
          schema: s.branchOperationsResponse,
        },
        o,
      ),
    /** Resolves `{ deleted: false }` on 204, Neon's answer when the branch is already gone. */
    async deleteBranch(projectId: string, branchId: string, o?: CallOptions) {
      const res = await send(
        http,
        {
          method: 'DELETE',
          route: `${P}/branches/{branch_id}`,
          params: [projectId, branchId],
          schema: s.operationsResponse.partial(),
        },
        o,
      );
      return { deleted: res.status !== 204, operations: res.data.operations ?? [] };
    },
    restoreBranch: (projectId: string, branchId: string, r: RestoreBranchRequest, o?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${P}/branches/{branch_id}/restore`,
          params: [projectId, branchId],
          body: {
            source_branch_id: r.sourceBranchId,
            source_lsn: r.sourceLsn,
            source_timestamp: r.sourceTimestamp,
            preserve_under_name: r.preserveUnderName,
          },
          schema: s.branchOperationsResponse,
        },
        o,
      ),
    compareSchema: async (
      projectId: string,
      branchId: string,
      r: { baseBranchId: string; databaseName: string },
      o?: CallOptions,
    ) =>
      (
        await call(
          {
            method: 'GET',
            route: `${P}/branches/{branch_id}/compare_schema`,
            params: [projectId, branchId],
            query: { base_branch_id: r.baseBranchId, db_name: r.databaseName },
            schema: s.schemaCompareResponse,
          },
          o,
        )
      ).diff ?? '',
    /** name, expires_at, lsn and timestamp are query parameters in the spec (the guide's JSON body is not). */
    createSnapshot: (projectId: string, branchId: string, r: CreateSnapshotRequest, o?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${P}/branches/{branch_id}/snapshot`,
          params: [projectId, branchId],
          query: { name: r.name, expires_at: r.expiresAt, lsn: r.lsn, timestamp: r.timestamp },
          schema: s.snapshotOperationsResponse,
        },
        o,
      ),
    listSnapshots: async (projectId: string, o?: CallOptions) =>
      (await call({ method: 'GET', route: `${P}/snapshots`, params: [projectId], schema: s.snapshotsResponse }, o))
        .snapshots,
    updateSnapshot: async (projectId: string, snapshotId: string, r: { name: string }, o?: CallOptions) =>
      (
        await call(
          {
            method: 'PATCH',
            route: `${P}/snapshots/{snapshot_id}`,
            params: [projectId, snapshotId],
            body: { snapshot: { name: r.name } },
            schema: s.snapshotResponse,
          },
          o,
        )
      ).snapshot,
    deleteSnapshot: async (projectId: string, snapshotId: string, o?: CallOptions) =>
      (
        await call(
          {
            method: 'DELETE',
            route: `${P}/snapshots/{snapshot_id}`,
            params: [projectId, snapshotId],
            schema: s.operationsResponse,
          },
          o,
        )
      ).operations,
    restoreSnapshot: (projectId: string, snapshotId: string, r: RestoreSnapshotRequest, o?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${P}/snapshots/{snapshot_id}/restore`,
          params: [projectId, snapshotId],
          body: { name: r.name, target_branch_id: r.targetBranchId, finalize_restore: r.finalizeRestore ?? false },
          schema: s.restoredSnapshotResponse,
        },
        o,
      ),
    finalizeRestore: async (projectId: string, branchId: string, r: { name?: string }, o?: CallOptions) =>
      (
        await call(
          {
            method: 'POST',
            route: `${P}/branches/{branch_id}/finalize_restore`,
            params: [projectId, branchId],
            body: { name: r.name },
            schema: s.operationsResponse,
          },
          o,
        )
      ).operations,
    listEndpoints: async (projectId: string, o?: CallOptions) =>
      (await call({ method: 'GET', route: `${P}/endpoints`, params: [projectId], schema: s.endpointsResponse }, o))
        .endpoints,
    listBranchEndpoints: async (projectId: string, branchId: string, o?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${P}/branches/{branch_id}/endpoints`,
            params: [projectId, branchId],
            schema: s.endpointsResponse,
          },
          o,
        )
      ).endpoints,
    createEndpoint: (projectId: string, r: { branchId: string; type: 'read_write' | 'read_only' }, o?: CallOptions) =>
      call(
        {
          method: 'POST',
          route: `${P}/endpoints`,
          params: [projectId],
          body: { endpoint: { branch_id: r.branchId, type: r.type } },
          schema: s.endpointOperationsResponse,
        },
        o,
      ),
    /** Neon answers 204 without a body when the endpoint is already gone. */
    async deleteEndpoint(projectId: string, endpointId: string, o?: CallOptions) {
      const res = await send(
        http,
        {
          method: 'DELETE',
          route: `${P}/endpoints/{endpoint_id}`,
          params: [projectId, endpointId],
          schema: s.operationsResponse.partial(),
        },
        o,
      );
      return { deleted: res.status !== 204, operations: res.data.operations ?? [] };
    },
    getOperation: async (projectId: string, operationId: string, o?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${P}/operations/{operation_id}`,
            params: [projectId, operationId],
            schema: s.operationResponse,
          },
          o,
        )
      ).operation,
    /**
     * The project's most recent operations, newest first (one page of `limit`, 1..1000). Neon keeps a project locked
     * while operations run, so the unfinished ones are among the newest: callers looking for those need no more pages.
     */
    listOperations: async (projectId: string, r: { limit?: number } = {}, o?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${P}/operations`,
            params: [projectId],
            query: { limit: r.limit ?? 100 },
            schema: s.operationsPageResponse,
          },
          o,
        )
      ).operations,
    /** A secret (it holds the password): use it to connect and drop it; never log, return or store it. */
    getConnectionUri: async (projectId: string, r: ConnectionUriRequest, o?: CallOptions) =>
      (
        await call(
          {
            method: 'GET',
            route: `${P}/connection_uri`,
            params: [projectId],
            query: {
              branch_id: r.branchId,
              endpoint_id: r.endpointId,
              database_name: r.databaseName,
              role_name: r.roleName,
              pooled: r.pooled,
            },
            schema: s.connectionUriResponse,
          },
          o,
        )
      ).uri,
  };
}

/** The client's type, for activity dependencies and fakes. */
export type NeonClient = ReturnType<typeof createNeonClient>;
