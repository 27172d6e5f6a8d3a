import { createNeonClient } from '../neon';
import type { Activities } from './contract';
import { explainActivities } from './database/explain';
import { fingerprintActivities } from './database/fingerprint';
import { verifyActivities } from './database/verify';
import { writeActivities } from './database/writes';
import type { ActivityDeps } from './deps';
import { branchActivities } from './neon/branches';
import { environmentActivities } from './neon/environment';
import { operationActivities } from './neon/operations';
import { restoreActivities } from './neon/restore';
import { schemaActivities } from './neon/schema';
import { snapshotActivities } from './neon/snapshots';
import { admissionActivities } from './temporal/admission';
import { baselineActivities } from './temporal/baseline';
import { previewRunActivities } from './temporal/previews';

/**
 * Builds the Neon, database and Temporal activities from their dependencies (samples-typescript
 * activities-dependency-injection): the worker passes a real client, tests pass one pointed at the emulator or fakes.
 * Register the result with `Worker.create`.
 */
export function createActivities(deps: ActivityDeps): Activities {
  return {
    ...environmentActivities(deps),
    ...branchActivities(deps),
    ...snapshotActivities(deps),
    ...restoreActivities(deps),
    ...operationActivities(deps),
    ...schemaActivities(deps),
    ...verifyActivities(deps),
    ...fingerprintActivities(deps),
    ...writeActivities(deps),
    ...explainActivities(deps),
    // Read Temporal (the worker's own client), not Neon: refreshDev's baseline, admitting directly started runs, and
    // the runs behind previews.
    ...baselineActivities(),
    ...admissionActivities(),
    ...previewRunActivities(),
  };
}

/**
 * The worker's wiring: the API key and settings come from the worker's environment, never from workflow input.
 * NEON_API_KEY (required), NEON_API_BASE_URL, NEON_SNAPSHOT_LIMIT ("none" when unknown); the rate budget reads
 * NEON_RATE_PER_MINUTE and NEON_RATE_PER_SECOND_PER_ROUTE.
 */
export function createActivitiesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<ActivityDeps> = {},
): Activities {
  const apiKey = env.NEON_API_KEY;
  if (!apiKey) throw new Error('NEON_API_KEY is not set for the worker');
  const limit = env.NEON_SNAPSHOT_LIMIT;
  return createActivities({
    neon: createNeonClient({ apiKey, baseUrl: env.NEON_API_BASE_URL || undefined }),
    snapshotLimit: limit === 'none' ? null : limit ? Number(limit) : 10,
    ...overrides,
  });
}

export type * from './contract';
export type { ActivityDeps, Clock, DbConnector, DbSession, HttpGet } from './deps';
export { NON_RETRYABLE_FAILURE_TYPES, NOTIFY_FAILURE_TYPES, WRITE_FAILURE_TYPES } from '../shared/failure-types';
export { compareWritePositions } from './database/writes';
export { createNotifyActivities, webhookSettingsFromEnv, type WebhookSettings } from './notify/deliver';
