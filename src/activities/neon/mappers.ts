import { OPERATION_DONE, type NeonBranch, type NeonEndpoint, type NeonOperation, type NeonSnapshot } from '../../neon';
import type { BranchInfo, EndpointInfo, OperationSummary, SnapshotInfo } from '../contract';

/** Neon's shapes to the activities' plain, camel-cased ones: only IDs, names, flags and timestamps survive. */
export function toBranchInfo(branch: NeonBranch): BranchInfo {
  return {
    id: branch.id,
    name: branch.name,
    parentId: branch.parent_id,
    default: branch.default,
    protected: branch.protected,
    currentState: branch.current_state,
    createdAt: branch.created_at,
    expiresAt: branch.expires_at,
    restoredFrom: branch.restored_from,
    restoredAs: branch.restored_as,
    restoreStatus: branch.restore_status,
  };
}

export function toEndpointInfo(endpoint: NeonEndpoint): EndpointInfo {
  return { id: endpoint.id, branchId: endpoint.branch_id, type: endpoint.type, currentState: endpoint.current_state };
}

export function toSnapshotInfo(snapshot: NeonSnapshot): SnapshotInfo {
  return {
    id: snapshot.id,
    name: snapshot.name,
    sourceBranchId: snapshot.source_branch_id,
    createdAt: snapshot.created_at,
    expiresAt: snapshot.expires_at,
    lsn: snapshot.lsn,
    timestamp: snapshot.timestamp,
    // Absent (an older API): counted as manual, so the product never thinks it has more room than it does.
    manual: snapshot.manual ?? true,
  };
}

export function toOperationSummary(operation: NeonOperation): OperationSummary {
  return {
    id: operation.id,
    action: operation.action,
    status: operation.status,
    totalDurationMs: operation.total_duration_ms,
  };
}

/** The operations a mutation started that its response does not already report done: only those need waiting for. */
export const operationIds = (operations: readonly NeonOperation[]): string[] =>
  operations.filter((op) => !OPERATION_DONE.has(op.status)).map((op) => op.id);
