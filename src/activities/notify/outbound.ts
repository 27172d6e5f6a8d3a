/**
 * HTTP to addresses users name (webhooks, `http` checks). Such a URL runs on the worker, inside its network: one
 * naming the cloud's metadata service, the worker's own host or a private range would let whoever may start a run
 * probe them (a check answers whether a body includes a text). The refusal is made on the address the name resolves
 * to, at connect time, so a name that resolved elsewhere when the input was checked (DNS rebinding) is refused too.
 * A worker whose webhooks or health pages are internal allows them with NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1.
 */
import { lookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, type Dispatcher } from 'undici';

/** Loopback, private, link-local and the other ranges that are not the public internet (IANA special-purpose). */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network": 0.0.0.0 reaches the worker's own host
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // shared address space (carrier NAT; some clouds' metadata services)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, where cloud metadata services answer
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3], // multicast, reserved and broadcast
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 127], // unspecified and loopback
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['fc00::', 7], // unique local (AWS's IPv6 metadata service among them)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');
}

/** Whether an IP address is one that outbound HTTP refuses (IPv4-mapped IPv6 is judged as its IPv4 address). */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return true;
  return NOT_PUBLIC.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** The error of a refused destination; its message names neither the address nor the name's resolution. */
export class PrivateAddressRefused extends Error {
  readonly code = 'ERR_PRIVATE_ADDRESS';
  constructor(host: string) {
    super(
      `refused to connect to ${host}: it is a loopback, private or link-local address ` +
        '(a worker with NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1 allows it)',
    );
    this.name = 'PrivateAddressRefused';
  }
}

/** dns.lookup that fails when any address of the name is not public (net.connect may try each of them). */
const publicLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    if (addresses.length === 0 || addresses.some((a) => isPrivateAddress(a.address)))
      return callback(new PrivateAddressRefused(hostname), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: typeof addresses) => void)(null, addresses);
    callback(null, addresses[0]!.address, addresses[0]!.family);
  });
};

const connectPublic = buildConnector({ lookup: publicLookup });

/** A connector that refuses a non-public IP literal before connecting, and a name that resolves to one. */
const publicOnly: buildConnector.connector = (options, callback) => {
  if (isIP(options.hostname) && isPrivateAddress(options.hostname)) {
    process.nextTick(() => callback(new PrivateAddressRefused(options.hostname), null));
    return;
  }
  return connectPublic(options, callback);
};

let publicAgent: Agent | undefined;
let anyAgent: Agent | undefined;

/** The dispatcher of outbound HTTP: public addresses only, unless the worker allows private ones. */
export function outboundDispatcher(allowPrivateNetwork = false): Dispatcher {
  if (allowPrivateNetwork) return (anyAgent ??= new Agent());
  return (publicAgent ??= new Agent({ connect: publicOnly }));
}

/** NEON_PROMOTE_ALLOW_PRIVATE_HTTP: '1' allows webhooks and `http` checks to reach private addresses; default no. */
export function privateHttpAllowedFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.NEON_PROMOTE_ALLOW_PRIVATE_HTTP;
  if (value === undefined || value === '' || value === '0') return false;
  if (value === '1') return true;
  throw new Error('NEON_PROMOTE_ALLOW_PRIVATE_HTTP: expected 1 or 0');
}
