import type { NeonBranch, NeonEndpoint, NeonOperation, NeonSnapshot } from '../../neon';
import type { BranchInfo, EndpointInfo, OperationSummary, SnapshotInfo } from '../contract';

/** Neon's shapes to the activities' plain, camel-cased ones: only IDs, names, flags and timestamps survive. */
export function toBranchInfo(b: NeonBranch): BranchInfo {
  return {
    id: b.id,
    name: b.name,
    parentId: b.parent_id,
    default: b.default,
    protected: b.protected,
    currentState: b.current_state,
    createdAt: b.created_at,
    expiresAt: b.expires_at,
    restoredFrom: b.restored_from,
    restoredAs: b.restored_as,
    restoreStatus: b.restore_status,
  };
}

export function toEndpointInfo(e: NeonEndpoint): EndpointInfo {
  return { id: e.id, branchId: e.branch_id, type: e.type, currentState: e.current_state };
}

export function toSnapshotInfo(s: NeonSnapshot): SnapshotInfo {
  return {
    id: s.id,
    name: s.name,
    sourceBranchId: s.source_branch_id,
    createdAt: s.created_at,
    expiresAt: s.expires_at,
    lsn: s.lsn,
    timestamp: s.timestamp,
  };
}

export function toOperationSummary(o: NeonOperation): OperationSummary {
  return { id: o.id, action: o.action, status: o.status, totalDurationMs: o.total_duration_ms };
}

export const operationIds = (ops: readonly NeonOperation[]): string[] => ops.map((o) => o.id);
