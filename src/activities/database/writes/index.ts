import type { ActivityDeps } from '../../deps';
import type { WriteActivities } from '../../types';
import { migrationActivities } from '../migrations';
import { detectActivities } from './detect';
import { fenceActivities } from './fence';
import { reconcileActivities } from './reconcile';

/** The activities of issue 7: write detection, the write fence, reconciliation of late writes, migrations. */
export function writeActivities(deps: ActivityDeps): WriteActivities {
  return {
    ...detectActivities(deps),
    ...fenceActivities(deps),
    ...reconcileActivities(deps),
    ...migrationActivities(deps),
  };
}

export { compareWritePositions } from './position';
export { WRITE_FAILURE_TYPES } from './failures';
