import type net from 'node:net';
import { frame } from './wire';

export type Frame = { type: string; body: Buffer };

/**
 * Splits a byte stream into protocol messages and passes each on, without buffering whole messages it has no need to
 * read: a message's header is parsed, then its body streams through. Bodies of the types in `inspect` are gathered
 * and handed to `onFrame` (with `tap` set, every message is gathered and goes to `tap` instead of being passed on).
 */
class Framer {
  private head: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private gathering?: { type: string; parts: Buffer[]; raw: Buffer[]; len: number };
  tap?: (f: Frame) => void;

  constructor(
    private readonly inspect: Set<string>,
    private readonly onType: (type: string) => void,
    private readonly onFrame: (f: Frame) => void,
  ) {}

  /** Bytes buffered inside a message (a partial header or body). */
  get midMessage(): boolean {
    return this.head.length > 0 || this.remaining > 0;
  }

  /** Returns what is to be passed on from `chunk`. */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining === 0) {
        const need = 5 - this.head.length;
        const take = chunk.subarray(i, i + need);
        this.head = this.head.length ? Buffer.concat([this.head, take]) : take;
        i += take.length;
        if (this.head.length < 5) break;
        const type = String.fromCharCode(this.head[0]!);
        this.remaining = this.head.readInt32BE(1) - 4;
        this.onType(type);
        if (this.tap || this.inspect.has(type))
          this.gathering = { type, parts: [], raw: [Buffer.from(this.head)], len: this.remaining };
        else out.push(Buffer.from(this.head));
        this.head = Buffer.alloc(0);
        if (this.remaining === 0) this.finish(out);
        continue;
      }
      const part = chunk.subarray(i, i + this.remaining);
      i += part.length;
      this.remaining -= part.length;
      if (this.gathering) this.gathering.parts.push(part);
      else out.push(part);
      if (this.remaining === 0) this.finish(out);
    }
    return out;
  }

  private finish(out: Buffer[]): void {
    const g = this.gathering;
    if (!g) return;
    this.gathering = undefined;
    const f = { type: g.type, body: Buffer.concat(g.parts) };
    if (this.tap) return this.tap(f);
    out.push(...g.raw, f.body);
    this.onFrame(f);
  }
}

/** Session state read from a backend before it is closed, to be put on its successor. */
export type SessionState = {
  settings: [string, string][];
  /** `fromSql`: made by SQL PREPARE (replayed as SQL), otherwise by a Parse message (replayed as one). */
  prepared: { name: string; sql: string; types: number[]; fromSql?: boolean }[];
};

/**
 * Relays one client session to its backend, knowing where transactions begin and end, so the session can be parked at
 * a transaction boundary, moved to a fresh backend, and resumed without the client noticing more than latency.
 */
export class Relay {
  private readonly fromClient: Framer;
  private readonly fromBackend: Framer;
  /** ReadyForQuery messages the backend still owes (one per Query, Sync and FunctionCall). */
  private owed = 0;
  /** Extended-protocol messages sent since the last Sync. */
  private unsynced = false;
  private tx = 'I';
  private parked = false;
  private stash: Buffer[] = [];
  private waiters: (() => void)[] = [];
  private backendEnded?: () => void;

  constructor(
    private readonly client: net.Socket,
    private backend: net.Socket,
  ) {
    this.fromClient = new Framer(
      new Set(),
      (t) => this.track(t),
      () => undefined,
    );
    this.fromBackend = new Framer(
      new Set(['Z']),
      () => undefined,
      (f) => this.onReady(f),
    );
    client.on('data', this.onClientData);
    client.on('drain', () => this.backend.resume());
    this.wireBackend(backend);
  }

  private track(type: string): void {
    if (type === 'Q' || type === 'F' || type === 'S') this.owed++;
    if (type === 'S') this.unsynced = false;
    else if ('PBEDCH'.includes(type)) this.unsynced = true;
  }

  private onReady(f: Frame): void {
    this.owed = Math.max(0, this.owed - 1);
    this.tx = String.fromCharCode(f.body[0] ?? 73);
    if (this.atBoundary()) for (const w of this.waiters.splice(0)) w();
  }

  /** Idle: nothing in flight either way, and no transaction open. */
  atBoundary(): boolean {
    return this.owed === 0 && !this.unsynced && this.tx === 'I' && !this.fromClient.midMessage;
  }

  private onClientData = (chunk: Buffer): void => {
    if (this.parked) return void this.stash.push(chunk);
    const out = this.fromClient.push(chunk);
    if (out.length && !this.backend.write(Buffer.concat(out))) this.client.pause();
  };

  private onBackendData = (chunk: Buffer): void => {
    const out = this.fromBackend.push(chunk);
    if (out.length && !this.client.write(Buffer.concat(out))) this.backend.pause();
  };

  private wireBackend(b: net.Socket): void {
    b.on('data', this.onBackendData);
    b.on('drain', () => this.client.resume());
    b.on('close', () => (this.backendEnded ? this.backendEnded() : this.client.destroy()));
  }

  /** Stops passing client messages on once the session is at a transaction boundary; false if it isn't within `ms`. */
  async park(ms: number): Promise<boolean> {
    if (!this.atBoundary()) {
      let done!: () => void;
      const reached = new Promise<void>((r) => (done = r));
      this.waiters.push(done);
      const timer = setTimeout(done, ms);
      await reached;
      clearTimeout(timer);
      this.waiters = this.waiters.filter((w) => w !== done);
    }
    // Checked again in this same tick: no client data can slip in between the check and the switch.
    if (!this.atBoundary()) return false;
    this.parked = true;
    return true;
  }

  /** Runs simple-protocol SQL on the backend of a parked session; returns the text rows, or the error message. */
  query(sql: string): Promise<{ rows: (string | null)[][]; error?: string }> {
    return this.exchange(frame('Q', Buffer.from(sql + '\0', 'utf8')));
  }

  /** Sends messages to a parked session's backend and gathers the answer up to ReadyForQuery. */
  exchange(msg: Buffer): Promise<{ rows: (string | null)[][]; error?: string }> {
    return new Promise((resolve, reject) => {
      const rows: (string | null)[][] = [];
      let error: string | undefined;
      const onClose = (): void => reject(new Error('backend closed'));
      this.backend.once('close', onClose);
      this.fromBackend.tap = (f) => {
        if (f.type === 'D') rows.push(dataRow(f.body));
        else if (f.type === 'E') error ??= errorMessage(f.body);
        else if (f.type === 'Z') {
          this.fromBackend.tap = undefined;
          this.backend.off('close', onClose);
          resolve({ rows, error });
        }
      };
      this.backend.write(msg);
    });
  }

  /** Closes the backend of a parked session (politely, so its slot is free at once); the client stays. */
  async closeBackend(): Promise<void> {
    const b = this.backend;
    if (b.destroyed) return;
    const closed = new Promise<void>((r) => (this.backendEnded = r));
    b.end(frame('X'));
    const timer = setTimeout(() => b.destroy(), 2000);
    await closed;
    clearTimeout(timer);
  }

  /** Gives a parked session a fresh, logged-in backend; `ahead` is what was read past its ReadyForQuery. */
  attach(b: net.Socket, ahead: Buffer): void {
    this.backend = b;
    this.backendEnded = undefined;
    this.wireBackend(b);
    if (ahead.length) this.onBackendData(ahead);
  }

  /** Passes on what the client sent while parked, then relays again. */
  unpark(): void {
    this.parked = false;
    for (const chunk of this.stash.splice(0)) this.onClientData(chunk);
  }

  destroy(): void {
    this.client.destroy();
    this.backend.destroy();
  }
}

function dataRow(body: Buffer): (string | null)[] {
  const n = body.readInt16BE(0);
  const out: (string | null)[] = [];
  let o = 2;
  for (let i = 0; i < n; i++) {
    const len = body.readInt32BE(o);
    o += 4;
    if (len < 0) out.push(null);
    else {
      out.push(body.toString('utf8', o, o + len));
      o += len;
    }
  }
  return out;
}

export function errorMessage(body: Buffer): string {
  for (const field of body.toString('utf8').split('\0')) if (field.startsWith('M')) return field.slice(1);
  return 'error';
}
