/**
 * The fewest Neon API calls a promotion needs, worked out from the workflow's steps (src/workflows/promote.ts):
 *
 * - reads whose answers the workflow cannot do without: prod and dev by name (GET branches), prod's endpoint
 *   (GET endpoints), free snapshot slots (GET snapshots), the schema diff (GET compare_schema), and one connection
 *   string per verification (GET connection_uri, twice): 6;
 * - every mutation once (2 snapshots, restore, candidate endpoint, its deletion, finalize, candidate snapshot deletion,
 *   backup expiry): as observed, one call each;
 * - one poll per operation those mutations start, i.e. each operation seen finished at its first poll.
 *
 * Not in the floor: the look-ups that make a mutation idempotent (find by name or lineage before sending), which only a
 * retried attempt needs, and polls that found an operation still running.
 */
import type { PromotionRun } from './runs';

export const NECESSARY_READS = 6;

export function floorOf(run: PromotionRun): number {
  const mutations = run.api.filter((a) => !a.route.startsWith('GET ')).length;
  const polls = run.api.filter((a) => a.route.endsWith('/operations/{id}')).length;
  const operations = polls - run.extraPolls;
  return NECESSARY_READS + mutations + operations;
}
