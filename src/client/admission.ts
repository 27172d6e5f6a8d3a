import { WithStartWorkflowOperation } from '@temporalio/client';
import { NeonProjectId } from '../temporal/search-attributes';
import { coordinatorWorkflowId } from '../workflows/contract/definitions';

/**
 * The start half of an update-with-start to a project's coordinator: starts it if it is not running, else uses the
 * running one. The client's submissions and the admission of runs started directly
 * (src/activities/temporal/admission.ts) send it the same way, so the coordinator looks the same however it was first
 * started.
 */
export function coordinatorStart(projectId: string, taskQueue: string) {
  return new WithStartWorkflowOperation('projectCoordinator', {
    workflowId: coordinatorWorkflowId(projectId),
    taskQueue,
    args: [{ projectId }],
    workflowIdConflictPolicy: 'USE_EXISTING',
    typedSearchAttributes: [{ key: NeonProjectId, value: projectId }],
    staticSummary: `neon-promote coordinator of project ${projectId}`,
  });
}
