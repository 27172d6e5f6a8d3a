import type { NeonActivities as NeonApiActivities, VerificationActivities } from './contract';

export type * from './contract';

/**
 * The Neon activities with verifyBranch and fingerprintBranch: what test/support/call-activity-workflow.ts and
 * bench/worker-child.ts call NeonActivities. The contract's NeonActivities holds the Neon API calls only.
 */
export type NeonActivities = NeonApiActivities & VerificationActivities;
