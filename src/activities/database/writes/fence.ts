import { z } from 'zod';
import type { CallOptions, NeonClient } from '../../../neon';
import { systemClock, type ActivityDeps, type Clock } from '../../deps';
import { nullOn404 } from '../../neon/environment';
import { activity, failure } from '../../failures';
import { neonId, resourceName } from '../../inputs';
import { DATABASE_READ_ONLY, readPosition, writeTarget } from './detect';
import { sqlState, withBranch, type BranchSession } from './session';
import type { FenceWritesResult, LiftFenceResult, WriteActivities } from '../../contract';

/** The role's own sessions never start read-only for it: the lift has to be able to write the setting back. */
const OWN_SESSION_WRITABLE = 'SET default_transaction_read_only = off';
const alterDatabase = (clause: string) =>
  `DO $$ BEGIN EXECUTE format('ALTER DATABASE %I ${clause}', current_database()); END $$`;

/**
 * How the fence spells "on": Postgres takes a boolean setting in any case and keeps the value as written, so this
 * spelling, which nobody types, tells our fence from the owner's own read-only setting (`on`, `true`, ...), which no
 * lift touches. A custom setting next to it (`neon_promote.fence = '<run>'`) could name the run, but Postgres lets only
 * a superuser set an unregistered custom setting on a database, and the role a run connects as is none. The run, its
 * deadline and its end are known to Temporal (the run's timer and the project's coordinator), so the mark only has to
 * say "ours".
 */
const FENCED = 'TrUe';
const FENCE_STATE = `SELECT coalesce(bool_or(split_part(c, '=', 2) = '${FENCED}'), false) AS ours, (${DATABASE_READ_ONLY}) AS ro
  FROM pg_db_role_setting s, unnest(s.setconfig) c
  WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.setrole = 0
    AND split_part(c, '=', 1) = 'default_transaction_read_only'`;
type FenceState = { ours: boolean; ro: boolean };

/**
 * Other sessions of this database that started at or before `$1`, and whether this role may end them (its own role's
 * or, with pg_signal_backend, any non-superuser's). A session whose start is hidden from this role counts as old.
 */
const SESSIONS = `SELECT a.pid, coalesce(a.usename, '?') AS role,
    coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
      OR (r.rolsuper IS NOT TRUE AND (pg_has_role(a.usesysid, 'MEMBER') OR pg_has_role('pg_signal_backend', 'MEMBER'))),
      false) AS can
  FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
  WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.usesysid IS NOT NULL
    AND (a.backend_start IS NULL OR a.backend_start <= $1)`;

/** Ends one backend and waits for it to exit; false when it outlived the wait or the role may not end it after all. */
async function terminate(session: BranchSession, pid: number, timeoutMs: number): Promise<boolean> {
  try {
    const [row] = await session.query<{ ok: boolean }>('SELECT pg_terminate_backend($1, $2) AS ok', [pid, timeoutMs]);
    return row?.ok === true;
  } catch (err) {
    if (sqlState(err) === '42501') return false;
    throw err;
  }
}

/**
 * Ends the sessions that started by `before`, waiting for each to exit (its write counters are flushed at exit). A
 * backend shows its database in pg_stat_activity only at the end of its startup, after it read the database's
 * settings, so a second pass a moment later catches one that was starting while the setting changed.
 */
async function endSessions(session: BranchSession, before: Date, timeoutMs: number, clock: Clock) {
  let ended = 0;
  let remaining: { role: string; count: number }[] = [];
  for (let pass = 0; pass < 10; pass++) {
    const others = await session.query<{ pid: number; role: string; can: boolean }>(SESSIONS, [before]);
    const stuck = new Map<string, number>();
    let signalled = 0;
    for (const other of others) {
      const done = other.can ? await terminate(session, other.pid, timeoutMs) : false;
      if (done) ended++;
      if (other.can) signalled++;
      if (!done) stuck.set(other.role, (stuck.get(other.role) ?? 0) + 1);
    }
    remaining = [...stuck].map(([role, count]) => ({ role, count }));
    if (pass >= 1 && signalled === 0) break;
    await clock.sleep(50);
  }
  return { ended, remaining };
}

async function findBranch(
  neon: NeonClient,
  projectId: string,
  ref: { branchId?: string; branchName?: string },
  call: CallOptions,
) {
  if (ref.branchId) return neon.getBranch(projectId, ref.branchId, call).catch(nullOn404);
  const named = (await neon.listBranches(projectId, call)).filter((branch) => branch.name === ref.branchName);
  if (named.length > 1) throw failure('NeonConflict', `${named.length} branches are named "${ref.branchName}"`);
  return named[0] ?? null;
}

/**
 * The write fence: prod refuses writes at the database level. `default_transaction_read_only` applies to
 * sessions as they start, so the fence also ends every session that started before it. It stops applications, not
 * an adversary: a session may still `SET default_transaction_read_only = off` (this activity does, for itself). The
 * fence is spelt as ours (FENCED): a lift removes only that, never the owner's own read-only setting.
 */
export function fenceActivities(deps: ActivityDeps) {
  const { neon, clock = systemClock } = deps;
  return {
    fenceWrites: activity(
      writeTarget.extend({
        terminateTimeoutMs: z.number().int().min(100).max(60_000).optional(),
        position: z.boolean().optional(),
      }),
      async (input, call): Promise<FenceWritesResult> =>
        withBranch(
          deps,
          input,
          call,
          async (session) => {
            await session.query(OWN_SESSION_WRITABLE);
            const [before] = await session.query<FenceState>(FENCE_STATE);
            // Read-only by the owner's setting: spelt as ours, the run's lift would take it away.
            if (!before!.ro || before!.ours)
              await session.query(alterDatabase(`SET default_transaction_read_only = ''${FENCED}''`));
            // Sessions that start after this instant read the new setting; older ones are ended below.
            const [fenced] = await session.query<{ at: Date }>('SELECT clock_timestamp() AS at');
            const timeoutMs = input.terminateTimeoutMs ?? 5_000;
            const { ended, remaining } = await endSessions(session, fenced!.at, timeoutMs, clock);
            const [done] = await session.query<{ at: Date }>('SELECT clock_timestamp() AS at');
            // The baseline in the same session, one connection and one local activity less while prod is fenced.
            // Each statement is its own transaction, so the statistics read are as fresh as a new session's.
            const position = input.position ? await readPosition(session) : undefined;
            return {
              branchId: input.branchId,
              fencedAt: done!.at.toISOString(),
              alreadyFenced: before!.ro,
              sessionsEnded: ended,
              remainingSessions: remaining,
              ...(position ? { position } : {}),
            };
          },
          { sqlFailure: 'FenceFailed' },
        ),
    ),

    /** Idempotent: a branch without a fence, a deleted branch, or one without a compute is reported, not an error. */
    liftFence: activity(
      z
        .object({
          projectId: neonId,
          databaseName: z.string().min(1).max(63),
          roleName: z.string().min(1).max(63),
          endpointId: neonId.optional(),
          branchId: neonId.optional(),
          branchName: resourceName.optional(),
          endSessions: z.boolean().optional(),
          fencedAt: z.iso.datetime({ offset: true }).optional(),
        })
        .refine((input) => !!input.branchId !== !!input.branchName, {
          message: 'give branchId or branchName',
          path: ['branchId'],
        }),
      async (input, call): Promise<LiftFenceResult> => {
        const none = { wasFenced: false, liftedAt: null, fencedForMs: null, sessionsEnded: 0, ownerReadOnly: false };
        // Given the branch and its endpoint (the run knows both after a swap), no look-up: the connection string's
        // 404 says the branch or endpoint is gone.
        const known = input.branchId && input.endpointId ? { id: input.branchId, endpointId: input.endpointId } : null;
        let target: typeof input & { branchId: string; endpointId: string };
        if (known) target = { ...input, branchId: known.id, endpointId: known.endpointId };
        else {
          const branch = await findBranch(neon, input.projectId, input, call);
          if (!branch) return { ...none, branchId: null, skipped: 'branch_not_found' };
          const endpoints = await neon.listBranchEndpoints(input.projectId, branch.id, call);
          const endpointId = input.endpointId ?? endpoints.find((endpoint) => endpoint.type === 'read_write')?.id;
          if (!endpointId) return { ...none, branchId: branch.id, skipped: 'no_endpoint' };
          target = { ...input, branchId: branch.id, endpointId };
        }
        const branch = { id: target.branchId };
        return withBranch(
          deps,
          target,
          call,
          async (session) => {
            await session.query(OWN_SESSION_WRITABLE);
            const [state] = await session.query<FenceState>(FENCE_STATE);
            if (state!.ours) await session.query(alterDatabase('RESET default_transaction_read_only'));
            const [lifted] = await session.query<{ at: Date }>('SELECT clock_timestamp() AS at');
            // Sessions opened while the fence was up stay read-only until they reconnect: end them so they do.
            const ended =
              state!.ours && input.endSessions !== false ? await endSessions(session, lifted!.at, 5_000, clock) : null;
            const liftedAt = lifted!.at.toISOString();
            return {
              branchId: branch.id,
              wasFenced: state!.ours,
              ownerReadOnly: state!.ro && !state!.ours,
              liftedAt,
              fencedForMs: input.fencedAt ? Date.parse(liftedAt) - Date.parse(input.fencedAt) : null,
              sessionsEnded: ended?.ended ?? 0,
              skipped: null,
            };
          },
          { sqlFailure: 'FenceFailed' },
        ).catch((err: unknown) => {
          if (known && nullOn404(err) === null)
            return { ...none, branchId: null, skipped: 'branch_not_found' as const };
          throw err;
        });
      },
    ),
  } satisfies Partial<WriteActivities>;
}
