import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';

/** Reads whole frames from a socket; the PG protocol is length-prefixed, so partial reads are buffered here. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private waiter?: () => void;
  private ended = false;

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData);
    socket.on('close', this.onEnd);
    socket.on('error', this.onEnd);
  }

  private onData = (chunk: Buffer): void => {
    this.buf = Buffer.concat([this.buf, chunk]);
    this.waiter?.();
  };

  private onEnd = (): void => {
    this.ended = true;
    this.waiter?.();
  };

  private async need(n: number): Promise<void> {
    while (this.buf.length < n) {
      if (this.ended) throw new Error('connection closed');
      await new Promise<void>((r) => (this.waiter = r));
      this.waiter = undefined;
    }
  }

  private take(n: number): Buffer {
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** The untyped startup-phase frame: int32 length (inclusive) then body. */
  async startup(): Promise<Buffer> {
    await this.need(4);
    const len = this.buf.readInt32BE(0);
    if (len < 8 || len > 10_000) throw new Error('bad startup packet');
    await this.need(len);
    return this.take(len);
  }

  /** A typed frame: byte type, int32 length (inclusive of itself), body. */
  async message(): Promise<{ type: string; body: Buffer; raw: Buffer }> {
    await this.need(5);
    const len = this.buf.readInt32BE(1);
    await this.need(1 + len);
    const raw = this.take(1 + len);
    return { type: String.fromCharCode(raw[0]!), body: raw.subarray(5), raw };
  }

  /** Stops framing and hands back whatever was read ahead, so the caller can switch to raw piping. */
  detach(): Buffer {
    this.socket.off('data', this.onData);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onEnd);
    return this.take(this.buf.length);
  }
}

export function frame(type: string, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

export const cstr = (s: string): Buffer => Buffer.from(s + '\0', 'utf8');
export const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

export function startupPacket(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    int32(196608),
    ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]),
    Buffer.from([0]),
  ]);
  return Buffer.concat([int32(body.length + 4), body]);
}

export function parseStartup(packet: Buffer): Record<string, string> {
  const parts = packet.subarray(8).toString('utf8').split('\0');
  const params: Record<string, string> = {};
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) params[parts[i]!] = parts[i + 1]!;
  return params;
}

export function errorResponse(code: string, message: string, severity = 'FATAL'): Buffer {
  const fields = [`S${severity}`, `V${severity}`, `C${code}`, `M${message}`].map(cstr);
  return frame('E', ...fields, Buffer.from([0]));
}

export const authCleartextRequest = (): Buffer => frame('R', int32(3));

/** Answers a backend's authentication request (cleartext, MD5 or SCRAM-SHA-256) for one user. */
export class BackendAuth {
  private scram?: { nonce: string; clientFirstBare: string };
  constructor(
    private readonly user: string,
    private readonly password: string,
  ) {}

  /** Returns the reply frame for an 'R' message, or undefined when no reply is due (Ok, SASLFinal). */
  reply(body: Buffer): Buffer | undefined {
    const code = body.readInt32BE(0);
    if (code === 3) return frame('p', cstr(this.password));
    if (code === 5) {
      const inner = createHash('md5')
        .update(this.password + this.user)
        .digest('hex');
      return frame('p', cstr('md5' + createHash('md5').update(inner).update(body.subarray(4, 8)).digest('hex')));
    }
    if (code === 10) {
      const nonce = randomBytes(18).toString('base64');
      const clientFirstBare = `n=*,r=${nonce}`;
      this.scram = { nonce, clientFirstBare };
      const data = Buffer.from(`n,,${clientFirstBare}`);
      return frame('p', cstr('SCRAM-SHA-256'), int32(data.length), data);
    }
    if (code === 11 && this.scram) {
      const serverFirst = body.subarray(4).toString('utf8');
      const attrs = new Map(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)] as const));
      const salted = pbkdf2Sync(
        this.password,
        Buffer.from(attrs.get('s') ?? '', 'base64'),
        Number(attrs.get('i')),
        32,
        'sha256',
      );
      const clientKey = createHmac('sha256', salted).update('Client Key').digest();
      const storedKey = createHash('sha256').update(clientKey).digest();
      const withoutProof = `c=biws,r=${attrs.get('r') ?? ''}`;
      const authMessage = `${this.scram.clientFirstBare},${serverFirst},${withoutProof}`;
      const sig = createHmac('sha256', storedKey).update(authMessage).digest();
      const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]!));
      return frame('p', Buffer.from(`${withoutProof},p=${proof.toString('base64')}`));
    }
    if (code === 0 || code === 12) return undefined;
    throw new Error(`unsupported backend authentication method ${code}`);
  }
}
