/**
 * The zod the workflow bundle uses: `zod/mini`, zod 4's functional API. The workflow sandbox instantiates every module
 * of the bundle once per workflow execution, and a "classic" zod schema carries dozens of closures per instance
 * (issue 9: cached workflows cost the worker's memory); mini schemas carry none and parse the same way. mini loads no
 * locale by default, so the English messages classic zod gives (and errors quote) are configured here, once.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());
// The worker preloads this module and zod (WORKFLOW_BUNDLE_OPTIONS in src/worker.ts): evaluated once, then deep-frozen.
// zod resolves whether it may compile object parsers (`allowsEval`) on the first object parse, by writing to a
// module-level object; resolved here, before the freeze, so that parse does not write to a frozen object.
void z.core.util.allowsEval.value;

export { z };
