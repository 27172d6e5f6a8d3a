/**
 * The zod the workflow bundle uses: `zod/mini`, zod 4's functional API. The workflow sandbox instantiates every module
 * of the bundle once per workflow execution, and a "classic" zod schema carries dozens of closures per instance, so
 * every cached workflow would cost the worker that much memory; mini schemas carry none and parse the same way. mini
 * loads no locale by default, so the English messages classic zod gives (and errors quote) are configured here, once.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';

z.config(en());
// The worker preloads this module and zod (WORKFLOW_BUNDLE_OPTIONS in src/worker/bundle.ts): evaluated once, then
// deep-frozen. zod decides whether object schemas may compile a fast parser (`allowsEval`) when the first one is built,
// caching the answer on a module-level object; on the frozen object that write is lost silently (seen in the sandbox),
// and every object schema would probe again and parse without its compiled path. Decided here, before the freeze.
void z.core.util.allowsEval.value;

export { z };
