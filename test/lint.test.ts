import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// Lints text as if it were a workflow file: the repo's own eslint config must reject I/O in workflow code.
const root = join(__dirname, '..');
const asWorkflowFile = join(root, 'src', 'workflows', 'health-check.ts');

type LintMessage = { ruleId: string | null; severity: number; message: string };

// One eslint process (its ESM config cannot load inside jest's module sandbox) lints every case as if it were the
// text of a workflow file, so the typed-lint project is built once.
const lintCases = `
  const { ESLint } = require(${JSON.stringify(join(root, 'node_modules', 'eslint'))});
  const codes = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  (async () => {
    const eslint = new ESLint({ cwd: ${JSON.stringify(root)} });
    const out = [];
    for (const code of codes) out.push((await eslint.lintText(code, { filePath: ${JSON.stringify(asWorkflowFile)} }))[0].messages);
    process.stdout.write(JSON.stringify(out));
  })();
`;
let results: Map<string, string[]> | undefined;

function workflowLintErrors(code: string): string[] {
  if (!results) {
    const codes = allCases();
    const run = spawnSync(process.execPath, ['-e', lintCases], {
      cwd: root,
      input: JSON.stringify(codes),
      encoding: 'utf8',
    });
    if (!run.stdout) throw new Error(`eslint did not run: ${run.stderr}`);
    const messages = JSON.parse(run.stdout) as LintMessage[][];
    const errors = (i: number) =>
      (messages[i] ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
    results = new Map(codes.map((c, i) => [c, errors(i)]));
  }
  return results.get(code) ?? [];
}

const banned = [
  ["import { request } from 'undici';", 'undici'],
  ["import { Client } from 'pg';", 'pg'],
  ["import { readFileSync } from 'fs';", 'fs'],
  ["import { randomUUID } from 'node:crypto';", 'node:crypto'],
  ["import { createActivities } from '../activities';", 'activities as a value'],
] as const;

const bannedCode = (line: string) => `${line}\nexport const x = 1;\n`;
const typeOnlyCode =
  "import type { HealthActivities } from '../activities/health';\nexport type X = HealthActivities;\n";
const floatingPromiseCode = 'export function f(): void {\n  Promise.resolve(1);\n}\n';
const allCases = () => [...banned.map(([line]) => bannedCode(line)), typeOnlyCode, floatingPromiseCode];

test.each(banned)('a workflow file importing %s fails lint (%s)', (line) => {
  const errors = workflowLintErrors(bannedCode(line));
  expect(errors.some((e) => e.startsWith('no-restricted-imports'))).toBe(true);
});

test('the same workflow file importing activities as types only passes', () => {
  const errors = workflowLintErrors(typeOnlyCode);
  expect(errors).toEqual([]);
});

test('lint also rejects a floating promise', () => {
  const errors = workflowLintErrors(floatingPromiseCode);
  expect(errors.some((e) => e.startsWith('@typescript-eslint/no-floating-promises'))).toBe(true);
});
