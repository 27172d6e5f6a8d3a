/** The Temporal CLI the project builds, and the local stack's data, stay inside the checkout (both are git-ignored). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_CLI_DIR, REPO_ROOT } from '../../tools/temporal-cli';

test('the repository root is the checkout: .tools/bin is its own', () => {
  expect(REPO_ROOT).toBe(resolve(__dirname, '..', '..'));
  expect(existsSync(join(REPO_ROOT, 'package.json'))).toBe(true);
  expect(LOCAL_CLI_DIR).toBe(join(REPO_ROOT, '.tools', 'bin'));
});
