import { createNeonClient } from '../neon';
import type { Activities } from './contract';
import { explainActivities } from './database/explain';
import { fingerprintActivities } from './database/fingerprint';
import { verifyActivities } from './database/verify';
import { writeActivities } from './database/writes';
import type { ActivityDeps } from './deps';
import { backupActivities } from './neon/backups';
import { branchActivities } from './neon/branches';
import { environmentActivities } from './neon/environment';
import { operationActivities } from './neon/operations';
import { restoreActivities } from './neon/restore';
import { schemaActivities } from './neon/schema';
import { snapshotActivities } from './neon/snapshots';
import { swapCleanupActivities } from './neon/swap-cleanup';
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
    ...backupActivities(deps),
    ...snapshotActivities(deps),
    ...restoreActivities(deps),
    ...swapCleanupActivities(deps),
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
 * NEON_API_KEY (required), NEON_API_BASE_URL; the plan's limits: NEON_PLAN (free, launch or scale) sets both,
 * NEON_SNAPSHOT_LIMIT and NEON_ROOT_BRANCH_LIMIT ("none" when unknown) each override it (without any: 10 manual
 * snapshots, root branches unknown); the rate budget reads NEON_RATE_PER_MINUTE and NEON_RATE_PER_SECOND_PER_ROUTE.
 */
export function createActivitiesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<ActivityDeps> = {},
): Activities {
  const apiKey = env.NEON_API_KEY;
  if (!apiKey) throw new Error('NEON_API_KEY is not set for the worker');
  const plan = planLimits(env.NEON_PLAN);
  return createActivities({
    neon: createNeonClient({ apiKey, baseUrl: env.NEON_API_BASE_URL || undefined }),
    snapshotLimit: limitSetting(env.NEON_SNAPSHOT_LIMIT, 'NEON_SNAPSHOT_LIMIT', plan?.snapshotLimit ?? 10),
    rootBranchLimit: limitSetting(env.NEON_ROOT_BRANCH_LIMIT, 'NEON_ROOT_BRANCH_LIMIT', plan?.rootBranchLimit ?? null),
    ...overrides,
  });
}

/**
 * Neon's per-project limits by plan: root branches ("Manage branches", Root branch) and manual snapshots ("Neon plans",
 * Snapshots; the paid plans' 100 is 10 in Neon's earlier docs, which NEON_SNAPSHOT_LIMIT=10 follows).
 */
export const PLAN_LIMITS = {
  free: { rootBranchLimit: 3, snapshotLimit: 1 },
  launch: { rootBranchLimit: 5, snapshotLimit: 100 },
  scale: { rootBranchLimit: 25, snapshotLimit: 100 },
} as const;

function planLimits(plan: string | undefined): (typeof PLAN_LIMITS)[keyof typeof PLAN_LIMITS] | null {
  if (!plan) return null;
  if (!Object.hasOwn(PLAN_LIMITS, plan)) throw new Error(`NEON_PLAN must be free, launch or scale, not "${plan}"`);
  return PLAN_LIMITS[plan as keyof typeof PLAN_LIMITS];
}

function limitSetting(value: string | undefined, name: string, otherwise: number | null): number | null {
  if (value === undefined || value === '') return otherwise;
  if (value === 'none') return null;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 0)
    throw new Error(`${name} must be a whole number or "none", not "${value}"`);
  return limit;
}

export type * from './contract';
export type { ActivityDeps, Clock, DbConnector, DbSession, HttpGet } from './deps';
export { NON_RETRYABLE_FAILURE_TYPES, NOTIFY_FAILURE_TYPES, WRITE_FAILURE_TYPES } from '../shared/failure-types';
export { compareWritePositions } from './database/writes';
export { createNotifyActivities, webhookSettingsFromEnv, type WebhookSettings } from './notify/deliver';
