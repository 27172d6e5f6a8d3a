import { z } from 'zod';
import { scrubSqlSecrets } from '../../shared/sql-secrets';
import type { ActivityDeps } from '../deps';
import { activity } from '../failures';
import { neonId } from '../inputs';
import type { NeonActivities } from '../contract';

/** Diffs can be megabytes; history holds every activity result, so keep a readable head of it. */
export const MAX_DIFF_CHARS = 32_000;

export function schemaActivities({ neon }: ActivityDeps) {
  return {
    /** The schema difference from `baseBranchId` to `branchId` (e.g. prod -> dev: what a promotion would change). */
    compareSchema: activity(
      z.object({ projectId: neonId, branchId: neonId, baseBranchId: neonId, databaseName: z.string().min(1) }),
      async ({ projectId, branchId, baseBranchId, databaseName }, call) => {
        // Scrubbed before it is cut, kept in history or shown anywhere: a dump carries the schema's credentials.
        const diff = scrubSqlSecrets(
          await neon.compareSchema(projectId, branchId, { baseBranchId, databaseName }, call),
        );
        const truncated = diff.length > MAX_DIFF_CHARS;
        return { identical: diff.trim() === '', diff: truncated ? diff.slice(0, MAX_DIFF_CHARS) : diff, truncated };
      },
    ),
  } satisfies Partial<NeonActivities>;
}
