import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import path from 'node:path';
import { ApiError } from './http';
import type { BranchRec, EndpointRec, ProjectRec, SnapshotRec, State } from './types';

/**
 * The control plane's state: one JSON document, rewritten atomically (temp file, fsync, rename) after every change,
 * so a kill at any point leaves either the old or the new state on disk, never a torn one.
 */
export class Store {
  state: State;
  private readonly file?: string;

  constructor(dataDir?: string) {
    this.file = dataDir ? path.join(dataDir, 'state.json') : undefined;
    this.state =
      this.file && existsSync(this.file)
        ? (JSON.parse(readFileSync(this.file, 'utf8')) as State)
        : { version: 1, nextDbId: 1000, projects: {} };
    // A state from before instance tags named its databases and roles without one: it keeps doing so (tag '') so that
    // what it made stays reachable. Any other state gets a tag of its own, kept from then on.
    this.state.namespace ??= this.referencedDatabases().size ? '' : randomBytes(4).toString('hex');
  }

  save(): void {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify(this.state));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.file);
  }

  projects(): ProjectRec[] {
    return Object.values(this.state.projects);
  }

  project(id: string): ProjectRec {
    const p = this.state.projects[id];
    if (!p) throw new ApiError(404, 'NOT_FOUND', `project ${id} not found`);
    return p;
  }

  branch(p: ProjectRec, id: string): BranchRec {
    const b = p.branches.find((x) => x.id === id);
    if (!b) throw new ApiError(404, 'NOT_FOUND', `branch ${id} not found`);
    return b;
  }

  endpoint(p: ProjectRec, id: string): EndpointRec {
    const e = p.endpoints.find((x) => x.id === id);
    if (!e) throw new ApiError(404, 'NOT_FOUND', `endpoint ${id} not found`);
    return e;
  }

  snapshot(p: ProjectRec, id: string): SnapshotRec {
    const s = p.snapshots.find((x) => x.id === id);
    if (!s) throw new ApiError(404, 'NOT_FOUND', `snapshot ${id} not found`);
    return s;
  }

  /** Every physical database the state refers to; anything else with the emulator's prefix is garbage. */
  referencedDatabases(): Set<string> {
    const names = new Set<string>();
    for (const p of this.projects()) {
      const snapshots = [p, ...(p.undo ? [p.undo] : [])];
      for (const s of snapshots) {
        for (const b of [...s.branches, ...(s.deleted ?? []).map((x) => x.branch)])
          for (const d of b.databases) names.add(d.physical);
        for (const sn of s.snapshots) for (const d of sn.databases) names.add(d.physical);
      }
    }
    return names;
  }

  nextDbId(): number {
    return this.state.nextDbId++;
  }
}
