import { runCli } from '../support/cli';
import { freePort } from '../support/ports';

// A command line with a word the CLI does not know fails before anything runs, even with --help, so a typo in a
// script cannot pass as a success. Nothing listens at the Temporal address: a command that ran would fail otherwise.
let settings: Record<string, string | undefined>;
beforeAll(async () => {
  settings = { TEMPORAL_ADDRESS: `127.0.0.1:${await freePort()}`, NEON_PROJECT_ID: 'p-1' };
});

const cli = (...args: string[]) => runCli(settings, args);

test.each([
  [['frobnicate', '--help'], "unknown command 'frobnicate'"],
  [['help', 'frobnicate'], "unknown command 'frobnicate'"],
  [['promot'], "unknown command 'promot' (did you mean promote?)"],
  [['preview', 'frobnicate'], "unknown command 'frobnicate'"],
  [['preview', 'frobnicate', '--help'], "unknown command 'frobnicate'"],
  [['schedule', 'nope'], "unknown command 'nope'"],
  [['--frob', 'runs'], "unknown option '--frob'"],
  [['promote', '--frob'], "unknown option '--frob' (did you mean --prod?)"],
  [['promote', '--frob', '--help'], "unknown option '--frob' (did you mean --prod?)"],
  // --cron is required: its absence must not hide the unknown option behind the help.
  [['schedule', 'refresh', '--crn', '0 3 * * *', '--help'], "unknown option '--crn' (did you mean --cron?)"],
  [['status', 'run-1', 'run-2', '--help'], "too many arguments for 'status'. Expected 1 argument but got 2."],
])('%j: one line naming the unknown word on stderr, nothing on stdout, exit 2', async (args, line) => {
  const result = await cli(...args);
  expect(result).toEqual({ code: 2, stdout: '', stderr: `neon-promote: ${line}\n` });
});

test.each([[['--help']], [['help', 'promote']], [['promote', '--help']], [['schedule', 'refresh', '--help']]])(
  '%j: the help on stdout, exit 0',
  async (args) => {
    const result = await cli(...args);
    expect(result.stdout).toMatch(/^Usage: neon-promote/);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  },
);

test('a group without its subcommand: its help on stderr, exit 2 (nothing ran)', async () => {
  const result = await cli('preview');
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(/^Usage: neon-promote preview .*\n[^]*\n {2}create /);
  expect(result.code).toBe(2);
});
