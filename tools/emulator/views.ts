import type { BranchRec, EndpointRec, OperationRec, ProjectRec, SnapshotRec } from './types';

/** Renders records in Neon's response shapes: internal fields dropped, required usage counters present. */
export type Views = { proxyHost: string; proxyPort: () => number };

const usage = {
  cpu_used_sec: 0,
  active_time_seconds: 0,
  compute_time_seconds: 0,
  written_data_bytes: 0,
  data_transfer_bytes: 0,
};

export function branchView(b: BranchRec, now = Date.now()): Record<string, unknown> {
  const { databases: _d, roles: _r, detaching_until: until, snapshot_restored_at: _s, ...rest } = b;
  const detaching = until !== undefined && now < until && rest.restore_status;
  return { ...rest, ...(detaching ? { restore_status: 'detaching' } : {}), ...usage, logical_size: 0 };
}

export function operationView(o: OperationRec): Record<string, unknown> {
  const { runAt: _r, dueAt: _d, willFail: _w, fate: _f, ...rest } = o;
  return rest;
}

export function snapshotView(s: SnapshotRec): Record<string, unknown> {
  const { databases: _d, roles: _r, ...rest } = s;
  return rest;
}

export function endpointView(v: Views, p: ProjectRec, e: EndpointRec): Record<string, unknown> {
  return {
    host: v.proxyHost,
    id: e.id,
    project_id: e.project_id,
    branch_id: e.branch_id,
    autoscaling_limit_min_cu: e.autoscaling_limit_min_cu,
    autoscaling_limit_max_cu: e.autoscaling_limit_max_cu,
    region_id: p.region_id,
    type: e.type,
    current_state: e.current_state,
    settings: { pg_settings: {} },
    pooler_enabled: false,
    pooler_mode: 'transaction',
    disabled: false,
    passwordless_access: true,
    creation_source: 'console',
    created_at: e.created_at,
    updated_at: e.updated_at,
    proxy_host: v.proxyHost,
    suspend_timeout_seconds: e.suspend_timeout_seconds,
    provisioner: 'k8s-neonvm',
  };
}

export function projectView(v: Views, p: ProjectRec, list = false): Record<string, unknown> {
  const base = {
    id: p.id,
    platform_id: 'aws',
    region_id: p.region_id,
    name: p.name,
    provisioner: 'k8s-neonvm',
    pg_version: p.pg_version,
    proxy_host: v.proxyHost,
    branch_logical_size_limit: 0,
    branch_logical_size_limit_bytes: 0,
    store_passwords: true,
    cpu_used_sec: 0,
    creation_source: 'console',
    history_retention_seconds: p.history_retention_seconds,
    created_at: p.created_at,
    updated_at: p.updated_at,
    owner_id: 'neon-emulator',
    settings: {},
  };
  if (list) return { ...base, active_time: 0 };
  const period = new Date();
  const start = new Date(Date.UTC(period.getUTCFullYear(), period.getUTCMonth(), 1));
  const end = new Date(Date.UTC(period.getUTCFullYear(), period.getUTCMonth() + 1, 1));
  return {
    ...base,
    data_storage_bytes_hour: 0,
    data_transfer_bytes: 0,
    written_data_bytes: 0,
    compute_time_seconds: 0,
    active_time_seconds: 0,
    consumption_period_start: start.toISOString().replace('.000Z', 'Z'),
    consumption_period_end: end.toISOString().replace('.000Z', 'Z'),
  };
}

export function connectionUri(v: Views, e: EndpointRec, role: string, password: string, database: string): string {
  const auth = `${encodeURIComponent(role)}:${encodeURIComponent(password)}`;
  return `postgresql://${auth}@${v.proxyHost}:${v.proxyPort()}/${encodeURIComponent(database)}?options=endpoint%3D${e.id}`;
}

export function rolesView(b: BranchRec, withPassword: boolean): Record<string, unknown>[] {
  return b.roles.map((r) => ({
    branch_id: b.id,
    name: r.name,
    ...(withPassword ? { password: r.password } : {}),
    protected: false,
    created_at: r.created_at,
    updated_at: r.created_at,
  }));
}

export function databasesView(b: BranchRec): Record<string, unknown>[] {
  return b.databases.map((d) => ({
    id: d.id,
    branch_id: b.id,
    name: d.name,
    owner_name: d.owner_name,
    created_at: d.created_at,
    updated_at: d.created_at,
  }));
}
