/**
 * Modules a command loads when it runs, not when the program is built: `--help` and usage errors answer without the
 * Temporal SDK (its client, gRPC and protobuf are most of the CLI's start-up time). `require`, not `import()`: in a
 * checkout the sources run through tsx's CommonJS hook, which does not resolve a dynamic import of a TypeScript
 * file; compiled to CommonJS, the two are the same call.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- see above */
import type * as Client from '../client';
import type * as Runs from '../client/runs';
import type * as Schedules from '../client/schedules';
import type * as Unfence from '../client/unfence';
import type * as Neon from '../neon';
import type * as Tracing from '../observability/tracing';
import type * as Connection from '../temporal/connection';
import type * as SearchAttributes from '../temporal/search-attributes';
import type * as Worker from '../worker';
import type * as DescribeError from './describe-error';

export const load = {
  client: () => require('../client') as typeof Client,
  runs: () => require('../client/runs') as typeof Runs,
  schedules: () => require('../client/schedules') as typeof Schedules,
  unfence: () => require('../client/unfence') as typeof Unfence,
  neon: () => require('../neon') as typeof Neon,
  tracing: () => require('../observability/tracing') as typeof Tracing,
  connection: () => require('../temporal/connection') as typeof Connection,
  searchAttributes: () => require('../temporal/search-attributes') as typeof SearchAttributes,
  worker: () => require('../worker') as typeof Worker,
  describeError: () => require('./describe-error') as typeof DescribeError,
};
