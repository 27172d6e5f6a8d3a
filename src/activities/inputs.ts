/**
 * zod schemas of activity inputs. Workflows validate user input first; these catch what slips through (and what a
 * direct caller sends) before any Neon call, with an InvalidInput failure naming the field.
 */
import { z } from 'zod';

export const neonId = z.string().regex(/^[a-z0-9-]{1,60}$/, 'expected a Neon ID ([a-z0-9-], at most 60 characters)');
export const isoTimestamp = z.iso.datetime({ offset: true });
/** Neon branch names are 1-256 characters; snapshot names follow the same rule here. */
export const resourceName = z.string().min(1).max(256);

export const projectInput = z.object({ projectId: neonId });
export const branchRef = z.object({ projectId: neonId, branchId: neonId });
