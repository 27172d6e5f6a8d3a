import { execFileSync, spawnSync } from 'node:child_process';

/** The Compose command on this machine, or undefined: `docker compose` (v2 plugin), else `docker-compose`. */
export function composeCommand(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

/**
 * Makes Compose available for the compose test, installing Debian's docker-compose (1.29, Compose file format 3.x and
 * the Compose specification) with apt-get when running as root; a machine with docker but no compose plugin (CI's)
 * gets it that way. Without recommends: Debian recommends docker.io, a second Docker the machine does not need.
 * Returns the command, or why there is none (the test then skips with that reason).
 */
export function ensureCompose(log: (line: string) => void): { command: string[] } | { skip: string } {
  const found = composeCommand();
  if (found) return { command: found };
  if (process.getuid?.() !== 0)
    return { skip: 'neither `docker compose` nor `docker-compose`, and not root to install' };
  if (spawnSync('apt-get', ['--version'], { stdio: 'ignore' }).status !== 0)
    return { skip: 'neither `docker compose` nor `docker-compose`, and no apt-get to install docker-compose' };
  try {
    log("installing Debian's docker-compose for the compose test (apt-get, once per machine)...");
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Another apt-get (the browser tests' Chromium) may hold dpkg's lock: wait for it rather than fail.
    const lock = ['-o', 'DPkg::Lock::Timeout=600'];
    execFileSync('apt-get', [...lock, 'update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    execFileSync('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', 'docker-compose'], {
      stdio: 'ignore',
      env,
      timeout: 600_000,
    });
  } catch (err) {
    return {
      skip: `could not install docker-compose with apt-get: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  const installed = composeCommand();
  return installed ? { command: installed } : { skip: 'apt-get ran but docker-compose is still missing' };
}
