import type { Client } from '@temporalio/client';
import { NeonProjectId } from '../temporal/search-attributes';
import type { UnfenceResult } from '../workflows';
import { unfenceInput, type UnfenceInput } from '../workflows/contract/inputs';
import { runMetadata } from '../workflows/contract/run-summary';
import { validated } from './errors';

/**
 * Lifts a write fence of ours from prod (the unfence workflow, on the worker, which holds the Neon key) and waits for
 * it. Started at once, not through the project's coordinator: it has to work while a stuck run holds the project.
 * Fails with OwnerReadOnly when prod is read-only by its owner's own setting.
 */
export async function unfence(
  temporal: Client,
  taskQueue: string,
  input: UnfenceInput,
  workflowId?: string,
): Promise<UnfenceResult> {
  const { projectId } = validated(unfenceInput(), input);
  return temporal.workflow.execute('unfence', {
    taskQueue,
    workflowId: workflowId ?? `unfence-${projectId}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
    args: [input],
    typedSearchAttributes: [{ key: NeonProjectId, value: projectId }],
    ...runMetadata('unfence', input),
  }) as Promise<UnfenceResult>;
}
