import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunFinishedPayload } from '../../src/workflows/contract/notify';

export const SECRET = 'whsec-test-0123456789abcdef';

export type Delivery = { status: number; headers: IncomingHttpHeaders; body: string };

/** A webhook receiver on 127.0.0.1 that answers with `answer()` (200 by default) and records every request. */
export type Receiver = {
  url: string;
  requests: Delivery[];
  /** The accepted (2xx) deliveries, parsed. */
  accepted(): RunFinishedPayload[];
  answer: (req: Delivery) => { status: number; headers?: Record<string, string> };
  close(): Promise<void>;
};

export async function startReceiver(): Promise<Receiver> {
  const r: Receiver = {
    url: '',
    requests: [],
    accepted: () => r.requests.filter((d) => d.status < 300).map((d) => JSON.parse(d.body) as RunFinishedPayload),
    answer: () => ({ status: 200 }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const d: Delivery = { status: 0, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      const a = r.answer(d);
      d.status = a.status;
      r.requests.push(d);
      res.writeHead(a.status, a.headers).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/neon`;
  return r;
}
