import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP endpoint for `http` checks that answers only when released: it holds a run in a known step (verify the
 * candidate, verify prod) for as long as a test needs, without timing assumptions.
 */
export async function startHoldServer() {
  let arrived: () => void = () => undefined;
  let arrival = new Promise<void>((r) => (arrived = r));
  const waiting: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    waiting.push(res);
    arrived();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
  return {
    check: { kind: 'http' as const, name: 'held health check', url, timeoutMs: 60_000 },
    /** Resolves when a check has reached the server (the run is inside the step). */
    async reached(): Promise<void> {
      await arrival;
      arrival = new Promise<void>((r) => (arrived = r));
    },
    release(status = 200): void {
      for (const res of waiting.splice(0)) res.writeHead(status).end('ok');
    },
    async stop(): Promise<void> {
      this.release(503);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
