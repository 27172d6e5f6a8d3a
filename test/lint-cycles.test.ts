import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

// `npm run lint:cycles` as package.json defines it, run on a copy of src/ and tools/ with deliberate cycles added: the
// check must fail on a runtime cycle and name its files, and must let a cycle through type-only imports pass.
const root = join(__dirname, '..');
const script = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
  .scripts['lint:cycles']!;

let copy: string;
beforeAll(() => {
  copy = mkdtempSync(join(tmpdir(), 'np-cycles-'));
  for (const dir of ['src', 'tools']) cpSync(join(root, dir), join(copy, dir), { recursive: true });
  cpSync(join(root, 'tsconfig.json'), join(copy, 'tsconfig.json'));
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
});
afterAll(() => rmSync(copy, { recursive: true, force: true }));

/** Writes `files` into the copy, runs the check there, and removes them again. */
function checkWith(files: Record<string, string>): { status: number | null; output: string } {
  for (const [path, text] of Object.entries(files)) writeFileSync(join(copy, path), text);
  try {
    const run = spawnSync('sh', ['-c', script], {
      cwd: copy,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}${delimiter}${process.env.PATH ?? ''}` },
    });
    return { status: run.status, output: run.stdout + run.stderr };
  } finally {
    for (const path of Object.keys(files)) rmSync(join(copy, path));
  }
}

test('the check passes on the tree as it is', () => {
  const { status, output } = checkWith({});
  expect(output).toContain('no circular dependency');
  expect(status).toBe(0);
});

test('a runtime import cycle fails the check, naming its files', () => {
  const { status, output } = checkWith({
    'src/cycle-a.ts': "import { b } from './cycle-b';\nexport const a = (): number => b() + 1;\n",
    'src/cycle-b.ts': "import { a } from './cycle-a';\nexport const b = (): number => (a.length > 0 ? 1 : 0);\n",
  });
  expect(output).toMatch(/src\/cycle-a\.ts -> src\/cycle-b\.ts|src\/cycle-b\.ts -> src\/cycle-a\.ts/);
  expect(status).toBe(1);
});

test('a cycle closed by a dynamic import fails too', () => {
  const { status, output } = checkWith({
    'tools/cycle-a.ts': "import { b } from './cycle-b';\nexport const a = (): string => b;\n",
    'tools/cycle-b.ts': "export const b = 'b';\nexport const load = () => import('./cycle-a');\n",
  });
  expect(output).toMatch(/tools\/cycle-[ab]\.ts -> tools\/cycle-[ab]\.ts/);
  expect(status).toBe(1);
});

test('a cycle through type-only imports passes: nothing of it is loaded at run time', () => {
  const { status } = checkWith({
    'src/cycle-a.ts': "import type { B } from './cycle-b';\nexport type A = { b?: B };\nexport const a = 1;\n",
    'src/cycle-b.ts': "import { a } from './cycle-a';\nexport type B = { a: typeof a };\nexport const b = a;\n",
  });
  expect(status).toBe(0);
});
