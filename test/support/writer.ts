import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { currentTestLog, logDescriptor } from './test-logs';

/** What a writer process reported: every id whose commit it saw acknowledged, and its errors by SQLSTATE. */
export type WriterReport = { committed: number[]; errors: Record<string, number> };

export type Writer = {
  /** Acknowledged ids so far. */
  committed(): number[];
  /** Errors so far, by SQLSTATE ('25006' read-only, '57P01' session ended, ...) or 'dropped'/'connect'. */
  errors(): Record<string, number>;
  /** Resolves once `n` more commits than now were acknowledged. */
  waitForCommits(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves once an error with this code was reported. */
  waitForError(code: string, timeoutMs?: number): Promise<void>;
  /** Stops the writer after its current insert and returns what it reported. */
  stop(): Promise<WriterReport>;
};

/**
 * Starts a child process that inserts `(id, note)` rows into `table` every `intervalMs` through `connectionString`
 * (passed in its environment, not its arguments). The table must have `id bigint primary key, note text`.
 */
export function startWriter(opts: {
  connectionString: string;
  table?: string;
  intervalMs?: number;
  firstId?: number;
}): Writer {
  const testLog = logDescriptor(currentTestLog());
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'writer-process.ts')], {
    env: {
      ...process.env,
      WRITER_URI: opts.connectionString,
      WRITER_TABLE: opts.table ?? 'writes',
      WRITER_INTERVAL_MS: String(opts.intervalMs ?? 5),
      WRITER_FIRST_ID: String(opts.firstId ?? 1),
    },
    stdio: ['ignore', 'pipe', testLog.fd],
  });
  testLog.close();
  const committed: number[] = [];
  const errors: Record<string, number> = {};
  let listeners: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const [kind, value] = line.split(' ');
    if (kind === 'ok') committed.push(Number(value));
    else if (kind === 'err') errors[value ?? '?'] = (errors[value ?? '?'] ?? 0) + 1;
    for (const l of listeners) l();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const until = (test: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (test()) return resolve();
      const timer = setTimeout(() => reject(new Error(`writer: no ${what} within ${timeoutMs} ms`)), timeoutMs);
      const check = () => {
        if (!test()) return;
        clearTimeout(timer);
        listeners = listeners.filter((l) => l !== check);
        resolve();
      };
      listeners.push(check);
    });
  return {
    committed: () => [...committed],
    errors: () => ({ ...errors }),
    waitForCommits(n, timeoutMs = 20_000) {
      const target = committed.length + n;
      return until(() => committed.length >= target, `${n} commits`, timeoutMs);
    },
    waitForError: (code, timeoutMs = 20_000) => until(() => (errors[code] ?? 0) > 0, `error ${code}`, timeoutMs),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      return { committed: [...committed], errors: { ...errors } };
    },
  };
}
