// The barrel the worker bundles: every workflow type the worker runs is exported here.
export * from './health-check';
