// The barrel the worker bundles: every workflow type the worker runs is exported here.
export * from './health-check';
export * from './coordination/project-coordinator';
export * from './environments/setup';
export * from './previews/create';
export * from './previews/reset';
export * from './previews/delete';
export * from './previews/list';
export * from './promote/promote';
export * from './environments/refresh';
export * from './environments/rollback';
export * from './environments/janitor';
export * from './environments/unfence';
export * from './environments/expire-snapshot';
export * from './coordination/scheduled-run';
export * from './notify/deliver';
export * from './contract/definitions';
export type * from './contract/inputs';
export type { PromotionPlan } from './promote/plan';
