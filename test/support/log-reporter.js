/**
 * After jest's own report of a failing test file, one line naming its log and the Temporal dev server's; at the end of
 * a run with failures, one line naming the folder. A passing run adds nothing. The paths follow test/support/test-logs.ts
 * (a reporter is loaded without jest's transform, so this file is JavaScript).
 */
const { join, relative } = require('node:path');

const LOGS = join('.data', 'test-logs');

module.exports = class LogReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onTestResult(_test, result) {
    if (result.numFailingTests === 0 && !result.testExecError) return;
    const own = join(LOGS, `${relative(this.rootDir, result.testFilePath)}.log`);
    process.stderr.write(`  logs: ${own} (Temporal dev server: ${join(LOGS, 'temporal-server.log')})\n\n`);
  }

  onRunComplete(_contexts, results) {
    if (results.numFailedTests === 0 && results.numFailedTestSuites === 0 && results.numRuntimeErrorTestSuites === 0)
      return;
    process.stderr.write(`logs of this run: ${LOGS}/ (one file per test file and server)\n`);
  }

  getLastError() {
    return undefined;
  }
};
