import type { Writable } from 'node:stream';

const LEVELS: Record<number, [string, string]> = {
  10: ['TRACE', '\x1b[90m'],
  20: ['DEBUG', '\x1b[36m'],
  30: ['INFO ', '\x1b[32m'],
  40: ['WARN ', '\x1b[33m'],
  50: ['ERROR', '\x1b[31m'],
  60: ['FATAL', '\x1b[35m'],
};
/** Shown first, in this order: what an operator looks for on a line. */
const FIRST = ['workflowId', 'projectId', 'activityType', 'workflowType'];
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', ...FIRST]);

/**
 * A pino destination for terminals: one readable line per record (time, level, message, IDs, other fields). pino-pretty
 * would do the same with a dependency and a worker thread; JSON stays the format anywhere that is not a TTY.
 */
export function prettyStream(out: Writable & { write(text: string): boolean }): { write(line: string): void } {
  return {
    write(line: string) {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const [name, color] = LEVELS[Number(record.level)] ?? ['?', ''];
      const time = new Date(Number(record.time)).toISOString().slice(11, 23);
      const fields = [
        ...FIRST.filter((key) => record[key] !== undefined),
        ...Object.keys(record).filter((key) => !HIDDEN.has(key)),
      ];
      const rest = fields.map((key) => {
        const value = record[key];
        return `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
      });
      const message = typeof record.msg === 'string' ? record.msg : '';
      out.write(`${time} ${color}${name}\x1b[0m ${message}${rest.length ? `  ${rest.join(' ')}` : ''}\n`);
    },
  };
}
