import type { NeonActivities as NeonApiActivities, VerificationActivities } from './contract';

export type * from './contract';

/** The Neon activities with verifyBranch and fingerprintBranch, the name workflows proxy them by. */
export type NeonActivities = NeonApiActivities & VerificationActivities;
