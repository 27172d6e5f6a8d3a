import { spawn } from 'node:child_process';
import { join } from 'node:path';

export type CliResult = { code: number | null; stdout: string; stderr: string };

const root = join(__dirname, '..', '..');

/**
 * The CLI as a user runs it: src/cli/main.ts through tsx in a process of its own, from the checkout, with these
 * environment variables over the test's (undefined: the variable is not set at all).
 */
export function runCli(settings: Record<string, string | undefined>, args: readonly string[]): Promise<CliResult> {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, NO_COLOR: '1', ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}
