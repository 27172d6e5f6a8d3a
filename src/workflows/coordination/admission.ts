/**
 * Exclusion for runs started directly (Temporal UI, `temporal workflow start`, another service's own client): before
 * any Neon call such a run asks the project's coordinator to admit it, with the update-with-start a client sends (see
 * src/activities/temporal/admission.ts), so it waits its turn behind the project's other runs or is refused at once,
 * as its input's `ifBusy` asks. The coordinator signals its turn and awaits its end through `awaitExternalRun`.
 */
import { ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { AdmitExternalRunResult } from '../../activities/contract';
import { admission } from '../runtime/activity-options';
import { RUN_KIND_WORKFLOW_TYPES, type IfBusy, type RunKind } from '../contract/definitions';

/** The run kind of a workflow type, or null for workflows the coordinator does not admit. */
export function runKindOf(workflowType: string): RunKind | null {
  const kinds = Object.keys(RUN_KIND_WORKFLOW_TYPES) as RunKind[];
  return kinds.find((kind) => RUN_KIND_WORKFLOW_TYPES[kind] === workflowType) ?? null;
}

/** `ifBusy` of a directly started run's input: not part of the run's own options, so read from the raw input. */
export function ifBusyOf(raw: unknown): IfBusy {
  const value = (raw as { ifBusy?: unknown } | null | undefined)?.ifBusy;
  if (value === undefined || value === 'queue' || value === 'refuse') return value ?? 'queue';
  throw ApplicationFailure.create({
    type: 'InvalidInput',
    message: "invalid input: ifBusy: 'queue' or 'refuse'",
    nonRetryable: true,
    details: [{ field: 'ifBusy' }],
  });
}

/** Asks the project's coordinator to admit this directly started run of `kind`. */
export function admitStartedDirectly(
  projectId: string,
  kind: RunKind,
  ifBusy: IfBusy,
): Promise<AdmitExternalRunResult> {
  const { workflowId, runId } = workflowInfo();
  return admission.admitExternalRun({ projectId, kind, workflowId, runId, ifBusy });
}

/**
 * The failure that ends a directly started run the coordinator refused (busy and asked to be refused, or its queue
 * full): nothing at Neon was touched.
 */
export function refusedFailure(reason: string, ifBusy: IfBusy): ApplicationFailure {
  const how = ifBusy === 'refuse' ? " with ifBusy 'refuse'" : '';
  return ApplicationFailure.create({
    type: 'ProjectBusy',
    message: `${reason}; this run was started directly${how}, so it ends without touching the project`,
    nonRetryable: true,
  });
}
