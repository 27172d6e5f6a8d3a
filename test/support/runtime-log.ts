import { DefaultLogger, type LogEntry, Runtime } from '@temporalio/worker';
import { formatWithOptions } from 'node:util';
import { appendLog } from './test-logs';

const format = formatWithOptions.bind(undefined, { colors: false, depth: 6, breakLength: 120 });

/** A Temporal logger (INFO and up) that appends to `file`, for the Runtime and for MockActivityEnvironment. */
export function fileLogger(file: string): DefaultLogger {
  return new DefaultLogger('INFO', ({ level, message, meta, timestampNanos }: LogEntry) => {
    const at = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
    appendLog(file, `${at} [${level}] ${message}${meta === undefined ? '' : ` ${format(meta)}`}\n`);
  });
}

/**
 * Every Runtime this process makes from now on writes the SDK's log lines and core's (forwarded, WARN and up) to
 * `file`: activity failures a test provokes on purpose, worker state changes, nondeterminism warnings. These are the
 * Runtime's default options rather than Runtime.install, which would start core at once: core forwarding its logs
 * keeps the process alive until the Runtime shuts down, and the SDK shuts down a Runtime it made itself once its last
 * connection or worker closes (and makes another with the same options when one is needed again).
 */
export function logRuntimeTo(file: string): void {
  Runtime.defaultOptions = {
    logger: fileLogger(file),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  };
}
