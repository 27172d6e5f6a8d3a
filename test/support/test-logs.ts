/**
 * Where a test run's logs go: the Temporal dev server's output, the SDK's and core's log lines, emulators and worker
 * processes write to files under .data/test-logs/ (git-ignored), one per source or test file, so a passing run shows
 * the tests only. log-reporter.js names the files when a test fails; runtime-log.ts writes the SDK's.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export const TEST_LOGS_DIR = join(ROOT, '.data', 'test-logs');

/** The Temporal dev server of the jest run (test/support/global-setup.ts). */
export const SERVER_LOG = join(TEST_LOGS_DIR, 'temporal-server.log');

/** The jest process itself: the replay check at teardown runs a worker there. */
export const JEST_PROCESS_LOG = join(TEST_LOGS_DIR, 'jest-process.log');

/** A test file's log: its path in the repository with `.log` added (test/cli/cli.test.ts.log). */
export function logFileOf(testPath: string): string {
  return join(TEST_LOGS_DIR, `${relative(ROOT, testPath)}.log`);
}

/** A log file as messages name it: relative to the repository. */
export function shownPath(file: string): string {
  return relative(ROOT, file);
}

/** Empties a log (or makes it) with a first line saying which run wrote it. */
export function startLog(file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `# ${new Date().toISOString()} pid ${process.pid}\n`);
}

/**
 * Appends to a log. Another run in the same checkout may have removed the folder meanwhile: it is made again rather
 * than letting a log line fail the test that wrote it.
 */
export function appendLog(file: string, text: string | Uint8Array): void {
  try {
    appendFileSync(file, text);
  } catch {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, text);
  }
}

/** A file descriptor appending to a log, for a child process's stdout or stderr; closed once `spawn` has it. */
export function logDescriptor(file: string): { fd: number; close(): void } {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  return { fd, close: () => closeSync(fd) };
}

/** The log of the test file running now (support code runs inside jest's sandbox, where `expect` is global). */
export function currentTestLog(): string {
  const { testPath } = expect.getState();
  if (!testPath) throw new Error('currentTestLog: no test file is running');
  return logFileOf(testPath);
}

/**
 * In a jest worker process, whatever else the test file writes to stderr goes to its log too: loggers tests make
 * themselves (a MockActivityEnvironment's or the workflow bundler's default one), summaries of servers a test starts.
 * Not when jest runs the file in its own process (one test file), where its reporter writes to that same stream.
 */
export function captureStderr(file: string): void {
  // A jest worker process talks to jest over an IPC channel (jest's sandbox stubs process.send, not the channel).
  const inWorkerProcess = process.channel !== undefined;
  if (!inWorkerProcess) return;
  process.stderr.write = (chunk: string | Uint8Array, ...rest: unknown[]) => {
    appendLog(file, chunk);
    const done = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    done?.();
    return true;
  };
}
