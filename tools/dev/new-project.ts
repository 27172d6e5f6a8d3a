/**
 * `npm run new-project -- [--name shop] [--data-dir D]`: a project in the local stack's Neon emulator, made as at Neon
 * (POST /projects, its default branch named prod), for trying the CLI by hand. It prints the project's ID and the
 * line that makes it the CLI's default; then `neon-promote setup --wait` makes dev.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const usage = `npm run new-project -- [options]: a project in the local stack's emulator (npm run dev), prod as its branch

  --name N       the project's name (default: sample)
  --data-dir D   the stack's data directory, where stack.env is (default: .data in the checkout)

NEON_API_BASE_URL and NEON_API_KEY in the environment win over stack.env.`;

/** The settings `npm run dev` wrote for other shells. */
function stackEnv(dataDir: string): Record<string, string> {
  const file = join(dataDir, 'stack.env');
  if (!existsSync(file)) return {};
  const env: Record<string, string> = {};
  for (const m of readFileSync(file, 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)) env[m[1]!] = m[2]!;
  return env;
}

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: { name: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean' } },
  });
  if (args.help) return (void console.log(usage), 0);
  const fromStack = stackEnv(args['data-dir'] ?? join(__dirname, '..', '..', '.data'));
  const baseUrl = process.env.NEON_API_BASE_URL || fromStack.NEON_API_BASE_URL;
  const apiKey = process.env.NEON_API_KEY || fromStack.NEON_API_KEY;
  if (!baseUrl || !apiKey) {
    console.error(
      'new-project: no emulator found: start the local stack (npm run dev) or set NEON_API_BASE_URL and NEON_API_KEY',
    );
    return 1;
  }
  const res = await fetch(`${baseUrl}/projects`, {
    method: 'POST',
    headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ project: { name: args.name ?? 'sample', branch: { name: 'prod' } } }),
  }).catch((err: unknown) => {
    console.error(
      `new-project: cannot reach ${baseUrl} (${err instanceof Error ? err.message : String(err)}): is npm run dev running?`,
    );
    return undefined;
  });
  if (!res) return 1;
  if (!res.ok) {
    console.error(`new-project: POST /projects answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    return 1;
  }
  const { project } = (await res.json()) as { project: { id: string; name: string } };
  console.log(`created project ${project.name}: ${project.id} (branch prod)`);
  console.log(`  export NEON_PROJECT_ID=${project.id}`);
  console.log('  npx neon-promote setup --wait    # then: promote --dry-run --wait');
  return 0;
}

void main().then((code) => (process.exitCode = code));
