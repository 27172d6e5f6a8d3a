import type { ActivityDeps } from '../../deps';
import type { WriteActivities } from '../../contract';
import { migrationActivities } from '../migrations';
import { detectActivities } from './detect';
import { diffActivities } from './diff';
import { fenceActivities } from './fence';
import { reconcileActivities } from './reconcile';

/**
 * Write safety around a swap (detection, the write fence, what prod wrote since the fork, reconciliation of late
 * writes) and migrations.
 */
export function writeActivities(deps: ActivityDeps): WriteActivities {
  return {
    ...detectActivities(deps),
    ...fenceActivities(deps),
    ...reconcileActivities(deps),
    ...diffActivities(deps),
    ...migrationActivities(deps),
  };
}

export { compareWritePositions } from './position';
