export { createNeonClient, type NeonClient, type NeonClientConfig } from './client';
export * from './errors';
export type { CallOptions, NeonRequestContext } from './http';
export { RateBudget, sharedRateBudget, type RateBudgetOptions, type RateLimits, type RateUsage } from './rate-budget';
export type { NeonBranch, NeonEndpoint, NeonOperation, NeonSnapshot } from './schemas';
export { OPERATION_DONE, OPERATION_FAILED } from './schemas';
