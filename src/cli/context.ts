import type { Command } from 'commander';
import { z } from 'zod';
import { NeonPromoteClient } from '../client';
import { InvalidInputError, validated } from '../client/errors';
import { neonId } from '../workflows/contract/inputs';
import { temporalSettingsFromEnv } from '../temporal/connection';
import { tracingFromEnv } from '../observability/tracing';
import type { WriteReport } from '../workflows/contract/definitions';
import { sinceForkLines } from './prod-writes';
import { terminal, type Terminal } from './terminal';
import { watchRun } from './watch';
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
export const runId = z
  .string()
  .min(1)
  .max(400)
  // eslint-disable-next-line no-control-regex -- a control character would hide what the ID really is
  .refine((id) => !/[\u0000-\u001f\u007f]/.test(id), 'must not contain control characters');

/** --workflow-id of a run to start: the project's coordinator admits IDs of 1-200 characters (its validator). */
const newRunId = runId.max(200);

const startSchema = z.object({ ifBusy: z.enum(['queue', 'refuse']).optional(), workflowId: newRunId.optional() });

/** --if-busy and --workflow-id of the mutating commands, checked. */
export function startOptions(flags: { ifBusy?: string; workflowId?: string }): z.output<typeof startSchema> {
  return validated(startSchema, { ifBusy: flags.ifBusy, workflowId: flags.workflowId });
}

/** Runs a command with a connected client; its exit code becomes the process's (errors: see src/cli/main.ts). */
export async function withClient(cmd: Command, fn: (ctx: Ctx) => Promise<ExitCode>): Promise<void> {
  const globals = cmd.optsWithGlobals<GlobalOptions>();
  const temporal = temporalSettingsFromEnv();
  const tracing = await tracingFromEnv(process.env, 'neon-promote-cli');
  const client = await NeonPromoteClient.connect({
    temporal,
    taskQueue: globals.taskQueue || process.env.NEON_PROMOTE_TASK_QUEUE,
    tracing: Boolean(tracing),
  }).catch((err: unknown) => {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `cannot reach Temporal at ${temporal.address} (${why}); start one (npm run dev) or set TEMPORAL_ADDRESS`,
    );
  });
  try {
    const json = Boolean(globals.json);
    const emit = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    process.exitCode = await fn({ client, json, term: terminal(), emit });
  } finally {
    await client.close();
    await tracing?.shutdown();
  }
}

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
 * line on a terminal, one line per step elsewhere; nothing but the result with --json) and exits by its outcome.
 */
export async function follow(
  ctx: Ctx,
  command: string,
  run: { workflowId: string; position: number; result(): Promise<unknown> },
  wait: boolean,
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
  if (!ctx.json)
    ctx.term.line(`${command} ${run.workflowId}${run.position > 0 ? ` (queued: ${run.position} ahead)` : ''}`);
  const result = (await (ctx.json ? run.result() : watchRun(ctx.client, ctx.term, run.workflowId, run.result()))) as {
    outcome?: string;
    reason?: string | null;
    writes?: WriteReport | null;
  };
  if (ctx.json) ctx.emit(result);
  else {
    for (const line of sinceForkLines(ctx.term, result.writes)) ctx.term.line(line);
    ctx.term.line(`${result.outcome ?? 'done'}${result.reason ? `: ${result.reason}` : ''}`);
  }
  return exitForOutcome(result.outcome, command);
}
