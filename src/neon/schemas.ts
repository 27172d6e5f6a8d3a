/**
 * zod schemas for the parts of Neon's responses this product reads (contract: public-v2-for-users.gen.yaml in
 * @neondatabase/api-client). Unknown fields are stripped, which also drops secrets such as `connection_uris` from
 * create-branch responses before they can travel further. Optional fields accept null as well as absence.
 */
import { z } from 'zod';

const id = z.string().min(1);
const optional = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? null);

export const operationSchema = z.object({
  id,
  project_id: z.string(),
  branch_id: optional(z.string()),
  endpoint_id: optional(z.string()),
  action: z.string(),
  status: z.string(),
  error: optional(z.string()),
  failures_count: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
  total_duration_ms: z.number().int(),
});
export type NeonOperation = z.infer<typeof operationSchema>;

export const branchSchema = z.object({
  id,
  project_id: z.string(),
  parent_id: optional(z.string()),
  name: z.string(),
  current_state: z.string(),
  default: z.boolean(),
  protected: z.boolean(),
  created_at: z.string(),
  updated_at: z.string(),
  expires_at: optional(z.string()),
  restore_status: optional(z.string()),
  restored_from: optional(z.string()),
  restored_as: optional(z.string()),
  /** Set by a reset from the parent (POST .../branches/{id}/restore). */
  last_reset_at: optional(z.string()),
});
export type NeonBranch = z.infer<typeof branchSchema>;

export const endpointSchema = z.object({
  id,
  project_id: z.string(),
  branch_id: z.string(),
  type: z.enum(['read_write', 'read_only']),
  current_state: z.string(),
  /** Where clients connect, e.g. ep-cool-darkness-123456.us-east-2.aws.neon.tech. */
  host: optional(z.string()),
});
export type NeonEndpoint = z.infer<typeof endpointSchema>;

export const snapshotSchema = z.object({
  id,
  name: z.string(),
  lsn: optional(z.string()),
  timestamp: optional(z.string()),
  source_branch_id: optional(z.string()),
  created_at: z.string(),
  expires_at: optional(z.string()),
  /** false for a backup schedule's snapshot, which does not count toward the plan's limit of manual snapshots. */
  manual: optional(z.boolean()),
});
export type NeonSnapshot = z.infer<typeof snapshotSchema>;

const operations = z.array(operationSchema);

export const branchesResponse = z.object({
  branches: z.array(branchSchema),
  pagination: optional(z.object({ next: optional(z.string()) })),
});
export const branchResponse = z.object({ branch: branchSchema });
export const branchOperationsResponse = z.object({ branch: branchSchema, operations });
export const createdBranchResponse = z.object({
  branch: branchSchema,
  endpoints: z.array(endpointSchema).default([]),
  operations,
});
export const restoredSnapshotResponse = z.object({
  branch: branchSchema,
  endpoints: z
    .array(endpointSchema)
    .nullish()
    .transform((v) => v ?? []),
  operations,
});
export const operationsResponse = z.object({ operations });
export const operationResponse = z.object({ operation: operationSchema });
export const operationsPageResponse = z.object({
  operations,
  pagination: optional(z.object({ cursor: optional(z.string()) })),
});
export const endpointsResponse = z.object({ endpoints: z.array(endpointSchema) });
export const endpointOperationsResponse = z.object({ endpoint: endpointSchema, operations });
export const snapshotsResponse = z.object({ snapshots: z.array(snapshotSchema) });
export const snapshotResponse = z.object({ snapshot: snapshotSchema });
export const snapshotOperationsResponse = z.object({ snapshot: snapshotSchema, operations });
export const schemaCompareResponse = z.object({ diff: optional(z.string()) });
export const connectionUriResponse = z.object({ uri: z.string().min(1) });

/** Neon's GeneralError body; read leniently because error bodies come from proxies too. */
export const errorBody = z
  .object({ code: z.string().optional(), message: z.string().optional(), request_id: z.string().optional() })
  .partial();

/**
 * Final operation statuses (spec OperationStatus). Done: `finished`, or `skipped` (nothing was left to do). Failed:
 * `failed`, or `cancelled` (the work was not carried out, so nothing may rely on it). Not final: `scheduling`,
 * `running`, `cancelling` (it ends `cancelled`) and `error`, a failed attempt that Neon retries (the spec counts them
 * in `failures_count` and dates the last in `retry_at`); `failed` is the end of those retries.
 */
export const OPERATION_DONE = new Set(['finished', 'skipped']);
export const OPERATION_FAILED = new Set(['failed', 'cancelled']);

/** zod issues as "path: message" lines, the path naming the field (e.g. "branches.0.name"). */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
}
