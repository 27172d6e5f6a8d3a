/**
 * The fewest Neon API calls a promotion needs, worked out from the workflow's steps (src/workflows/promote/promote.ts):
 *
 * - reads whose answers the workflow cannot do without: prod and dev by name (GET branches), prod's endpoint
 *   (GET endpoints), free snapshot slots (GET snapshots), the schema diff (GET compare_schema): 4; and one connection
 *   string (GET connection_uri) per step that opens a database session: the checks, the write policies' steps (the
 *   write positions, the fence and its lift), and the candidate's fingerprint (8 with the default fence policy).
 *   Each of those steps is an activity of its own that may run on another worker, and a connection string holds a
 *   password, so it is fetched inside the activity, never passed through history: counted as observed;
 * - every mutation once (2 snapshots, restore, candidate endpoint, its deletion, finalize, candidate snapshot deletion,
 *   backup expiry): as observed, one call each;
 * - one poll per operation those mutations start, i.e. each operation seen finished at its first poll.
 *
 * Not in the floor: the look-ups that make a mutation idempotent (find by name or lineage before sending), which only a
 * retried attempt needs; reads that find a branch by name again although the run knows its ID (the fence's lift,
 * the checks after the swap); and polls that found an operation still running.
 */
import type { PromotionRun } from './runs';

export const NECESSARY_PLAN_READS = 4;

export function floorOf(run: PromotionRun): number {
  const mutations = run.api.filter((a) => !a.route.startsWith('GET ')).length;
  const polls = run.api.filter((a) => a.route.endsWith('/operations/{id}')).length;
  const sessions = run.api.filter((a) => a.route.endsWith('/connection_uri')).length;
  const operations = polls - run.extraPolls;
  return NECESSARY_PLAN_READS + sessions + mutations + operations;
}
