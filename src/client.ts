import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import type { z } from 'zod';
import { fromSubmitError, validated } from './client/errors';
import { coordinatorStart, retryTransientRefusals } from './client/admission';
import { listRuns, type ListRunsOptions, type RunSummary } from './client/runs';
import * as schedules from './client/schedules';
import type { ScheduleInfo, ScheduleKind, ScheduleSettings } from './client/schedules';
import { tracingClientInterceptors, tracingRequested } from './observability/tracing';
import { connectionOptions, temporalSettingsFromEnv, type TemporalSettings } from './temporal/connection';
import { NeonProjectId } from './temporal/search-attributes';
import { DEFAULT_TASK_QUEUE } from './temporal/task-queue';
import type {
  HealthCheckResult,
  JanitorResult,
  PromoteResult,
  RefreshResult,
  RollbackResult,
  SetupResult,
} from './workflows';
import type { DeletePreviewResult, PreviewResult, ResetPreviewResult } from './workflows';
import {
  approveUpdate,
  progressQuery,
  rejectUpdate,
  submitUpdate,
  type Approval,
  type IfBusy,
  type Progress,
  type RunKind,
} from './workflows/contract/definitions';
import * as inputs from './workflows/contract/inputs';
import { runMetadata, runSummary } from './workflows/contract/run-summary';
import type { PreviewListing } from './workflows/previews/list';

export { InvalidInputError, ProjectBusyError } from './client/errors';

export type NeonPromoteClientOptions = {
  /** Defaults to the TEMPORAL_* environment settings. */
  temporal?: TemporalSettings;
  /**
   * An existing Temporal client to use instead of connecting. To trace its calls, give it the interceptors yourself:
   * `interceptors: { workflow: await tracingClientInterceptors() }`.
   */
  client?: Client;
  taskQueue?: string;
  /**
   * Traces this client's calls (OpenTelemetry spans through the global tracer provider, their context passed to the
   * runs) when it connects itself. Default: when the OTEL_* variables ask for traces (tracingRequested).
   */
  tracing?: boolean;
};

export type StartOptions = {
  /** The run's workflow ID (default `<kind>-<projectId>-<time>-<random>`): keep it to await, query or cancel the run. */
  workflowId?: string;
  /** When the project has a run active or queued: wait for it (default), or fail at once with ProjectBusyError. */
  ifBusy?: IfBusy;
  /** Shown as the run's summary in the Temporal UI; at most 1000 characters (longer is InvalidInputError). */
  summary?: string;
};

/** A mutating run admitted by the project's coordinator. It exists as a workflow once this is returned. */
export type Run<R> = {
  workflowId: string;
  /** 0: it started at once; n: n earlier runs of the project go first. */
  position: number;
  handle: WorkflowHandle;
  result(): Promise<R>;
};

/** The typed entry point for services: starts, awaits, inspects and cancels neon-promote runs on Temporal. */
export class NeonPromoteClient {
  private constructor(
    readonly temporal: Client,
    readonly taskQueue: string,
    private readonly ownedConnection?: Connection,
  ) {}

  static async connect(options: NeonPromoteClientOptions = {}): Promise<NeonPromoteClient> {
    const taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    if (options.client) return new NeonPromoteClient(options.client, taskQueue);
    const settings = options.temporal ?? temporalSettingsFromEnv();
    const tracing = options.tracing ?? tracingRequested();
    const interceptors = tracing ? { workflow: await tracingClientInterceptors() } : undefined;
    const connection = await Connection.connect(connectionOptions(settings));
    const client = new Client({ connection, namespace: settings.namespace, interceptors });
    return new NeonPromoteClient(client, taskQueue, connection);
  }

  /** Runs the health-check workflow: resolves when a worker on the task queue answered. */
  async healthCheck(message = 'hello', workflowId = `health-check-${Date.now()}`): Promise<HealthCheckResult> {
    return this.temporal.workflow.execute('healthCheck', {
      taskQueue: this.taskQueue,
      workflowId,
      args: [message],
      staticSummary: runSummary('healthCheck', null),
    }) as Promise<HealthCheckResult>;
  }

  // ---- mutating runs: one at a time per project --------------------------------------------------------------------

  startSetup(input: inputs.SetupInput, options?: StartOptions): Promise<Run<SetupResult>> {
    return this.submit('setup', inputs.setupInput(), input, options);
  }
  startPromotion(input: inputs.PromoteInput, options?: StartOptions): Promise<Run<PromoteResult>> {
    return this.submit('promote', inputs.promoteInput(), input, options);
  }
  startRefresh(input: inputs.RefreshInput, options?: StartOptions): Promise<Run<RefreshResult>> {
    return this.submit('refresh', inputs.refreshInput(), input, options);
  }
  startRollback(input: inputs.RollbackInput, options?: StartOptions): Promise<Run<RollbackResult>> {
    return this.submit('rollback', inputs.rollbackInput(), input, options);
  }
  startJanitor(input: inputs.JanitorInput, options?: StartOptions): Promise<Run<JanitorResult>> {
    return this.submit('janitor', inputs.janitorInput(), input, options);
  }

  /** Starts a promotion and waits for its result (`outcome` says promoted, rolled_back, aborted or dry_run). */
  async promote(input: inputs.PromoteInput, options?: StartOptions): Promise<PromoteResult> {
    return (await this.startPromotion(input, options)).result();
  }

  // ---- previews: children of dev, not exclusive -----------------------------------------------------------------

  createPreview(input: inputs.PreviewInput, workflowId?: string): Promise<PreviewResult> {
    return this.execute('createPreview', inputs.previewInput(), input, workflowId);
  }
  resetPreview(input: inputs.PreviewRef, workflowId?: string): Promise<ResetPreviewResult> {
    return this.execute('resetPreview', inputs.previewRef(), input, workflowId);
  }
  deletePreview(input: inputs.DeletePreviewInput, workflowId?: string): Promise<DeletePreviewResult> {
    return this.execute('deletePreview', inputs.deletePreviewInput(), input, workflowId);
  }
  /**
   * The project's previews as Neon has them now (children of dev, and branches a createPreview run made or named
   * `preview-...`), and which ones neon-promote made: a short read-only listPreviews run on the worker, which holds
   * the Neon key. Not admitted through the coordinator, and not tagged with the project (it is no run of the project).
   */
  async listPreviews(
    projectId: string,
    options: { dev?: string; workflowId?: string } = {},
  ): Promise<PreviewListing[]> {
    const input = validated(inputs.listPreviewsInput(), {
      projectId,
      ...(options.dev !== undefined ? { devBranchName: options.dev } : {}),
    });
    return this.temporal.workflow.execute('listPreviews', {
      taskQueue: this.taskQueue,
      workflowId: options.workflowId ?? `listPreviews-${projectId}-${uniqueSuffix()}`,
      args: [input],
      ...runMetadata('listPreviews', input),
    }) as Promise<PreviewListing[]>;
  }

  // ---- any run ---------------------------------------------------------------------------------------------------

  result<R>(workflowId: string): Promise<R> {
    return this.temporal.workflow.getHandle(workflowId).result() as Promise<R>;
  }
  getProgress(workflowId: string): Promise<Progress> {
    return this.temporal.workflow.getHandle(workflowId).query(progressQuery);
  }
  /** Requests cancellation: the run compensates (before the swap: cleans up; after it: rolls prod back). */
  async cancel(workflowId: string): Promise<void> {
    await this.temporal.workflow.getHandle(workflowId).cancel();
  }
  approve(workflowId: string, by: string, comment?: string): Promise<Approval> {
    return this.temporal.workflow.getHandle(workflowId).executeUpdate(approveUpdate, { args: [{ by, comment }] });
  }
  reject(workflowId: string, by: string, comment?: string): Promise<Approval> {
    return this.temporal.workflow.getHandle(workflowId).executeUpdate(rejectUpdate, { args: [{ by, comment }] });
  }

  // ---- run listing and schedules (src/client/runs.ts, src/client/schedules.ts) --------------------------------------

  /** The project's runs, newest first, from Temporal's visibility store (a second or so behind). */
  listRuns(projectId: string, options?: ListRunsOptions): Promise<RunSummary[]> {
    return listRuns(this.temporal, projectId, options);
  }
  /** Creates or updates the project's dev-refresh schedule; `run` holds the refresh's other inputs. */
  scheduleRefresh(
    projectId: string,
    settings: ScheduleSettings & { run?: Omit<inputs.RefreshInput, 'projectId'> },
  ): Promise<ScheduleInfo> {
    const { run, ...rest } = settings;
    return schedules.upsertSchedule(this.temporal, this.taskQueue, 'refresh', { ...run, projectId }, rest);
  }
  /** Creates or updates the project's janitor schedule; `run` holds the janitor's other inputs. */
  scheduleJanitor(
    projectId: string,
    settings: ScheduleSettings & { run?: Omit<inputs.JanitorInput, 'projectId'> },
  ): Promise<ScheduleInfo> {
    const { run, ...rest } = settings;
    return schedules.upsertSchedule(this.temporal, this.taskQueue, 'janitor', { ...run, projectId }, rest);
  }
  listSchedules(projectId?: string): Promise<ScheduleInfo[]> {
    return schedules.listSchedules(this.temporal, projectId);
  }
  describeSchedule(projectId: string, kind: ScheduleKind): Promise<ScheduleInfo> {
    return schedules.describeSchedule(this.temporal, projectId, kind);
  }
  pauseSchedule(projectId: string, kind: ScheduleKind, note?: string): Promise<void> {
    return schedules.setPaused(this.temporal, projectId, kind, true, note);
  }
  resumeSchedule(projectId: string, kind: ScheduleKind, note?: string): Promise<void> {
    return schedules.setPaused(this.temporal, projectId, kind, false, note);
  }
  deleteSchedule(projectId: string, kind: ScheduleKind): Promise<void> {
    return schedules.deleteSchedule(this.temporal, projectId, kind);
  }
  /** Fires the schedule now, as its cron would. */
  triggerSchedule(projectId: string, kind: ScheduleKind): Promise<void> {
    return schedules.triggerSchedule(this.temporal, projectId, kind);
  }

  async close(): Promise<void> {
    await this.ownedConnection?.close();
  }

  /**
   * Admits a run through the project's coordinator with update-with-start: the coordinator is started if it is not
   * running, and the update returns once the run exists (queued or started), or fails at once if the project is busy
   * and `ifBusy` is 'refuse'.
   */
  private async submit<S extends z.core.$ZodType<{ projectId: string }>, R>(
    kind: RunKind,
    schema: S,
    input: z.input<S>,
    options: StartOptions = {},
  ): Promise<Run<R>> {
    const { projectId } = validated(schema, input);
    const workflowId = options.workflowId ?? `${kind}-${projectId}-${uniqueSuffix()}`;
    const submitted = await retryTransientRefusals(() =>
      this.temporal.workflow.executeUpdateWithStart(submitUpdate, {
        args: [{ kind, workflowId, input, ifBusy: options.ifBusy ?? 'queue', summary: options.summary }],
        // A start operation is used once: each attempt makes its own.
        startWorkflowOperation: coordinatorStart(projectId, this.taskQueue),
      }),
    ).catch((err: unknown) => {
      throw fromSubmitError(err, projectId);
    });
    const handle = this.temporal.workflow.getHandle(workflowId);
    return { workflowId, position: submitted.position, handle, result: () => handle.result() as Promise<R> };
  }

  private async execute<S extends z.core.$ZodType<{ projectId: string }>, R>(
    type: string,
    schema: S,
    input: z.input<S>,
    workflowId?: string,
  ): Promise<R> {
    const { projectId } = validated(schema, input);
    return this.temporal.workflow.execute(type, {
      taskQueue: this.taskQueue,
      workflowId: workflowId ?? `${type}-${projectId}-${uniqueSuffix()}`,
      args: [input],
      typedSearchAttributes: [{ key: NeonProjectId, value: projectId }],
      ...runMetadata(type, input),
    }) as Promise<R>;
  }
}

/** The time and a random part: what makes a generated workflow ID unique. */
const uniqueSuffix = () => `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
