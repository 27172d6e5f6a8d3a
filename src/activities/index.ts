import { branchActivities } from './branches';
import type { ActivityDeps } from './deps';
import { environmentActivities } from './environment';
import { operationActivities } from './operations';
import { restoreActivities } from './restore';
import { schemaActivities } from './schema';
import { snapshotActivities } from './snapshots';
import type { NeonActivities } from './types';
import { verifyActivities } from './verify';

/**
 * Builds every Neon activity from its dependencies (samples-typescript activities-dependency-injection): the worker
 * passes a real client, tests pass one pointed at the emulator or fakes. Register the result with `Worker.create`.
 */
export function createActivities(deps: ActivityDeps): NeonActivities {
  return {
    ...environmentActivities(deps),
    ...branchActivities(deps),
    ...snapshotActivities(deps),
    ...restoreActivities(deps),
    ...operationActivities(deps),
    ...schemaActivities(deps),
    ...verifyActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps, Clock, DbConnector, DbSession, HttpGet } from './deps';
export { NON_RETRYABLE_FAILURE_TYPES } from './types';
export type * from './types';
