import { createHash } from 'node:crypto';
import { PHYSICAL_PREFIX } from '../ids';

/** Postgres truncates longer identifiers (NAMEDATALEN - 1 bytes), which would merge distinct names. */
const MAX_IDENT = 63;

/**
 * How one emulator's objects are named on its Postgres server, so that several emulators can share one server and each
 * only ever creates, alters and drops its own. The state keeps API names and unprefixed physical names
 * (`neonemu_b_...`); the server sees them with the instance tag: database `neonemu_<tag>_b_...`, and on a shared
 * (`pgUrl`) server role `neonemu_<tag>_<role>`. An embedded cluster is private to its emulator: there roles keep their
 * API names (so `current_user` is `neondb_owner`, as at Neon) and any `neonemu_` database the state does not name is
 * garbage. A state written before tags existed has tag '' and keeps its plain names; on a shared server it then
 * collects no garbage, since it cannot tell its own orphans from another emulator's databases.
 */
export class Namespace {
  constructor(
    /** 8 hex digits kept in the state file; '' for a state from before tags. */
    readonly tag: string,
    /** The server is not the emulator's own (pgUrl): other emulators and other users may have objects there. */
    readonly shared: boolean,
  ) {}

  /** The server's name for a physical database of the state. */
  database(physical: string): string {
    if (!this.tag || !physical.startsWith(PHYSICAL_PREFIX)) return physical;
    return `${PHYSICAL_PREFIX}${this.tag}_${physical.slice(PHYSICAL_PREFIX.length)}`;
  }

  /** The server's name for an emulated role. */
  role(name: string): string {
    if (!this.tag || !this.shared) return name;
    const full = `${PHYSICAL_PREFIX}${this.tag}_${name}`;
    if (Buffer.byteLength(full) <= MAX_IDENT) return full;
    const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
    return `${PHYSICAL_PREFIX}${this.tag}_${Buffer.from(name)
      .subarray(0, 30)
      .toString('utf8')
      .replace(/\uFFFD$/, '')}_${hash}`;
  }

  /** Server databases whose names start with this are this emulator's to collect; undefined = collect none. */
  garbagePrefix(): string | undefined {
    if (!this.shared) return PHYSICAL_PREFIX;
    return this.tag ? `${PHYSICAL_PREFIX}${this.tag}_` : undefined;
  }
}
