import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

/** Where Debian puts Chromium; playwright-core drives it (a browser download of its own is not possible here). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes Debian's Chromium available for the browser tests, installing it with apt-get when running as root.
 * Returns the browser's path, or why there is none (the browser tests then skip with that reason).
 */
export function ensureChromium(log: (line: string) => void): { path: string } | { skip: string } {
  if (executable(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.getuid?.() !== 0) return { skip: `no Chromium at ${CHROMIUM_PATH} and not root to install it` };
  try {
    log('installing Debian chromium for the browser tests (apt-get, once per machine)...');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env, timeout: 300_000 });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env, timeout: 600_000 });
  } catch (err) {
    return { skip: `could not install chromium with apt-get: ${err instanceof Error ? err.message : String(err)}` };
  }
  return executable(CHROMIUM_PATH) ? { path: CHROMIUM_PATH } : { skip: 'apt-get ran but chromium is still missing' };
}
