// Jest's setupFilesAfterEnv: before a test file loads, its log starts empty and the Temporal Runtime and stderr of
// this process write there (test/support/test-logs.ts).
import { logRuntimeTo } from './runtime-log';
import { captureStderr, currentTestLog, startLog } from './test-logs';

const log = currentTestLog();
startLog(log);
logRuntimeTo(log);
captureStderr(log);
