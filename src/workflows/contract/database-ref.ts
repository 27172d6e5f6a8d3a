/** Which database of a project a step works on, and as which role: every branch of the project has the same. */
export type DatabaseRef = { projectId: string; databaseName: string; roleName: string };

/** The database reference of a run's options (every run's input names its project, database and role). */
export function databaseRefOf(options: DatabaseRef): DatabaseRef {
  return { projectId: options.projectId, databaseName: options.databaseName, roleName: options.roleName };
}
