import net from 'node:net';
import type { ClusterTarget } from './pg/cluster';
import { BackendAuth, FrameReader, authCleartextRequest, errorResponse, parseStartup, startupPacket } from './pg/wire';

/** Where a client session goes, or why it may not. */
export type Resolution =
  { ok: true; physical: string; role: string; rolePassword: string } | { ok: false; code: string; message: string };

export type Resolver = (endpointId: string | undefined, database: string, user: string, password: string) => Resolution;

type Session = { endpointId: string; physical: string; client: net.Socket; backend?: net.Socket };

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

/** Neon routes by `options=endpoint=ep-...` (or `endpoint=ep-...;password` in the password when options can't be set). */
function endpointOf(
  params: Record<string, string>,
  password: string,
): { endpoint?: string; options: string; password: string } {
  const tokens = (params.options ?? '').split(/\s+/).filter(Boolean);
  let endpoint: string | undefined;
  const rest = tokens.filter((t) => {
    const m = /^(?:--)?endpoint=(.+)$/.exec(t);
    if (m) endpoint = m[1];
    return !m;
  });
  const pm = /^endpoint=([^;$]+)[;$](.*)$/s.exec(password);
  if (pm) return { endpoint: endpoint ?? pm[1], options: rest.join(' '), password: pm[2]! };
  return { endpoint, options: rest.join(' '), password };
}

/**
 * One listening port for every endpoint. Authenticates clients against the emulator's roles itself, then splices the
 * socket to the branch's *current* physical database, so a connection string survives restores while the data behind
 * it changes. Sessions are tracked per endpoint to drop them when a restore is finalized.
 */
export class PgProxy {
  private server = net.createServer((s) => void this.serve(s).catch(() => s.destroy()));
  private readonly sessions = new Set<Session>();
  private readonly gates = new Map<string, Promise<void>>();
  port = 0;

  constructor(
    private readonly backend: ClusterTarget,
    private readonly backendPassword: (role: string) => string,
    private readonly resolve: Resolver,
    private readonly log: (line: string) => void,
  ) {}

  async listen(host: string, port: number): Promise<number> {
    const tryListen = (p: number): Promise<number> =>
      new Promise((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(p, host, () => {
          this.server.off('error', reject);
          resolve((this.server.address() as net.AddressInfo).port);
        });
      });
    // The previous run's port keeps connection strings valid across restarts; fall back when it is taken.
    this.port = await tryListen(port).catch(() => (port ? tryListen(0) : Promise.reject(new Error('listen failed'))));
    return this.port;
  }

  private connectBackend(): net.Socket {
    const { host, port } = this.backend;
    return host.startsWith('/') ? net.connect({ path: `${host}/.s.PGSQL.${port}` }) : net.connect({ host, port });
  }

  private async serve(client: net.Socket): Promise<void> {
    client.setNoDelay(true);
    client.on('error', () => client.destroy());
    const reader = new FrameReader(client);
    let packet = await reader.startup();
    for (;;) {
      const code = packet.readInt32BE(4);
      if (code === SSL_REQUEST || code === GSS_REQUEST) {
        client.write('N');
        packet = await reader.startup();
        continue;
      }
      if (code === CANCEL_REQUEST) {
        // The cancel key is the backend's own, so the request can be passed on unchanged.
        const b = this.connectBackend();
        b.on('error', () => b.destroy());
        b.end(packet);
        client.destroy();
        return;
      }
      break;
    }
    const params = parseStartup(packet);
    client.write(authCleartextRequest());
    const msg = await reader.message();
    if (msg.type !== 'p') throw new Error('expected password message');
    const given = msg.body.toString('utf8').replace(/\0$/, '');
    const { endpoint, options, password } = endpointOf(params, given);
    const user = params.user ?? '';
    const res = this.resolve(endpoint, params.database ?? user, user, password);
    if (!res.ok) {
      client.end(errorResponse(res.code, res.message));
      return;
    }
    const session: Session = { endpointId: endpoint!, physical: res.physical, client };
    this.sessions.add(session);
    client.on('close', () => {
      this.sessions.delete(session);
      session.backend?.destroy();
    });
    await this.gates.get(res.physical);
    if (client.destroyed) return;
    const backend = (session.backend = this.connectBackend());
    backend.setNoDelay(true);
    backend.on('error', () => client.destroy());
    backend.on('close', () => client.destroy());
    const forwarded: Record<string, string> = {};
    for (const [k, v] of Object.entries(params))
      if (!['user', 'database', 'options', 'replication'].includes(k)) forwarded[k] = v;
    if (options) forwarded.options = options;
    backend.write(startupPacket({ ...forwarded, user: res.role, database: res.physical }));
    const breader = new FrameReader(backend);
    const auth = new BackendAuth(res.role, this.backendPassword(res.role));
    for (;;) {
      const m = await breader.message();
      if (m.type === 'E') {
        client.end(m.raw);
        return;
      }
      if (m.type !== 'R') throw new Error(`unexpected backend message ${m.type}`);
      const reply = auth.reply(m.body);
      if (reply) backend.write(reply);
      else if (m.body.readInt32BE(0) === 0) {
        client.write(m.raw);
        break;
      }
    }
    client.write(breader.detach());
    const ahead = reader.detach();
    if (ahead.length) backend.write(ahead);
    client.pipe(backend);
    backend.pipe(client);
  }

  /** Closes every client session of an endpoint, as a compute restart does. Returns how many were dropped. */
  dropEndpoint(endpointId: string): number {
    let n = 0;
    for (const s of this.sessions) {
      if (s.endpointId !== endpointId) continue;
      s.client.destroy();
      s.backend?.destroy();
      this.sessions.delete(s);
      n++;
    }
    if (n) this.log(`proxy: dropped ${n} session(s) of ${endpointId}`);
    return n;
  }

  /** Holds new sessions to a physical database until `release` is called (while it serves as a copy's template). */
  hold(physical: string): () => void {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    this.gates.set(physical, gate);
    return () => {
      if (this.gates.get(physical) === gate) this.gates.delete(physical);
      release();
    };
  }

  sessionCount(endpointId?: string): number {
    return [...this.sessions].filter((s) => !endpointId || s.endpointId === endpointId).length;
  }

  async close(): Promise<void> {
    for (const s of this.sessions) {
      s.client.destroy();
      s.backend?.destroy();
    }
    this.sessions.clear();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
