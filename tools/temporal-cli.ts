import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** The newest CLI tag without a `replace` directive, so `go install` accepts it. */
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.5.1';
export const REPO_ROOT = resolve(__dirname, '..');
export const LOCAL_CLI_DIR = join(REPO_ROOT, '.tools', 'bin');

/** Where the CLI came from; `sdk-download` means @temporalio/testing fetches it itself (needs internet). */
export type TemporalCli = { path: string; source: 'env' | 'path' | 'local' | 'built' } | { source: 'sdk-download' };

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Finds the Temporal CLI without building anything: $TEMPORAL_CLI_PATH, then PATH, then .tools/bin. */
export function findTemporalCli(): TemporalCli | undefined {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH=${fromEnv} is not an executable file`);
    return { path: fromEnv, source: 'env' };
  }
  const found = onPath('temporal');
  if (found) return { path: found, source: 'path' };
  const local = join(LOCAL_CLI_DIR, 'temporal');
  if (isExecutable(local)) return { path: local, source: 'local' };
  return undefined;
}

/**
 * Finds the Temporal CLI, building it from the Go module proxy into .tools/bin when go is available,
 * and otherwise leaves the download to the SDK. Progress goes to `log` (stderr by default).
 */
export async function ensureTemporalCli(
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<TemporalCli> {
  const found = findTemporalCli();
  if (found) return found;
  const go = onPath('go') ?? (isExecutable('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) {
    log('temporal CLI not found and go is not installed: @temporalio/testing will download the dev server');
    return { source: 'sdk-download' };
  }
  mkdirSync(LOCAL_CLI_DIR, { recursive: true });
  log(`building the Temporal CLI (${TEMPORAL_CLI_MODULE}) into .tools/bin; the first build takes a few minutes`);
  const started = Date.now();
  await new Promise<void>((res, rej) => {
    const child = spawn(go, ['install', '-v', TEMPORAL_CLI_MODULE], {
      env: { ...process.env, GOBIN: LOCAL_CLI_DIR, GOFLAGS: '-mod=mod' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let packages = 0;
    let tail = '';
    const ticker = setInterval(
      () => log(`  ... still building (${Math.round((Date.now() - started) / 1000)} s, ${packages} packages compiled)`),
      15_000,
    );
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) {
        if (line.startsWith('go: downloading')) log(`  ${line}`);
        else if (line.trim()) packages++;
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', (err) => {
      clearInterval(ticker);
      rej(err);
    });
    child.on('exit', (code) => {
      clearInterval(ticker);
      if (code === 0) res();
      else rej(new Error(`go install ${TEMPORAL_CLI_MODULE} failed (exit ${code}):\n${tail}`));
    });
  });
  const path = join(LOCAL_CLI_DIR, 'temporal');
  log(`built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${path}`);
  return { path, source: 'built' };
}

/** The CLI's version line, e.g. "temporal version 1.5.1 (Server 1.29.1, UI 2.42.1)". */
export function temporalCliVersion(path: string): string {
  return spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

if (require.main === module) {
  ensureTemporalCli()
    .then((cli) =>
      console.log('path' in cli ? `${cli.path} (${cli.source}): ${temporalCliVersion(cli.path)}` : cli.source),
    )
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    });
}
