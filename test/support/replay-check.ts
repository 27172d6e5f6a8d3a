/**
 * Replays every workflow history a Temporal server holds with the current workflow code: a change that would break a
 * run in flight (a command added, removed or reordered) shows up as a nondeterminism error here, on the histories the
 * tests really produced, before it reaches a worker that replays a cached-out run. Running executions replay too:
 * their history so far must still match.
 */
import { Client, Connection, type WorkflowExecutionInfo } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UNTRACED_SINKS } from '../../src/worker';
import { bundleProductionWorkflows, WORKFLOWS_PATH } from './workflow-bundle';

/** Where the histories that fail replay are written, one folder per server checked (git-ignored). */
export const REPLAY_FAILURES_DIR = join(__dirname, '..', '..', '.data', 'replay-failures');

export type ReplayFailure = { namespace: string; workflowId: string; runId: string; type: string; error: string };

export type ReplayReport = {
  replayed: number;
  running: number;
  /** Executions of workflow types the bundle does not export (test-only workflows), by type. */
  skipped: Record<string, number>;
  failures: ReplayFailure[];
};

export type ReplayCheckOptions = {
  address: string;
  /** Names the folder for failing histories: REPLAY_FAILURES_DIR/<label>. */
  label: string;
  /** The workflow code to replay with; the production bundle by default. */
  bundle?: WorkflowBundleWithSourceMap;
  /** The workflow types that bundle exports; those of src/workflows by default. */
  workflowTypes?: ReadonlySet<string>;
  /** A visibility query that narrows the executions checked (every one by default). */
  query?: string;
};

type Execution = { namespace: string; client: Client; info: WorkflowExecutionInfo };

const FETCHES_AT_ONCE = 8;

/** The functions the src/workflows barrel exports: every type a test worker on the production bundle can run. */
function productionWorkflowTypes(): Set<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const barrel = require(WORKFLOWS_PATH) as Record<string, unknown>;
  return new Set(Object.keys(barrel).filter((name) => typeof barrel[name] === 'function'));
}

async function listExecutions(connection: Connection, query?: string): Promise<Execution[]> {
  const { namespaces } = await connection.workflowService.listNamespaces({});
  const executions: Execution[] = [];
  for (const name of namespaces.map((ns) => ns.namespaceInfo?.name ?? '')) {
    if (!name || name === 'temporal-system') continue;
    const client = new Client({ connection, namespace: name });
    for await (const info of client.workflow.list({ query })) executions.push({ namespace: name, client, info });
  }
  return executions;
}

/** Histories in order, fetched a few at a time, so replay starts before the last one arrives. */
async function* histories(
  executions: Execution[],
  fetched: Map<string, temporal.api.history.v1.IHistory>,
): AsyncGenerator<{ workflowId: string; history: temporal.api.history.v1.IHistory }> {
  for (let i = 0; i < executions.length; i += FETCHES_AT_ONCE) {
    const batch = executions.slice(i, i + FETCHES_AT_ONCE);
    const loaded = await Promise.all(
      batch.map(({ client, info }) => client.workflow.getHandle(info.workflowId, info.runId).fetchHistory()),
    );
    for (const [j, history] of loaded.entries()) {
      fetched.set(batch[j]!.info.runId, history);
      yield { workflowId: batch[j]!.info.workflowId, history };
    }
  }
}

/** The SDK's own message of a replay failure (core's, quoted inside a longer explanation), on one line. */
function oneLine(message: string): string {
  const core = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1];
  return (core ?? message).replace(/\s+/g, ' ').trim();
}

/** Replays every execution on the server at `address` (all namespaces) and says which ones the code cannot replay. */
export async function replayServerHistories(options: ReplayCheckOptions): Promise<ReplayReport> {
  const connection = await Connection.connect({ address: options.address, connectTimeout: 60_000 });
  try {
    const known = options.workflowTypes ?? productionWorkflowTypes();
    const all = await listExecutions(connection, options.query);
    const skipped: Record<string, number> = {};
    const executions = all.filter(({ info }) => {
      if (known.has(info.type)) return true;
      skipped[info.type] = (skipped[info.type] ?? 0) + 1;
      return false;
    });
    const byRunId = new Map(executions.map((execution) => [execution.info.runId, execution]));
    const fetched = new Map<string, temporal.api.history.v1.IHistory>();
    const failures: ReplayFailure[] = [];
    let replayed = 0;
    if (executions.length > 0) {
      const workflowBundle = options.bundle ?? (await bundleProductionWorkflows());
      for await (const result of Worker.runReplayHistories(
        { workflowBundle, sinks: UNTRACED_SINKS },
        histories(executions, fetched),
      )) {
        replayed++;
        if (!result.error) continue;
        const execution = byRunId.get(result.runId);
        failures.push({
          namespace: execution?.namespace ?? '?',
          workflowId: result.workflowId,
          runId: result.runId,
          type: execution?.info.type ?? '?',
          error: oneLine(result.error.message),
        });
      }
    }
    writeFailedHistories(options.label, failures, fetched);
    const running = executions.filter(({ info }) => info.status.name === 'RUNNING').length;
    return { replayed, running, skipped, failures };
  } finally {
    await connection.close();
  }
}

function writeFailedHistories(
  label: string,
  failures: ReplayFailure[],
  fetched: Map<string, temporal.api.history.v1.IHistory>,
): void {
  const dir = join(REPLAY_FAILURES_DIR, label);
  rmSync(dir, { recursive: true, force: true });
  if (failures.length === 0) return;
  mkdirSync(dir, { recursive: true });
  for (const failure of failures) {
    const history = fetched.get(failure.runId);
    const file = `${failure.workflowId}-${failure.runId}.json`.replace(/[^\w.-]+/g, '_');
    if (history) writeFileSync(join(dir, file), historyToJSON(history) + '\n');
  }
}

/** One line per failure, and where their histories are. */
export function describeFailures(label: string, report: ReplayReport): string {
  return [
    `${report.failures.length} of ${report.replayed} workflow histories do not replay with the current workflow code ` +
      `(histories in ${join(REPLAY_FAILURES_DIR, label)}):`,
    ...report.failures.map(
      (failure) => `  ${failure.workflowId} (${failure.type}, run ${failure.runId}): ${failure.error}`,
    ),
  ].join('\n');
}

/** The one line said when every history replays. */
export function summarize(label: string, report: ReplayReport): string {
  const skipped = Object.entries(report.skipped).map(([type, count]) => `${count} ${type}`);
  return (
    `replay (${label}): ${report.replayed} histories replayed (${report.running} of them running), ` +
    `${report.failures.length} nondeterminism` +
    (skipped.length ? `; test-only workflows not replayed: ${skipped.join(', ')}` : '')
  );
}

/**
 * Replays every history on the server and throws when any fails, with one line per failing workflow; prints the
 * summary line otherwise. For a test or teardown to call before it stops its server.
 */
export async function expectServerHistoriesReplay(options: ReplayCheckOptions): Promise<ReplayReport> {
  const report = await replayServerHistories(options);
  if (report.failures.length > 0) throw new Error(describeFailures(options.label, report));
  process.stderr.write(`${summarize(options.label, report)}\n`);
  return report;
}
