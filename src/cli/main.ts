import { Command, CommanderError, type OutputConfiguration } from 'commander';
import { registerInspection } from './commands/inspect';
import { registerMutations } from './commands/mutations';
import { registerPreviews } from './commands/previews';
import { registerSchedules } from './commands/schedules';
import { registerSnapshots } from './commands/snapshots';
import { registerUnfence } from './commands/unfence';
import { InvalidInputError } from '../client/input-errors';
import { EXIT, type ExitCode } from './exit';
import { inFlagTerms } from './flags';
import { load } from './lazy';
import { refuseUnknownWords, usageLine } from './usage';

const EXIT_CODES = `
Exit codes:
  0  success (promoted, refreshed, rolled back by the rollback command, ...; or started without --wait)
  1  failed or cancelled
  2  invalid input or an unknown command or option (nothing was started, nothing changed at Neon)
  3  rolled back: the promotion failed its checks on prod and prod was restored
  4  refused or aborted: the project was busy, a precondition failed, or checks failed before the swap (prod untouched)

Temporal settings: the options above, else as Temporal's CLI reads them: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY and TEMPORAL_TLS_* over the profile TEMPORAL_PROFILE names (default "default") in TEMPORAL_CONFIG_FILE
(default ~/.config/temporalio/temporal.toml). For the local stack: source .data/stack.env.`;

/** Temporal CLI's connection options: as there, each one is its environment variable, given for this run. */
const TEMPORAL_OPTIONS = {
  profile: 'TEMPORAL_PROFILE',
  configFile: 'TEMPORAL_CONFIG_FILE',
  address: 'TEMPORAL_ADDRESS',
  namespace: 'TEMPORAL_NAMESPACE',
} as const;

/**
 * Before a command runs: the Temporal options go into the environment, where the client and the worker read their
 * settings, and settings that cannot be read (a missing profile or file, bad TOML) are invalid input.
 */
function useTemporalOptions(options: Record<string, unknown>): void {
  for (const [option, variable] of Object.entries(TEMPORAL_OPTIONS)) {
    if (typeof options[option] === 'string') process.env[variable] = options[option];
  }
  // Loaded here, not with the module: `--help` and usage errors need none of it.
  const { temporalSettingsFromEnv } = load.connection();
  try {
    temporalSettingsFromEnv();
  } catch (err) {
    throw new InvalidInputError(err instanceof Error ? err.message : String(err), 'temporal');
  }
}

/** The program; `output` replaces where commander writes (its error lines are silent: main prints one line). */
export function buildProgram(output: OutputConfiguration = {}): Command {
  const program = new Command('neon-promote')
    // Before the subcommands are added: they take their output settings from here.
    .configureOutput({ outputError: () => {}, ...output })
    .description('Neon dev -> prod promotion as crash-safe Temporal workflows')
    .option('--json', 'machine output: one JSON document on stdout, no progress')
    .option('--debug', 'print stack traces of errors')
    .option('--task-queue <name>', 'task queue of the workers (default neon-promote)')
    .option('--profile <name>', 'Temporal profile of the config file (TEMPORAL_PROFILE; default "default")')
    .option('--config-file <path>', 'Temporal config file (TEMPORAL_CONFIG_FILE)')
    .option('--address <host:port>', 'Temporal frontend (TEMPORAL_ADDRESS; default localhost:7233)')
    .option('--namespace <name>', 'Temporal namespace (TEMPORAL_NAMESPACE; default "default")')
    .hook('preAction', (_program, command) => useTemporalOptions(command.optsWithGlobals()))
    .addHelpText('after', EXIT_CODES)
    .exitOverride();

  program
    .command('worker')
    .description('run a worker (TEMPORAL_* settings; NEON_API_KEY, NEON_API_BASE_URL) until SIGINT/SIGTERM')
    // Loaded on use: @temporalio/worker (native core, bundler) costs every other command its start-up time.
    .action(() => load.worker().runWorker());

  registerMutations(program);
  registerUnfence(program);
  registerInspection(program);
  registerPreviews(program);
  registerSchedules(program);
  registerSnapshots(program);
  return program;
}

/** Errors end as one line on stderr (no stack unless --debug) and an exit code (see EXIT_CODES). */
export async function main(argv = process.argv): Promise<void> {
  try {
    await refuseUnknownWords(argv.slice(2), buildProgram);
    await buildProgram().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help asked for is not an error. Help commander printed to stderr answers a group without its subcommand
      // (`neon-promote preview`): nothing ran, so that is a usage error too.
      if (err.exitCode === 0) process.exitCode = EXIT.ok;
      else {
        if (err.code !== 'commander.help') process.stderr.write(`neon-promote: ${usageLine(err)}\n`);
        process.exitCode = EXIT.invalidInput;
      }
      return;
    }
    const { describeError } = load.describeError();
    const described = describeError(err);
    const { code: exit, message } = forOperator(described);
    const json = argv.includes('--json');
    process.stderr.write(`neon-promote: ${message}${described.hint && !json ? ` (${described.hint})` : ''}\n`);
    // Machine output promises one JSON document: a refusal is an answer, not silence.
    if (json && exit === EXIT.refused) {
      const reason = message.replace(/^refused: /, '');
      const details = described.details !== undefined ? { details: described.details } : {};
      process.stdout.write(`${JSON.stringify({ outcome: 'refused', reason, ...details }, null, 2)}\n`);
    }
    if (argv.includes('--debug') && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    process.exitCode = exit;
  }
}

/**
 * The error in the operator's terms: flags rather than input fields, and a project Neon does not have (the plan's
 * first call, listing its branches, answers 404) as a refusal that says so rather than the HTTP route.
 */
function forOperator(described: { code: ExitCode; message: string }): { code: ExitCode; message: string } {
  const message = inFlagTerms(described.message);
  if (/GET \/projects\/\{project_id\}\/branches failed with 404/.test(message))
    return {
      code: EXIT.refused,
      message: "refused: no such project at Neon (or the worker's NEON_API_KEY cannot see it); nothing was changed",
    };
  return { code: described.code, message };
}

if (require.main === module) void main();
