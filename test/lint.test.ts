import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Lints text as if it were a workflow file: the repo's own eslint config must reject I/O in workflow code.
const root = join(__dirname, '..');
const asWorkflowFile = join(root, 'src', 'workflows', 'health-check.ts');

type LintMessage = { ruleId: string | null; severity: number; message: string };

// The eslint CLI in a child process: its ESM config cannot load inside jest's module sandbox.
async function workflowLintErrors(code: string): Promise<string[]> {
  const eslintBin = join(root, 'node_modules', 'eslint', 'bin', 'eslint.js');
  const run = spawnSync(
    process.execPath,
    [eslintBin, '--format', 'json', '--stdin', '--stdin-filename', asWorkflowFile],
    {
      cwd: root,
      input: code,
      encoding: 'utf8',
    },
  );
  if (!run.stdout) throw new Error(`eslint did not run: ${run.stderr}`);
  const [result] = JSON.parse(run.stdout) as { messages: LintMessage[] }[];
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

const banned = [
  ["import { request } from 'undici';", 'undici'],
  ["import { Client } from 'pg';", 'pg'],
  ["import { readFileSync } from 'fs';", 'fs'],
  ["import { randomUUID } from 'node:crypto';", 'node:crypto'],
  ["import { createActivities } from '../activities';", 'activities as a value'],
] as const;

test.each(banned)('a workflow file importing %s fails lint (%s)', async (line) => {
  const errors = await workflowLintErrors(`${line}\nexport const x = 1;\n`);
  expect(errors.some((e) => e.startsWith('no-restricted-imports'))).toBe(true);
});

test('the same workflow file importing activities as types only passes', async () => {
  const errors = await workflowLintErrors(
    "import type { HealthActivities } from '../activities/health';\nexport type X = HealthActivities;\n",
  );
  expect(errors).toEqual([]);
});

test('lint also rejects a floating promise', async () => {
  const errors = await workflowLintErrors('export function f(): void {\n  Promise.resolve(1);\n}\n');
  expect(errors.some((e) => e.startsWith('@typescript-eslint/no-floating-promises'))).toBe(true);
});
