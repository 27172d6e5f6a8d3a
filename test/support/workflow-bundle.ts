import { bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_OPTIONS, WORKFLOW_INTERCEPTOR_MODULES } from '../../src/worker';

/** The bundler's progress lines say nothing about the code under test. */
export const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

export const WORKFLOWS_PATH = require.resolve('../../src/workflows');

/**
 * The workflow code a production worker runs: the src/workflows barrel with its interceptors and preloaded modules,
 * as createWorker bundles it. Test workers run this, so every history they leave replays against the same code.
 * `extraInterceptors` adds test-only workflow interceptors (e.g. slow queries) to that code.
 */
export function bundleProductionWorkflows(extraInterceptors: string[] = []): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: [...WORKFLOW_INTERCEPTOR_MODULES, ...extraInterceptors],
    ...WORKFLOW_BUNDLE_OPTIONS,
    logger: quietLogger,
  });
}
