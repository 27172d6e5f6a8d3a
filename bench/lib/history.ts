/**
 * Where a promotion's time goes between Temporal's history events: every moment from the client's call to its
 * result is given to one category, so the parts add up to the wall time.
 *
 * - `admission`: the client's call until the promote run's WorkflowExecutionStarted (update-with-start on the
 *   coordinator, its workflow task, the child's start);
 * - `activityDispatch`: ActivityTaskScheduled -> ActivityTaskStarted (matching hands the task to a poller; ~0 when
 *   the server dispatches it eagerly in the workflow task's completion);
 * - `activityRun`: ActivityTaskStarted -> Completed (the activity itself: Neon calls, SQL, operation waits);
 * - `workflowTaskWait`: anything -> WorkflowTaskStarted (a workflow task scheduled after an activity, a signal, a
 *   child, and handed to the sticky poller);
 * - `workflowTaskRun`: WorkflowTaskStarted -> Completed (workflow code on the worker, and local activities);
 * - `timers`: TimerStarted -> TimerFired;
 * - `result`: WorkflowExecutionCompleted until the client has the result;
 * - `other`: whatever else lies between two events (signals, children, markers).
 *
 * Activity time is split further by the tap's records: `inNeon` is the part spent in API calls and operations.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type Event = temporal.api.history.v1.IHistoryEvent;

export type Breakdown = {
  admission: number;
  activityDispatch: number;
  activityRun: number;
  workflowTaskWait: number;
  workflowTaskRun: number;
  timers: number;
  result: number;
  other: number;
  /** Counts: activities scheduled, workflow tasks, local activity markers. */
  activities: number;
  workflowTasks: number;
  localActivities: number;
  /** Each activity's type with its dispatch and run time, in order. */
  perActivity: { type: string; dispatchMs: number; runMs: number }[];
};

const TYPE = (e: Event): string => {
  const t = Number(e.eventType ?? 0);
  return EVENT_NAMES[t] ?? String(t);
};

// temporal.api.enums.v1.EventType, the ones the breakdown names.
const EVENT_NAMES: Record<number, string> = {
  1: 'WorkflowExecutionStarted',
  2: 'WorkflowExecutionCompleted',
  5: 'WorkflowTaskScheduled',
  6: 'WorkflowTaskStarted',
  7: 'WorkflowTaskCompleted',
  8: 'WorkflowTaskTimedOut',
  10: 'ActivityTaskScheduled',
  11: 'ActivityTaskStarted',
  12: 'ActivityTaskCompleted',
  13: 'ActivityTaskFailed',
  17: 'TimerStarted',
  18: 'TimerFired',
  25: 'MarkerRecorded',
  26: 'WorkflowExecutionSignaled',
};

const ms = (e: Event): number => {
  const t = e.eventTime!;
  return Number(t.seconds ?? 0) * 1000 + Math.floor(Number(t.nanos ?? 0) / 1e6);
};

/** The category of the time between `prev` and `next` (consecutive in time). */
function category(prev: string, next: string, timerOpen: boolean): keyof Breakdown {
  if (next === 'ActivityTaskStarted') return 'activityDispatch';
  if (prev === 'ActivityTaskStarted' && (next === 'ActivityTaskCompleted' || next === 'ActivityTaskFailed'))
    return 'activityRun';
  if (next === 'WorkflowTaskStarted' || next === 'WorkflowTaskScheduled') return 'workflowTaskWait';
  if (prev === 'WorkflowTaskStarted') return 'workflowTaskRun';
  if (timerOpen) return 'timers';
  return 'other';
}

export async function historyBreakdown(
  client: Client,
  workflowId: string,
  calledAt: number,
  resultAt: number,
): Promise<Breakdown> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = (history.events ?? []).slice().sort((a, b) => ms(a) - ms(b) || Number(a.eventId) - Number(b.eventId));
  const out: Breakdown = {
    admission: 0,
    activityDispatch: 0,
    activityRun: 0,
    workflowTaskWait: 0,
    workflowTaskRun: 0,
    timers: 0,
    result: 0,
    other: 0,
    activities: 0,
    workflowTasks: 0,
    localActivities: 0,
    perActivity: [],
  };
  if (!events.length) return out;
  out.admission = ms(events[0]!) - calledAt;
  out.result = resultAt - ms(events[events.length - 1]!);
  let timers = 0;
  for (let i = 1; i < events.length; i++) {
    const [a, b] = [TYPE(events[i - 1]!), TYPE(events[i]!)];
    const cat = category(a, b, timers > 0);
    (out[cat] as number) += ms(events[i]!) - ms(events[i - 1]!);
    if (b === 'TimerStarted') timers++;
    if (b === 'TimerFired') timers--;
  }
  const scheduled = new Map<string, { type: string; at: number; startedAt?: number }>();
  for (const e of events) {
    const t = TYPE(e);
    if (t === 'WorkflowTaskStarted') out.workflowTasks++;
    if (t === 'MarkerRecorded' && e.markerRecordedEventAttributes?.markerName === 'core_local_activity')
      out.localActivities++;
    if (t === 'ActivityTaskScheduled') {
      out.activities++;
      const type = e.activityTaskScheduledEventAttributes?.activityType?.name ?? '?';
      scheduled.set(String(e.eventId), { type, at: ms(e) });
    }
    if (t === 'ActivityTaskStarted') {
      const s = scheduled.get(String(e.activityTaskStartedEventAttributes?.scheduledEventId));
      if (s) s.startedAt = ms(e);
    }
    if (t === 'ActivityTaskCompleted' || t === 'ActivityTaskFailed') {
      const attrs = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
      const s = scheduled.get(String(attrs?.scheduledEventId));
      if (s?.startedAt !== undefined)
        out.perActivity.push({ type: s.type, dispatchMs: s.startedAt - s.at, runMs: ms(e) - s.startedAt });
    }
  }
  return out;
}

export const BREAKDOWN_PARTS = [
  'admission',
  'activityDispatch',
  'activityRun',
  'workflowTaskWait',
  'workflowTaskRun',
  'timers',
  'result',
  'other',
] as const;
