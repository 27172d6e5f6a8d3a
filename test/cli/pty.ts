import { spawn } from 'node:child_process';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

export type PtyRun = {
  /** Everything the terminal received so far, escape sequences and carriage returns included. */
  raw(): string;
  /** The screen as an operator reads it: each line as it stands after the CLI redrew it. */
  screen(): string;
  /** Sends keys (e.g. '\x03' for Ctrl-C) as the terminal would. */
  press(keys: string): void;
  /** Resolves once `pattern` is on the screen (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
};

/** A shell word for `script -c`: the whole argument in single quotes. */
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * The CLI in a pseudo-terminal, as an operator runs it: util-linux's `script` gives it a terminal (isTTY, colours,
 * the redrawn live line), and its own output is what that terminal showed. The process runs src/cli/main.ts through
 * tsx, with these variables over the test's.
 */
export function inTerminal(settings: Record<string, string | undefined>, args: readonly string[]): PtyRun {
  const command = [process.execPath, '--require', 'tsx/cjs', join(root, 'src/cli/main.ts'), ...args].map(quote);
  const env: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color', COLUMNS: '160', LINES: '50' };
  delete env.NO_COLOR;
  for (const [name, value] of Object.entries(settings)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  // `stty cols` first: a fresh pty is 0 columns wide, which would cut the live line to nothing.
  const child = spawn('script', ['-qfec', `stty cols 160 rows 50; exec ${command.join(' ')}`, '/dev/null'], {
    cwd: root,
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let raw = '';
  const waiters: (() => void)[] = [];
  const take = (data: Buffer) => {
    raw += data.toString();
    for (const wake of waiters.splice(0)) wake();
  };
  child.stdout.on('data', take);
  child.stderr.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const run: PtyRun = {
    raw: () => raw,
    screen: () => render(raw),
    press: (keys) => void child.stdin.write(keys),
    async waitFor(pattern, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      let closed = false;
      void exited.then(() => (closed = true));
      while (!pattern.test(run.screen())) {
        if (closed) throw new Error(`the CLI exited before ${String(pattern)} was shown:\n${run.screen()}`);
        if (Date.now() > deadline)
          throw new Error(`not shown within ${timeoutMs} ms: ${String(pattern)}\n${run.screen()}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 200);
        });
      }
    },
    exited,
  };
  return run;
}

/**
 * What a terminal shows for this output: colours dropped, a carriage return starting the line over, "erase to the
 * end of the line" erasing it. Enough for the CLI's redrawn status line; not a general terminal emulator.
 */
export function render(raw: string): string {
  const lines: string[] = [];
  let line = '';
  let col = 0;
  // eslint-disable-next-line no-control-regex -- terminal control sequences are what this reads
  const tokens = raw.replace(/\x1b\[[0-9;]*m/g, '').split(/(\r\n|\n|\r|\x1b\[K)/);
  for (const token of tokens) {
    if (token === '\n' || token === '\r\n') {
      lines.push(line);
      line = '';
      col = 0;
    } else if (token === '\r') col = 0;
    else if (token === '\x1b[K') line = line.slice(0, col);
    else if (token) {
      line = line.slice(0, col) + token + line.slice(col + token.length);
      col += token.length;
    }
  }
  if (line) lines.push(line);
  return lines.join('\n');
}

/** The lines of the screen with colours and the like stripped, and no trailing spaces. */
export const screenLines = (run: PtyRun): string[] =>
  run
    .screen()
    .split('\n')
    .map((text) => text.trimEnd());
