/** Child processes of the benchmark (emulator, worker) and what /proc says about their memory and CPU. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

export type ProcSample = { at: number; rssMb: number; peakRssMb: number; cpuSec: number };

export function sampleProc(pid: number): ProcSample | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields overall.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { at: Date.now(), rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024, cpuSec: ticks / CLK_TCK };
  } catch {
    return null;
  }
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
