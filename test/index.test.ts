import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as api from '../src';
import { REFUSALS } from '../src/cli/exit';
import { NON_RETRYABLE_ERROR_TYPES } from '../src/shared/failure-types';

// README's "Using it from a service" is the package's promise to a service: every name it imports from
// 'neon-promote' or names as something to catch, and every client method it calls, must be in the public API.
const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
const section = readme.slice(
  readme.indexOf('## Using it from a service'),
  readme.indexOf('\n## ', readme.indexOf('## Using it from a service') + 1),
);

const imported = [...section.matchAll(/import \{([^}]+)\} from 'neon-promote'/g)].flatMap((m) =>
  m[1]!.split(',').map((name) => name.trim()),
);
/** A run's failure types (`SnapshotQuota`, ...): a service reads them as `cause.type`, they are not exports. */
const failureTypes = new Set<string>([...REFUSALS, ...NON_RETRYABLE_ERROR_TYPES]);
/** PascalCase names in backticks: classes a service uses, such as the error it catches (not SQL's `USAGE`). */
const named = [...section.matchAll(/`([A-Z][a-z][A-Za-z]*)`/g)].map((m) => m[1]!).filter((n) => !failureTypes.has(n));
const clientMethods = [...section.matchAll(/\bnp\.(\w+)\(/g)].map((m) => m[1]!);

test('the section is there and uses the client', () => {
  expect(imported).toContain('NeonPromoteClient');
  expect(clientMethods.length).toBeGreaterThan(0);
});

test.each([...new Set([...imported, ...named])])('src/index.ts exports %s', (name) => {
  expect((api as Record<string, unknown>)[name]).toBeDefined();
});

test.each([...new Set(clientMethods)])('NeonPromoteClient has %s', (method) => {
  expect(typeof (api.NeonPromoteClient.prototype as unknown as Record<string, unknown>)[method]).toBe('function');
});

test('NeonPromoteClient.connect is a static method', () => {
  expect(typeof api.NeonPromoteClient.connect).toBe('function');
});
