import { ApiError, type Ctx, type Reply } from './http';
import { rfc3339 } from './ids';
import type { OpSpec, Operations } from './ops';
import type { DataPlane } from './pg/data';
import type { PgProxy } from './proxy';
import type { Store } from './store';
import type { Limits } from './plans';
import type { OperationFate, ProjectRec } from './types';
import { operationView, type Views } from './views';

export type DefaultOnFinalize = 'moves' | 'stays';

/** What route handlers share. `data` and `proxy` are absent in memory mode (control plane only). */
export type Env = {
  store: Store;
  ops: Operations;
  data?: DataPlane;
  proxy?: PgProxy;
  views: Views;
  /** The plan's limits; the admin API may change them while the emulator runs. */
  limits: Limits;
  /**
   * Whether finalizing a restore moves the replaced branch's `default` flag to the restored branch ('moves') or leaves
   * it on the replaced one ('stays'); Neon documents neither (README, "Limits").
   */
  defaultOnFinalize: DefaultOnFinalize;
  /**
   * Whether finalizing a restore of the project's root branch makes the restored branch the project's root ('moves':
   * the replaced one can then be deleted, as Neon's promotion guide does) or leaves the replaced one the root, which
   * cannot be deleted ('stays': the spec's sentence read literally). README, "Limits".
   */
  rootOnFinalize: DefaultOnFinalize;
  /** How long a restored branch reads `restore_status: detaching`, from its restore and from its finalize (0: never). */
  detaching: { afterRestoreMs: number; afterFinalizeMs: number };
  /** The most branches one page of GET .../branches holds, whatever the request's limit (Neon documents none). */
  branchPageSize: number;
  /** How far the emulator's clock runs ahead of the host's: tests move it past time windows (`advanceClock`). */
  clock: { offsetMs: number };
  log: (line: string) => void;
};

/** The emulator's clock (ms epoch), for the rules that open after a time window: the host's plus `advanceClock`. */
export const now = (env: Pick<Env, 'clock'>): number => Date.now() + env.clock.offsetMs;

/** A request context plus the fault decision for it: how the mutation's operations end (absent: finished). */
export type MCtx = Ctx & { operationFate: OperationFate | undefined };

type Outcome = { status: number; body: Record<string, unknown>; ops: OpSpec[] };

/**
 * Runs a mutation under the project lock, records its operations and persists the state before answering, so that
 * what a client was told always matches what is on disk.
 */
export async function mutation(
  env: Env,
  ctx: MCtx,
  p: ProjectRec,
  fn: () => Promise<Outcome> | Outcome,
): Promise<Reply> {
  return env.ops.exclusive(p, async () => {
    // Set before the work so that the work defers dropping anything the rollback will need.
    const undone = ctx.operationFate === 'fail' || ctx.operationFate === 'cancel';
    if (undone) p.undo = snapshotOf(p);
    let out: Outcome;
    try {
      out = await fn();
    } catch (err) {
      delete p.undo;
      throw err;
    }
    const ops = env.ops.create(p, out.ops, ctx.operationFate);
    if (!ops.length) delete p.undo;
    p.updated_at = rfc3339();
    env.store.save();
    return { status: out.status, body: { ...out.body, operations: ops.map(operationView) } };
  });
}

function snapshotOf(p: ProjectRec): NonNullable<ProjectRec['undo']> {
  const { operations: _o, undo: _u, ...rest } = p;
  return structuredClone(rest);
}

const DAY_MS = 86_400_000;

/**
 * A branch's expires_at as Neon's "Branch expiration" page requires it (timestamp format requirements): RFC 3339 with
 * a time zone, in the future, at most 30 days from now.
 */
export function checkBranchExpiry(expiresAt: string | undefined | null): void {
  if (!expiresAt) return;
  if (!/(Z|[+-]\d{2}:\d{2})$/i.test(expiresAt))
    throw new ApiError(400, 'BAD_REQUEST', 'expires_at must carry a time zone (Z or an offset such as +05:00)');
  const t = parseTimestamp(expiresAt);
  if (t > Date.now() + 30 * DAY_MS)
    throw new ApiError(400, 'BAD_REQUEST', 'expires_at must be at most 30 days in the future');
}

/**
 * A snapshot's expires_at. Neon documents only its format (createSnapshot: ISO 8601) and no upper bound, so none is
 * enforced; refusing a time already past is an assumption (README, "Limits").
 */
export function checkSnapshotExpiry(expiresAt: string | undefined): void {
  if (expiresAt) parseTimestamp(expiresAt);
}

function parseTimestamp(expiresAt: string): number {
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) throw new ApiError(400, 'BAD_REQUEST', 'expires_at must be an RFC 3339 timestamp');
  if (t <= Date.now()) throw new ApiError(400, 'BAD_REQUEST', 'expires_at must be in the future');
  return t;
}
