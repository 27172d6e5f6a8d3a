/** One Temporal dev server for the whole run (test/support/global-setup.ts); each file gets its own task queue. */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  // Logs go to .data/test-logs/ (test/support/test-logs.ts); the reporter names them when a test fails.
  setupFilesAfterEnv: ['<rootDir>/test/support/setup-test-log.ts'],
  reporters: ['default', '<rootDir>/test/support/log-reporter.js'],
  testTimeout: 120_000,
  maxWorkers: 2,
};
