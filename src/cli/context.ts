import type { Command } from 'commander';
import { z } from '../shared/zod';
import type { NeonPromoteClient } from '../client';
import { InvalidInputError, validated } from '../client/input-errors';
import { neonId } from '../workflows/contract/inputs';
import { load } from './lazy';
import { unreachable } from './reach';
import { summaryLines, type RunResult } from './summary';
import { terminal, type Terminal } from './terminal';
import { watchRun, type WatchOptions } from './watch';
import { EXIT, exitForOutcome, type ExitCode } from './exit';

/** Options every command accepts (set on the program). */
export type GlobalOptions = { json?: boolean; debug?: boolean; taskQueue?: string };

/** What a command needs: a client, where to print, and how. */
export type Ctx = {
  client: NeonPromoteClient;
  json: boolean;
  term: Terminal;
  /** Machine output: one JSON document on stdout. */
  emit(value: unknown): void;
};

/**
 * Checks a command's input against its workflow's schema before anything connects (so bad input exits 2 even when
 * Temporal is down) and returns it unchanged: the client validates it again, and the workflow once more.
 */
export function checked<S extends z.core.$ZodType>(schema: S, input: z.input<S>): z.input<S> {
  validated(schema, input);
  return input;
}

/** A workflow ID given on the command line (Temporal's own limit is far higher; this one is for humans). */
const workflowId = (most: number) =>
  z.string().check(
    z.minLength(1),
    z.maxLength(most),
    // eslint-disable-next-line no-control-regex -- a control character would hide what the ID really is
    z.refine((id) => !/[\u0000-\u001f\u007f]/.test(id), 'must not contain control characters'),
  );
export const runId = workflowId(400);

/** --workflow-id of a run to start: the project's coordinator admits IDs of 1-200 characters (its validator). */
const newRunId = workflowId(200);

const startSchema = z.object({
  ifBusy: z.optional(z.enum(['queue', 'refuse'])),
  workflowId: z.optional(newRunId),
});

/** --if-busy and --workflow-id of the mutating commands, checked. */
export function startOptions(flags: { ifBusy?: string; workflowId?: string }): z.output<typeof startSchema> {
  return validated(startSchema, { ifBusy: flags.ifBusy, workflowId: flags.workflowId });
}

/** Runs a command with a connected client; its exit code becomes the process's (errors: see src/cli/main.ts). */
export async function withClient(cmd: Command, fn: (ctx: Ctx) => Promise<ExitCode>): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  // The Temporal SDK is loaded when a command needs it, not with the program: `--help` answers without it.
  const { NeonPromoteClient } = load.client();
  const { temporalSettingsFromEnv } = load.connection();
  const { tracingFromEnv } = load.tracing();
  const temporal = temporalSettingsFromEnv();
  const tracing = await tracingFromEnv(process.env, 'neon-promote-cli');
  const json = Boolean(globals.json);
  const term = terminal();
  // Something on screen from the Enter key on: connecting and starting take a second or two.
  if (!json) term.status(term.dim(`connecting to Temporal at ${temporal.address} ...`));
  const failed = (why: string) => {
    term.status(''); // the error goes to stderr: no half line left on the terminal
    return new Error(cannotReach(temporal.address, why));
  };
  const refused = await unreachable(temporal.address);
  if (refused) throw failed(refused);
  const client = await NeonPromoteClient.connect({
    temporal,
    taskQueue: globals.taskQueue || process.env.NEON_PROMOTE_TASK_QUEUE,
    tracing: Boolean(tracing),
  }).catch((err: unknown) => {
    throw failed(err instanceof Error ? err.message : String(err));
  });
  try {
    const emit = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    process.exitCode = await fn({ client, json, term, emit });
  } finally {
    await client.close();
    await tracing?.shutdown();
  }
}

const cannotReach = (address: string, why: string) =>
  `cannot reach Temporal at ${address} (${why}); start one (npm run dev) or set TEMPORAL_ADDRESS`;

/** The project: --project, else NEON_PROJECT_ID. */
export function projectOf(flags: { project?: string }): string {
  const id = flags.project ?? process.env.NEON_PROJECT_ID;
  if (!id) throw new InvalidInputError('--project is required (or set NEON_PROJECT_ID)', 'projectId');
  return validated(z.object({ projectId: neonId }), { projectId: id }).projectId;
}

/** The fields every mutating command shares, from --project/--prod/--dev/--database/--role. */
export function projectInput(flags: {
  project?: string;
  prod?: string;
  dev?: string;
  database?: string;
  role?: string;
}) {
  return {
    projectId: projectOf(flags),
    ...(flags.prod ? { prodBranchName: flags.prod } : {}),
    ...(flags.dev ? { devBranchName: flags.dev } : {}),
    ...(flags.database ? { databaseName: flags.database } : {}),
    ...(flags.role ? { roleName: flags.role } : {}),
  };
}

/**
 * After a start: without --wait, says where the run is (and exits 0); with --wait, shows its steps live (a redrawn
 * line on a terminal, one line per step elsewhere; nothing but the result with --json), then its final screen, and
 * exits by its outcome.
 */
export async function follow(
  ctx: Ctx,
  command: string,
  run: { workflowId: string; position: number; result(): Promise<unknown> },
  wait: boolean,
  options: WatchOptions = {},
): Promise<ExitCode> {
  if (!wait) {
    if (ctx.json) ctx.emit({ workflowId: run.workflowId, position: run.position });
    else {
      const queued = run.position > 0 ? ` (queued behind ${run.position} run${run.position > 1 ? 's' : ''})` : '';
      ctx.term.line(
        `started ${run.workflowId}${queued}; follow it with: neon-promote status ${run.workflowId} --follow`,
      );
    }
    return EXIT.ok;
  }
  const started = Date.now();
  if (!ctx.json)
    ctx.term.line(`${command} ${run.workflowId}${run.position > 0 ? ` (queued: ${run.position} ahead)` : ''}`);
  const result = (await (ctx.json
    ? run.result()
    : watchRun(ctx.client, ctx.term, run.workflowId, run.result(), options))) as RunResult;
  if (ctx.json) ctx.emit(result);
  else {
    const took = Date.now() - started;
    for (const line of summaryLines(ctx.term, { workflowId: run.workflowId, command, tookMs: took }, result))
      ctx.term.line(line);
  }
  return exitForOutcome(result.outcome, command);
}
