import type { Resolver } from './proxy';
import type { Store } from './store';

/** Maps a proxy login (endpoint, database, role, password) to the branch's current physical database. */
export function resolver(store: Store): Resolver {
  return (endpointId, database, user, password) => {
    if (!endpointId)
      return {
        ok: false,
        code: '08004',
        message: 'endpoint ID is not specified: add options=endpoint%3D<endpoint id> to the connection string',
      };
    for (const p of store.projects()) {
      const ep = p.endpoints.find((e) => e.id === endpointId);
      if (!ep) continue;
      const b = p.branches.find((x) => x.id === ep.branch_id);
      const role = b?.roles.find((r) => r.name === user);
      const db = b?.databases.find((d) => d.name === database);
      // Not a role of the API: one made with SQL, whose password the proxy checks on the server.
      if (b && !role && db) return { ok: true, physical: db.physical, role: user, rolePassword: '', sqlRole: true };
      if (!b || !role || role.password !== password)
        return { ok: false, code: '28P01', message: `password authentication failed for user "${user}"` };
      if (!db) return { ok: false, code: '3D000', message: `database "${database}" does not exist` };
      return { ok: true, physical: db.physical, role: role.name, rolePassword: role.password };
    }
    return { ok: false, code: '08004', message: `endpoint ${endpointId} not found` };
  };
}
