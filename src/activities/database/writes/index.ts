import type { ActivityDeps } from '../../deps';
import type { WriteActivities } from '../../contract';
import { migrationActivities } from '../migrations';
import { detectActivities } from './detect';
import { fenceActivities } from './fence';
import { reconcileActivities } from './reconcile';

/** Write safety around a swap (detection, the write fence, reconciliation of late writes) and migrations. */
export function writeActivities(deps: ActivityDeps): WriteActivities {
  return {
    ...detectActivities(deps),
    ...fenceActivities(deps),
    ...reconcileActivities(deps),
    ...migrationActivities(deps),
  };
}

export { compareWritePositions } from './position';
