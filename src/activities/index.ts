import { createNeonClient } from '../neon';
import { admissionActivities, type AdmissionActivities } from './temporal/admission';
import { baselineActivities } from './temporal/baseline';
import { branchActivities } from './neon/branches';
import type { ActivityDeps } from './deps';
import { environmentActivities } from './neon/environment';
import { explainActivities } from './database/explain';
import { fingerprintActivities } from './database/fingerprint';
import { operationActivities } from './neon/operations';
import { restoreActivities } from './neon/restore';
import { schemaActivities } from './neon/schema';
import { snapshotActivities } from './neon/snapshots';
import type { BaselineActivities, ExplainActivities, NeonActivities, WriteActivities } from './types';
import { verifyActivities } from './database/verify';
import { writeActivities } from './database/writes';

/**
 * Builds every Neon activity from its dependencies (samples-typescript activities-dependency-injection): the worker
 * passes a real client, tests pass one pointed at the emulator or fakes. Register the result with `Worker.create`.
 */
export function createActivities(
  deps: ActivityDeps,
): NeonActivities & WriteActivities & BaselineActivities & ExplainActivities & AdmissionActivities {
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
    // Read Temporal (the worker's own client), not Neon: refreshDev's baseline; admitting directly started runs.
    ...baselineActivities(),
    ...admissionActivities(),
  };
}

export type Activities = ReturnType<typeof createActivities>;

/**
 * The worker's wiring: the API key and settings come from the worker's environment, never from workflow input.
 * NEON_API_KEY (required), NEON_API_BASE_URL, NEON_SNAPSHOT_LIMIT ("none" when unknown); the rate budget reads
 * NEON_RATE_PER_MINUTE and NEON_RATE_PER_SECOND_PER_ROUTE.
 */
export function createActivitiesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<ActivityDeps> = {},
): NeonActivities & WriteActivities & BaselineActivities & ExplainActivities & AdmissionActivities {
  const apiKey = env.NEON_API_KEY;
  if (!apiKey) throw new Error('NEON_API_KEY is not set for the worker');
  const limit = env.NEON_SNAPSHOT_LIMIT;
  return createActivities({
    neon: createNeonClient({ apiKey, baseUrl: env.NEON_API_BASE_URL || undefined }),
    snapshotLimit: limit === 'none' ? null : limit ? Number(limit) : 10,
    ...overrides,
  });
}
export type { ActivityDeps, Clock, DbConnector, DbSession, HttpGet } from './deps';
export { NON_RETRYABLE_FAILURE_TYPES } from './types';
export { compareWritePositions, WRITE_FAILURE_TYPES } from './database/writes';
export type * from './types';
export {
  createNotifyActivities,
  webhookSettingsFromEnv,
  NOTIFY_FAILURE_TYPES,
  type NotifyActivities,
  type WebhookSettings,
} from './notify/deliver';
