/**
 * The fewest Neon API calls a promotion needs, worked out from the workflow's steps (src/workflows/promote/promote.ts):
 *
 * - reads whose answers the workflow cannot do without: prod and dev by name (GET branches), prod's endpoint
 *   (GET endpoints), free snapshot slots (GET snapshots), the schema diff (GET compare_schema): 4; and one connection
 *   string (GET connection_uri) per database a promotion opens sessions on: the fork point's branch and prod (the
 *   count since the fork, the write positions, the fence), the candidate (checks, fingerprint), prod after the swap
 *   (the lift, the checks): 4. A connection string holds a password, so it is fetched inside an activity, never passed
 *   through history; the worker reuses it for 30 s (src/activities/database/connect.ts): counted as observed;
 * - every mutation once (the fork point restored next to prod and its read-only endpoint, 2 snapshots, the candidate's
 *   restore and endpoint, its deletion, finalize, the fork point's branch deleted, the new fork point's rename, the old
 *   one's deletion, the backup's expiry): as observed, one call each;
 * - one poll per operation those mutations start, i.e. each operation seen finished at its first poll (several
 *   operations of one mutation are polled with one page of the project's operations: one poll for all of them).
 *
 * Not in the floor: the look-ups that make a mutation idempotent (find by name or lineage before sending), which only a
 * retried attempt needs; reads that find a branch by name again although the run knows its ID (the fence's lift,
 * the checks after the swap); and polls that found an operation still running.
 */
import { isPoll, type PromotionRun } from './runs';

export const NECESSARY_PLAN_READS = 4;

export function floorOf(run: PromotionRun): number {
  const mutations = run.api.filter((a) => !a.route.startsWith('GET ')).length;
  const polls = run.api.filter(isPoll).length;
  const sessions = run.api.filter((a) => a.route.endsWith('/connection_uri')).length;
  const operations = polls - run.extraPolls;
  return NECESSARY_PLAN_READS + sessions + mutations + operations;
}
