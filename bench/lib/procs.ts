/** Child processes of the benchmark (emulator, worker) and what /proc says about their memory and CPU. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
const CLK_TCK = 100;

/** Runs a TypeScript entry point under node with tsx's loader, so the pid is the node process itself. */
export function spawnTs(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', path.join(REPO, entry), ...args], {
    cwd: REPO,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Compiles bench/worker-child.ts and the sources it imports with tsc into `outDir`, so the worker under test runs as
 * a deployed one does (`node dist/...`, bin/neon-promote.js outside a checkout) and not under tsx's loader, whose
 * transpiling would count in its RSS and CPU. Returns the entry point to run with `spawnJs`.
 */
export function compileWorker(outDir: string): string {
  const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = [tsc, '-p', path.join(REPO, 'bench', 'tsconfig.worker.json'), '--outDir', outDir];
  const r = spawnSync(process.execPath, args, { cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`compiling the bench worker failed:\n${r.stdout}${r.stderr}`);
  return path.join(outDir, 'bench', 'worker-child.js');
}

/**
 * Runs compiled JavaScript under plain node; its packages resolve from the checkout's node_modules. `nodeArgs`: flags
 * NODE_OPTIONS refuses, such as `--cpu-prof --cpu-prof-dir=DIR` (BENCH_WORKER_NODE_ARGS).
 */
export function spawnJs(
  entry: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  nodeArgs: string[] = [],
): ChildProcess {
  return spawn(process.execPath, [...nodeArgs, entry, ...args], {
    cwd: REPO,
    env: { ...process.env, NODE_PATH: path.join(REPO, 'node_modules'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the `KEY=value` lines a child prints before `until` appears (the emulator's handshake). */
export function readHandshake(
  child: ChildProcess,
  keys: string[],
  timeoutMs = 120_000,
): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const found: Record<string, string> = {};
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no handshake within ${timeoutMs} ms:\n${err}`)), timeoutMs);
    child.stderr?.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
        if (m) found[m[1]!] = m[2]!;
      }
      if (keys.every((k) => k in found)) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before its handshake:\n${err}`));
    });
  });
}

export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((res) => child.once('exit', () => res()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** utime+stime of a /proc stat line, in seconds: the 14th and 15th fields, counted after the parenthesised name. */
function cpuSecondsOf(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

export type ProcSample = { at: number; rssMb: number; peakRssMb: number; cpuSec: number };

export function sampleProc(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    const cpuSec = cpuSecondsOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    return { at: Date.now(), rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuSec };
  } catch {
    return null;
  }
}

/**
 * CPU seconds (utime+stime) of each of a process's threads, summed by thread name (/proc/PID/task/TID/comm): for the
 * worker, its main JavaScript thread, the workflow thread(s), Temporal's Rust core (tokio) and V8's helpers.
 */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        // The process's first thread runs its main JavaScript (activities, here); others go by their names.
        const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        out[name] = (out[name] ?? 0) + cpuSecondsOf(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      } catch {
        // the thread ended between the listing and the read
      }
    }
  } catch {
    // the process ended
  }
  return out;
}

/** What each process (and each of the worker's thread groups) spent between two threadCpu readings, in seconds. */
export function cpuSince(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(after)) {
    const d = Math.round((v - (before[k] ?? 0)) * 10) / 10;
    if (d > 0) out[k] = d;
  }
  return out;
}

/** Samples a process every `everyMs`: peak RSS, CPU seconds, and the busiest interval's CPU share (cores). */
export function watchProc(pid: number, everyMs = 500) {
  const samples: ProcSample[] = [];
  const take = () => {
    const s = sampleProc(pid);
    if (s) samples.push(s);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      take();
      clearInterval(timer);
      const first = samples[0];
      const last = samples[samples.length - 1];
      let peakCores = 0;
      for (let i = 1; i < samples.length; i++) {
        const dt = (samples[i]!.at - samples[i - 1]!.at) / 1000;
        if (dt > 0) peakCores = Math.max(peakCores, (samples[i]!.cpuSec - samples[i - 1]!.cpuSec) / dt);
      }
      const wall = first && last ? (last.at - first.at) / 1000 : 0;
      const cpu = first && last ? last.cpuSec - first.cpuSec : 0;
      return {
        peakRssMb: Math.max(0, ...samples.map((s) => s.peakRssMb)),
        cpuSec: cpu,
        meanCores: wall > 0 ? cpu / wall : 0,
        peakCores,
      };
    },
  };
}
