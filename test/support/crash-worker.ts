/**
 * Worker processes that a test can kill at a chosen activity boundary (test/support/crash-worker-process.ts is the
 * process): the crash tests of promote and of the reliability suite run promotions on them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Emulator } from '../../tools/emulator';
import { currentTestLog, logDescriptor, shownPath } from './test-logs';

export type CrashWorker = {
  proc: ChildProcess;
  /** stdout control lines so far ("START x#n@k", "DONE x#n@k", "KILLPOINT ..."). */
  lines: string[];
  /** Resolves with the KILLPOINT line, or null when the process exits first. */
  killpoint: Promise<string | null>;
  onLine(fn: (line: string) => void): void;
  /** SIGKILLs the process (if it still runs) and resolves once it is gone. */
  kill(): Promise<void>;
};

export type CrashWorkerOptions = {
  taskQueue: string;
  /** A workflow bundle written to a file (writeBundle), so a process does not bundle on start. */
  bundlePath: string;
  emu: Pick<Emulator, 'baseUrl' | 'apiKey'>;
  /** Shared by the processes of one run: numbers each activity execution across them. */
  countFile: string;
  /** "<type>#<n>[:before]" or "@<k>[:before]": where the process hangs, waiting for its SIGKILL. */
  killPoint?: string;
  /** A kill point hit by any process is not hit again (two workers carrying the same point: one dies). */
  once?: boolean;
  /** "@k" also stops the worker at every later boundary it reaches. */
  killFrom?: boolean;
  /** A dev server of the test's own; the jest run's by default. */
  temporalAddress?: string;
  /** The product's logger at debug level as JSON lines into this file; without it, its INFO lines go to the test's log. */
  logFile?: string;
};

const live = new Set<ChildProcess>();

/** SIGKILLs every worker process this test file started that is still running (afterAll: none outlives a failure). */
export async function killAllCrashWorkers(): Promise<void> {
  await Promise.all(
    [...live].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGKILL');
        }),
    ),
  );
}

/** Starts a worker process and resolves once it polls. */
export async function startCrashWorker(options: CrashWorkerOptions): Promise<CrashWorker> {
  const testLog = options.logFile ? undefined : logDescriptor(currentTestLog());
  const proc = spawn(process.execPath, ['--import', 'tsx', require.resolve('./crash-worker-process.ts')], {
    env: {
      ...process.env,
      ...(options.logFile ? { WORKER_LOG: 'json' } : {}),
      TASK_QUEUE: options.taskQueue,
      BUNDLE_PATH: options.bundlePath,
      NEON_API_BASE_URL: options.emu.baseUrl,
      NEON_API_KEY: options.emu.apiKey,
      COUNT_FILE: options.countFile,
      KILL_POINT: options.killPoint ?? '',
      KILL_ONCE: options.once ? '1' : '',
      KILL_FROM: options.killFrom ? '1' : '',
      ...(options.temporalAddress ? { TEMPORAL_ADDRESS: options.temporalAddress } : {}),
    },
    stdio: ['ignore', 'pipe', testLog?.fd ?? 'pipe'],
  });
  testLog?.close();
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  const logFile = options.logFile;
  const shownLog = logFile ?? shownPath(currentTestLog());
  if (logFile) proc.stderr!.on('data', (chunk: Buffer) => appendFileSync(logFile, chunk));
  const lines: string[] = [];
  const listeners: ((line: string) => void)[] = [];
  let exited = false;
  const exit = new Promise<void>((resolve) => proc.once('exit', () => ((exited = true), resolve())));
  const ready = new Promise<void>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line === 'READY') resolve();
      for (const listener of listeners) listener(line);
    });
    void exit.then(() => reject(new Error(`worker process exited before READY (its log: ${shownLog})`)));
  });
  const killpoint = new Promise<string | null>((resolve) => {
    listeners.push((line) => line.startsWith('KILLPOINT') && resolve(line));
    void exit.then(() => resolve(null));
  });
  await ready;
  return {
    proc,
    lines,
    killpoint,
    onLine: (fn) => listeners.push(fn),
    async kill() {
      if (!exited) proc.kill('SIGKILL');
      await exit;
    },
  };
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Writes a workflow bundle's code to a file of its own for worker processes (CrashWorkerOptions.bundlePath). */
export function writeBundle(code: string): string {
  const path = join(tempDir('np-bundle-'), 'bundle.js');
  writeFileSync(path, code);
  return path;
}
