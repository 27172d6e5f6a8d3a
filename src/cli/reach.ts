import { connect } from 'node:net';

/** Errors that say at once that nothing answers at the address (gRPC would keep retrying them until its deadline). */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);

/**
 * Why nothing answers at `host:port`, or null when something does or the answer is not known within `timeoutMs`
 * (a slow network is left to the real connection). A refused or unresolvable address is known within milliseconds,
 * where the SDK's connection would retry it for its whole connect timeout (10 s).
 */
export function unreachable(address: string, timeoutMs = 2_000): Promise<string | null> {
  const at = address.lastIndexOf(':');
  const host = (at > 0 ? address.slice(0, at) : address).replace(/^\[|\]$/g, '');
  const port = at > 0 ? Number(address.slice(at + 1)) : 7233;
  if (!host || !Number.isInteger(port) || port <= 0 || port > 65_535) return Promise.resolve(null);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (why: string | null) => {
      socket.destroy();
      resolve(why);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.once('connect', () => done(null));
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(err.code && NOTHING_THERE.has(err.code) ? `${err.code}: nothing answers there` : null),
    );
  });
}
