/**
 * The activity contract: every activity's input and result, grouped by what the activity depends on. Plain JSON only
 * (IDs, names, ISO timestamps, counts), never an API key, a password or a connection string, because all of it ends
 * up in workflow history. Workflows `import type` from here.
 */
import type { DatabaseActivities } from './database';
import type { NeonActivities } from './neon';
import type { AdmissionActivities, BaselineActivities, PreviewRunActivities } from './temporal';

export type * from './database';
export type * from './failures';
export type * from './neon';
export type * from './notify';
export type * from './temporal';

/** What `createActivities(deps)` returns: the Neon, database and Temporal activities of one worker. */
export type Activities = NeonActivities &
  DatabaseActivities &
  AdmissionActivities &
  BaselineActivities &
  PreviewRunActivities;

/** The reads behind the listPreviews workflow: Neon's branches and endpoints, and Temporal's createPreview runs. */
export type PreviewListingActivities = Pick<NeonActivities, 'listBranchesAndEndpoints'> & PreviewRunActivities;
