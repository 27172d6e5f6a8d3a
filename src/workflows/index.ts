// The barrel the worker bundles: every workflow type the worker runs is exported here.
export * from './health-check';
export * from './project-coordinator';
export * from './setup-environments';
export * from './create-preview';
export * from './reset-preview';
export * from './delete-preview';
export * from './list-previews';
export * from './promote';
export * from './refresh-dev';
export * from './rollback';
export * from './janitor';
export * from './scheduled-run';
export * from './deliver-notification';
export * from './definitions';
export type * from './inputs';
export type { PromotionPlan } from './promote-plan';
