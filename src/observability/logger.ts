import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import pino, { type DestinationStream, type Level, type Logger } from 'pino';
import { prettyStream } from './pretty';
import { scrubText, scrubValue } from './scrub';

export type { Logger } from 'pino';

export type LoggerOptions = {
  /** trace, debug, info (default), warn, error; NEON_PROMOTE_LOG_LEVEL in the environment. */
  level?: string;
  /** 'json' (default off a TTY) or 'pretty' (default on one); NEON_PROMOTE_LOG_FORMAT in the environment. */
  format?: 'json' | 'pretty';
  /** Where lines go; default stdout. */
  destination?: DestinationStream;
  /** Literal secrets to blank wherever they appear (the API keys the process holds). */
  secrets?: readonly string[];
};

/** A pino logger (JSON lines; readable lines on a terminal) that scrubs secrets from every message and field. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const secrets = opts.secrets ?? [];
  const format = opts.format ?? (process.stdout.isTTY ? 'pretty' : 'json');
  const destination = opts.destination ?? (format === 'pretty' ? prettyStream(process.stdout) : pino.destination(1));
  return pino(
    {
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      formatters: { log: (obj) => scrubValue(obj, secrets) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((arg) => (typeof arg === 'string' ? scrubText(arg, secrets) : arg)) as typeof args;
          method.apply(this, scrubbed);
        },
      },
    },
    destination,
  );
}

/** The logger settings of a worker process, from NEON_PROMOTE_LOG_LEVEL / NEON_PROMOTE_LOG_FORMAT. */
export function loggerFromEnv(env: NodeJS.ProcessEnv = process.env, destination?: DestinationStream): Logger {
  const format = env.NEON_PROMOTE_LOG_FORMAT;
  if (format && format !== 'json' && format !== 'pretty') {
    throw new Error(`NEON_PROMOTE_LOG_FORMAT must be json or pretty, not ${format}`);
  }
  return createLogger({
    level: env.NEON_PROMOTE_LOG_LEVEL || 'info',
    format: format as LoggerOptions['format'],
    destination,
    secrets: [env.NEON_API_KEY, env.TEMPORAL_API_KEY].filter((key): key is string => Boolean(key)),
  });
}

const LEVEL: Record<LogLevel, Level> = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/**
 * Temporal's Runtime logger on top of pino. The SDK routes its own messages, workflow `log` calls (through a sink,
 * silent during replay) and activity `log` calls here, with workflowId, runId, workflowType, activityType and the
 * attributes the log interceptors add (projectId).
 */
export function temporalLogger(logger: Logger): TemporalLogger {
  const emit = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    const fields = meta ? { ...meta } : {};
    // The bundler's webpack report (many lines, at INFO) says nothing an operator acts on: keep it for debugging.
    const pinoLevel = message.startsWith('asset workflow-bundle') ? 'debug' : (LEVEL[level] ?? 'info');
    if (logger.isLevelEnabled(pinoLevel)) logger[pinoLevel](fields, message);
  };
  return {
    log: emit,
    trace: (message, meta) => emit('TRACE', message, meta),
    debug: (message, meta) => emit('DEBUG', message, meta),
    info: (message, meta) => emit('INFO', message, meta),
    warn: (message, meta) => emit('WARN', message, meta),
    error: (message, meta) => emit('ERROR', message, meta),
  };
}
