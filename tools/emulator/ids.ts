import { randomBytes, randomInt, randomUUID } from 'node:crypto';

const adjectives = [
  'aged',
  'bold',
  'calm',
  'dark',
  'damp',
  'fancy',
  'late',
  'lively',
  'misty',
  'proud',
  'quiet',
  'red',
  'shy',
  'steep',
  'sweet',
  'wispy',
];
const nouns = [
  'bar',
  'bird',
  'breeze',
  'cloud',
  'dew',
  'field',
  'flower',
  'frost',
  'hill',
  'lake',
  'leaf',
  'meadow',
  'moon',
  'river',
  'salad',
  'smoke',
];

const pick = (xs: string[]): string => xs[randomInt(xs.length)]!;
const suffix = (): string => `${randomInt(100000, 999999)}-${randomBytes(4).toString('hex')}`;

export const projectId = (): string => `${pick(adjectives)}-${pick(nouns)}-${randomInt(10000000, 99999999)}`;
export const branchId = (): string => `br-${pick(adjectives)}-${pick(nouns)}-${suffix()}`;
export const endpointId = (): string => `ep-${pick(adjectives)}-${pick(nouns)}-${suffix()}`;
export const snapshotId = (): string => `snap-${randomBytes(10).toString('hex')}`;
export const operationId = (): string => randomUUID();
export const requestId = (): string => randomUUID();
export const password = (): string => `npg_${randomBytes(9).toString('base64url')}`;
export const apiKey = (): string => `napi_${randomBytes(24).toString('hex')}`;

/** Physical database names as the state keeps them; the server name adds the instance tag (pg/namespace.ts). */
export const physicalName = (kind: 'b' | 's'): string => `neonemu_${kind}_${randomBytes(8).toString('hex')}`;
export const PHYSICAL_PREFIX = 'neonemu_';

/** RFC 3339 at second precision, as Neon renders timestamps. */
export const rfc3339 = (ms: number = Date.now()): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

/** A monotone fake LSN so snapshots and branches carry plausible, ordered values. */
export const fakeLsn = (ms: number = Date.now()): string => `0/${(ms % 0xffffffff).toString(16).toUpperCase()}`;
