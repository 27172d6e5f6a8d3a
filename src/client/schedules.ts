/**
 * Dev refresh and janitor as Temporal Schedules (not the legacy cron option): pausable from the CLI and the UI, with
 * overlap policy SKIP. Each schedule starts the scheduledRun workflow, which submits the real run through the
 * project's coordinator, so a firing that meets a promotion waits for it or is skipped (`ifBusy`), never overlaps it.
 * One schedule per project and kind: its ID is derived from both, so creating it again updates it.
 */
import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleOptions,
  type ScheduleSummary,
} from '@temporalio/client';
import { z } from 'zod';
import { InvalidInputError, validated } from './errors';
import { NeonProjectId } from '../temporal/search-attributes';
import type { ScheduledRunInput } from '../workflows';
import type { IfBusy } from '../workflows/contract/definitions';
import { janitorInput, neonId, refreshInput } from '../workflows/contract/inputs';
import { runMetadata } from '../workflows/contract/run-summary';

export type ScheduleKind = 'refresh' | 'janitor';

export type ScheduleSettings = {
  /** Cron expression, e.g. "0 3 * * *" (03:00 every day); also @daily, @hourly, ... */
  cron: string;
  /** IANA time zone of the cron expression (default UTC). */
  timezone?: string;
  /** When a firing meets a run of the project: wait for it ('queue', the default) or skip this firing ('refuse'). */
  ifBusy?: IfBusy;
  /** Create the schedule paused. */
  paused?: boolean;
  note?: string;
};

export type ScheduleInfo = {
  scheduleId: string;
  projectId: string;
  kind: ScheduleKind;
  cron: string;
  timezone: string;
  ifBusy: IfBusy;
  paused: boolean;
  note: string | null;
  /** The next firing times, soonest first (ISO); empty while paused. */
  nextRuns: string[];
  /** The scheduled workflows of the latest firings (oldest first). */
  recentRuns: { workflowId: string; at: string }[];
};

/** Stored on the schedule (memo), so listing needs no decoding of actions. */
type Meta = { projectId: string; kind: ScheduleKind; cron: string; timezone: string; ifBusy: IfBusy };

const PREFIX = 'neon-promote-';
const GRPC_INVALID_ARGUMENT = 3;
const KIND_INPUT = { refresh: refreshInput, janitor: janitorInput } as const;

/** The schedule of a project's refresh or janitor has this ID. */
export function scheduleId(projectId: string, kind: ScheduleKind): string {
  return `${PREFIX}${kind}-${projectId}`;
}

export const settingsSchema = z.object({
  cron: z
    .string()
    .trim()
    .regex(/^(@[a-z]+|(\S+\s+){4,6}\S+)$/, 'expected a cron expression such as "0 3 * * *"'),
  timezone: z
    .string()
    .default('UTC')
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone such as Europe/Berlin'),
  ifBusy: z.enum(['queue', 'refuse']).default('queue'),
  paused: z.boolean().default(false),
  note: z.string().max(500).optional(),
});

/** Creates the schedule, or updates it when the project already has one of this kind. */
export async function upsertSchedule(
  temporal: Client,
  taskQueue: string,
  kind: ScheduleKind,
  input: { projectId: string } & Record<string, unknown>,
  settings: ScheduleSettings,
): Promise<ScheduleInfo> {
  validated(KIND_INPUT[kind](), input); // the run validates it again at each firing; refuse a bad one now
  const valid = validated(settingsSchema, settings);
  const { projectId } = input;
  const meta: Meta = { projectId, kind, cron: valid.cron, timezone: valid.timezone, ifBusy: valid.ifBusy };
  const args: [ScheduledRunInput] = [{ kind, projectId, input, ifBusy: valid.ifBusy }];
  const options: ScheduleOptions = {
    scheduleId: scheduleId(projectId, kind),
    spec: { cronExpressions: [valid.cron], timezone: valid.timezone },
    action: {
      type: 'startWorkflow',
      workflowType: 'scheduledRun',
      workflowId: `${PREFIX}scheduled-${kind}-${projectId}`,
      taskQueue,
      args,
      typedSearchAttributes: [{ key: NeonProjectId, value: projectId }],
      ...runMetadata('scheduledRun', { kind, projectId }),
    },
    // A firing lasts as long as its run, so SKIP also skips while the previous firing's run is queued or running.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' },
    memo: { neonPromote: meta },
    typedSearchAttributes: [{ key: NeonProjectId, value: projectId }],
    state: { paused: valid.paused, note: valid.note },
  };
  try {
    await temporal.schedule.create(options).catch(async (err: unknown) => {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await temporal.schedule.getHandle(options.scheduleId).update((prev) => ({
        ...prev,
        spec: options.spec,
        action: options.action,
        policies: options.policies,
        memo: options.memo,
        state: { ...prev.state, ...(settings.paused !== undefined ? { paused: valid.paused, note: valid.note } : {}) },
      }));
    });
  } catch (err) {
    // The server parses the cron expression; the SDK turns its INVALID_ARGUMENT into a TypeError with the reason.
    if (err instanceof TypeError || (err as { code?: number }).code === GRPC_INVALID_ARGUMENT)
      throw new InvalidInputError(`invalid input: cron: ${firstLine(err)}`, 'cron');
    throw err;
  }
  return describeSchedule(temporal, projectId, kind);
}

export async function describeSchedule(temporal: Client, projectId: string, kind: ScheduleKind): Promise<ScheduleInfo> {
  const id = scheduleRef(projectId, kind);
  return toInfo(id, await temporal.schedule.getHandle(id).describe().catch(notFound(id)));
}

/** The neon-promote schedules, of one project or of all; a schedule just created may take a second to appear. */
export async function listSchedules(temporal: Client, projectId?: string): Promise<ScheduleInfo[]> {
  if (projectId !== undefined) validated(z.object({ projectId: neonId }), { projectId });
  const query = projectId ? `NeonProjectId = '${projectId}'` : undefined;
  const out: ScheduleInfo[] = [];
  for await (const summary of temporal.schedule.list(query ? { query } : {})) {
    if (summary.scheduleId.startsWith(PREFIX) && meta(summary)) out.push(toInfo(summary.scheduleId, summary));
  }
  return out.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

export async function setPaused(
  temporal: Client,
  projectId: string,
  kind: ScheduleKind,
  paused: boolean,
  note?: string,
): Promise<void> {
  const id = scheduleRef(projectId, kind);
  const handle = temporal.schedule.getHandle(id);
  await (paused ? handle.pause(note) : handle.unpause(note)).catch(notFound(id));
}

export async function deleteSchedule(temporal: Client, projectId: string, kind: ScheduleKind): Promise<void> {
  const id = scheduleRef(projectId, kind);
  await temporal.schedule.getHandle(id).delete().catch(notFound(id));
}

/** Fires the schedule now (its overlap policy, SKIP, applies to this firing too). */
export async function triggerSchedule(temporal: Client, projectId: string, kind: ScheduleKind): Promise<void> {
  const id = scheduleRef(projectId, kind);
  await temporal.schedule.getHandle(id).trigger(ScheduleOverlapPolicy.SKIP).catch(notFound(id));
}

function scheduleRef(projectId: string, kind: ScheduleKind): string {
  validated(z.object({ projectId: neonId, kind: z.enum(['refresh', 'janitor']) }), { projectId, kind });
  return scheduleId(projectId, kind);
}

function meta(schedule: { memo?: Record<string, unknown> }): Meta | undefined {
  return schedule.memo?.neonPromote as Meta | undefined;
}

function toInfo(id: string, schedule: ScheduleSummary | ScheduleDescription): ScheduleInfo {
  const recorded = meta(schedule) ?? { projectId: '?', kind: 'refresh', cron: '?', timezone: 'UTC', ifBusy: 'queue' };
  return {
    scheduleId: id,
    ...recorded,
    paused: schedule.state.paused,
    note: schedule.state.note || null,
    nextRuns: schedule.info.nextActionTimes.map((time) => time.toISOString()),
    recentRuns: schedule.info.recentActions.map((taken) => ({
      workflowId: taken.action.workflow.workflowId,
      at: taken.takenAt.toISOString(),
    })),
  };
}

/** A missing schedule is the caller's mistake (wrong project or kind), reported like other invalid input. */
function notFound(id: string) {
  return (err: unknown): never => {
    if (err instanceof ScheduleNotFoundError) throw new InvalidInputError(`no schedule ${id}`, 'schedule');
    throw err;
  };
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}
