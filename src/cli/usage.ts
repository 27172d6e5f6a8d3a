import { type Command, CommanderError, type OutputConfiguration } from 'commander';

/** Commander's errors for a word on the command line that names nothing this program knows. */
const UNKNOWN_WORDS = new Set(['commander.unknownCommand', 'commander.unknownOption', 'commander.excessArguments']);

const HELP_REQUESTS = new Set(['--help', '-h', 'help']);

/** The probe writes nothing: neither help nor commander's error lines. */
const silent: OutputConfiguration = { writeOut: () => {}, writeErr: () => {}, outputError: () => {} };

/**
 * Commander answers a help request before it looks at the other words: left to it, `neon-promote frobnicate --help`
 * prints the general help and exits 0, and a typo in a script passes. So the words without the help request are
 * parsed first by a silent copy of the program whose actions never run (and whose options are all optional, so that a
 * missing one does not hide an unknown one); an unknown command, option or extra argument there is thrown as
 * commander's error.
 */
export async function refuseUnknownWords(
  args: readonly string[],
  build: (output: OutputConfiguration) => Command,
): Promise<void> {
  const words = args.filter((arg) => !HELP_REQUESTS.has(arg));
  if (words.length === args.length || words.length === 0) return;
  const probe = build(silent);
  for (const command of withSubcommands(probe)) {
    for (const option of command.options) option.makeOptionMandatory(false);
  }
  probe.hook('preAction', () => {
    throw new Error('parsed: the words name a command');
  });
  try {
    await probe.parseAsync(words, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError && UNKNOWN_WORDS.has(err.code)) throw err;
  }
}

function* withSubcommands(command: Command): Generator<Command> {
  yield command;
  for (const subcommand of command.commands) yield* withSubcommands(subcommand);
}

/** Commander's usage error as one line: "error: unknown command 'x'\n(Did you mean y?)" -> "unknown command 'x' (did you mean y?)". */
export function usageLine(err: CommanderError): string {
  return err.message
    .replace(/^error: /, '')
    .replace(/\(Did you mean/, '(did you mean')
    .replace(/\s*\n\s*/g, ' ');
}
