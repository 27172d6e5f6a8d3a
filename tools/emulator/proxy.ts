import net from 'node:net';
import type { ClusterTarget } from './pg/cluster';
import type { Namespace } from './pg/namespace';
import { Relay } from './pg/relay';
import { captureState, restoreState } from './pg/session-state';
import { sqlRoleLogin } from './pg/sql-roles';
import { BackendAuth, FrameReader, authCleartextRequest, errorResponse, parseStartup, startupPacket } from './pg/wire';

/** Where a client session goes, or why it may not. */
export type Resolution =
  | {
      ok: true;
      physical: string;
      role: string;
      rolePassword: string;
      /** A role made with SQL: its password is checked against the server's pg_authid, and it has no namespace. */
      sqlRole?: boolean;
    }
  | { ok: false; code: string; message: string };

export type Resolver = (endpointId: string | undefined, database: string, user: string, password: string) => Resolution;

type Session = {
  endpointId: string;
  /** The state's names; the backend sees them through the namespace (`params`). */
  physical: string;
  role: string;
  /** Startup parameters for the backend (user and database already mapped to the server's names). */
  params: Record<string, string>;
  client: net.Socket;
  backend?: net.Socket;
  relay?: Relay;
  /** The current backend's cancel key; the client keeps the first backend's, which the proxy maps to this one. */
  backendKey?: Buffer;
  /** Settles when the session is relaying (or gave up logging in). */
  ready: Promise<void>;
  /** Logging in past the gate: a copy must wait for it to be in, then park it. */
  pastGate?: boolean;
  /** The password the backend gets for a role made with SQL (the client's); API roles use the emulator's own. */
  backendPassword?: string;
};

/** What quiescing a database did to its sessions. */
export type QuiesceReport = {
  parked: number;
  terminated: number;
  reasons: string[];
  /** Backend PIDs of the sessions terminated (their backends may still be exiting). */
  pids: number[];
};

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
  /** Client-facing cancel keys (hex) to sessions. */
  private readonly keys = new Map<string, Session>();
  port = 0;

  constructor(
    private readonly backend: ClusterTarget,
    private readonly backendPassword: (role: string) => string,
    private readonly resolve: Resolver,
    private readonly log: (line: string) => void,
    private readonly ns: Namespace,
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
        // Clients hold their first backend's key; a session moved since then is cancelled through its current one.
        const s = this.keys.get(packet.subarray(8).toString('hex'));
        const b = this.connectBackend();
        b.on('error', () => b.destroy());
        b.end(s?.backendKey ? Buffer.concat([packet.subarray(0, 8), s.backendKey]) : packet);
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
    if (res.ok && res.sqlRole && !(await sqlRoleLogin(this.backend, res.role, password).catch(() => false))) {
      client.end(errorResponse('28P01', `password authentication failed for user "${user}"`));
      return;
    }
    if (!res.ok) {
      client.end(errorResponse(res.code, res.message));
      return;
    }
    const forwarded: Record<string, string> = {};
    for (const [k, v] of Object.entries(params))
      if (!['user', 'database', 'options', 'replication'].includes(k)) forwarded[k] = v;
    if (options) forwarded.options = options;
    let ready!: () => void;
    const session: Session = {
      endpointId: endpoint!,
      physical: res.physical,
      role: res.role,
      params: {
        ...forwarded,
        user: res.sqlRole ? res.role : this.ns.role(res.role),
        database: this.ns.database(res.physical),
      },
      ...(res.sqlRole ? { backendPassword: password } : {}),
      client,
      ready: new Promise<void>((r) => (ready = r)),
    };
    try {
      await this.login(session, reader);
    } finally {
      ready();
    }
  }

  private async login(session: Session, reader: FrameReader): Promise<void> {
    const { client } = session;
    this.sessions.add(session);
    let key: string | undefined;
    client.on('close', () => {
      this.sessions.delete(session);
      if (key) this.keys.delete(key);
      session.relay?.destroy();
      session.backend?.destroy();
    });
    // Checked again after each wait: a copy may have put up a gate while this session was on its way.
    for (let gate = this.gates.get(session.physical); gate; gate = this.gates.get(session.physical)) await gate;
    session.pastGate = true;
    if (client.destroyed) return;
    const opened = await this.openBackend(session);
    if ('error' in opened) {
      client.end(opened.error);
      return;
    }
    if (client.destroyed) return void opened.socket.destroy();
    client.write(Buffer.concat(opened.startup));
    if (session.backendKey) this.keys.set((key = session.backendKey.toString('hex')), session);
    reader.detach(); // nothing can be ahead: a client waits for ReadyForQuery before its first query
    session.relay = new Relay(client, opened.socket);
    if (opened.ahead.length) client.write(opened.ahead);
  }

  /**
   * Connects and logs in a backend for a session, up to its first ReadyForQuery. Returns what the backend sent
   * (for a new client to see) or the backend's error message.
   */
  private async openBackend(
    s: Session,
  ): Promise<{ socket: net.Socket; startup: Buffer[]; ahead: Buffer } | { error: Buffer }> {
    const backend = (s.backend = this.connectBackend());
    backend.setNoDelay(true);
    backend.on('error', () => backend.destroy());
    backend.write(startupPacket(s.params));
    const breader = new FrameReader(backend);
    const auth = new BackendAuth(s.params.user!, s.backendPassword ?? this.backendPassword(s.role));
    const startup: Buffer[] = [];
    for (;;) {
      const m = await breader.message();
      if (m.type === 'E') {
        backend.destroy();
        return { error: m.raw };
      }
      if (m.type === 'R') {
        const reply = auth.reply(m.body);
        if (reply) backend.write(reply);
        else if (m.body.readInt32BE(0) === 0) startup.push(m.raw);
        continue;
      }
      if (m.type === 'K') s.backendKey = Buffer.from(m.body);
      startup.push(m.raw);
      if (m.type === 'Z') return { socket: backend, startup, ahead: breader.detach() };
    }
  }

  /**
   * Frees a database of every client session without ending them, so it can serve as a copy's template: each session
   * is parked at its next transaction boundary (waiting at most `waitMs`), its state read, and its backend closed. New
   * sessions wait at a gate. `resume` gives each parked session a fresh backend with its state put back and passes on
   * what the client sent meanwhile. A session that does not reach a boundary in time, or holds state that cannot move
   * (LISTEN, advisory locks, holdable cursors, temporary tables), is terminated as Postgres would (57P01).
   */
  async quiesce(physical: string, waitMs: number): Promise<{ report: QuiesceReport; resume: () => Promise<void> }> {
    const release = this.hold(physical);
    const report: QuiesceReport = { parked: 0, terminated: 0, reasons: [], pids: [] };
    const moved: { s: Session; state: Exclude<Awaited<ReturnType<typeof captureState>>, string> }[] = [];
    const terminate = (s: Session, why: string): void => {
      report.terminated++;
      report.reasons.push(why);
      if (s.backendKey) report.pids.push(s.backendKey.readInt32BE(0));
      s.client.end(errorResponse('57P01', `terminating connection: the database is being copied (${why})`));
      s.relay?.destroy();
      s.backend?.destroy();
    };
    await Promise.all(
      [...this.sessions]
        .filter((s) => s.physical === physical && (s.relay || s.pastGate))
        .map(async (s) => {
          await s.ready; // a session past the gate but still logging in is parked once it is in
          if (!s.relay || s.client.destroyed) return;
          const relay = s.relay;
          const parked = await relay.park(waitMs);
          const state = parked ? await captureState(relay).catch((e: Error) => e.message) : undefined;
          if (s.client.destroyed) return; // the client left on its own meanwhile
          if (!parked || !state) return terminate(s, `no transaction boundary within ${waitMs} ms`);
          if (typeof state === 'string') return terminate(s, state);
          await relay.closeBackend();
          moved.push({ s, state });
          report.parked++;
        }),
    );
    if (report.parked || report.terminated)
      this.log(`proxy: ${physical}: parked ${report.parked} session(s), terminated ${report.terminated}`);
    const resume = async (): Promise<void> => {
      release();
      await Promise.all(
        moved.map(async ({ s, state }) => {
          if (s.client.destroyed) return;
          const opened = await this.openBackend(s).catch((e: Error) => ({
            error: errorResponse('08006', `backend connection failed: ${e.message}`),
          }));
          if ('error' in opened) return void s.client.end(opened.error);
          if (s.client.destroyed) return void opened.socket.destroy();
          s.relay!.attach(opened.socket, opened.ahead);
          const failed = await restoreState(s.relay!, state).catch((e: Error) => e.message);
          if (failed) return terminate(s, `session state could not be restored: ${failed}`);
          s.relay!.unpark();
        }),
      );
    };
    return { report, resume };
  }

  /** Closes every client session of an endpoint, as a compute restart does. Returns how many were dropped. */
  dropEndpoint(endpointId: string): number {
    let n = 0;
    for (const s of this.sessions) {
      if (s.endpointId !== endpointId) continue;
      s.client.destroy();
      s.relay?.destroy();
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
