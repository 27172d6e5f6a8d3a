import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

type Node = Record<string, unknown>;
type Doc = {
  paths: Record<string, Record<string, { responses: Record<string, Node> }>>;
  components: Record<string, Record<string, Node>>;
};

/** OpenAPI 3.0 -> JSON Schema: `nullable` becomes a null branch; refs point into the document registered as 'spec'. */
function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (!node || typeof node !== 'object') return node;
  const out: Node = {};
  for (const [k, v] of Object.entries(node as Node)) {
    if (k === '$ref' && typeof v === 'string') out.$ref = v.replace(/^#/, 'spec#');
    else if (k !== 'example' && k !== 'examples' && k !== 'nullable' && k !== 'discriminator') out[k] = convert(v);
  }
  if ((node as Node).nullable === true) {
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else return { anyOf: [out, { type: 'null' }] };
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
  }
  return out;
}

export type SpecValidator = {
  /** Validates a response against the spec; returns error text, or undefined when it conforms. */
  check(method: string, url: string, status: number, body: unknown): string | undefined;
  templateOf(method: string, url: string): string | undefined;
};

export function loadSpecValidator(): SpecValidator {
  const file = require.resolve('@neondatabase/api-client/public-v2-for-users.gen.yaml');
  const doc = YAML.parse(readFileSync(file, 'utf8')) as Doc;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const f of ['int32', 'int64', 'uint64', 'int', 'double', 'binary', '']) ajv.addFormat(f, true);
  ajv.addSchema({ $id: 'spec', components: convert(doc.components) as object });
  const templates = Object.keys(doc.paths).map((t) => ({
    t,
    re: new RegExp('^' + t.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
    literal: t.split('/').filter((s) => s && !s.startsWith('{')).length,
  }));
  const cache = new Map<string, ValidateFunction | null>();
  const templateOf = (method: string, url: string): string | undefined => {
    const path = new URL(url, 'http://x').pathname.replace(/^.*\/api\/v2/, '');
    return templates
      .filter((x) => x.re.test(path) && doc.paths[x.t]?.[method.toLowerCase()])
      .sort((a, b) => b.literal - a.literal)[0]?.t;
  };
  return {
    templateOf,
    check(method, url, status, body) {
      const t = templateOf(method, url);
      if (!t) return `no spec path for ${method} ${url}`;
      const key = `${method} ${t} ${status}`;
      if (!cache.has(key)) {
        const responses = doc.paths[t]![method.toLowerCase()]!.responses;
        let r = responses[String(status)] ?? responses.default;
        if (!r) return `${key}: status not in spec`;
        if (typeof r.$ref === 'string') r = doc.components.responses![r.$ref.split('/').pop()!]!;
        const schema = (r.content as Record<string, { schema: unknown }> | undefined)?.['application/json']?.schema;
        cache.set(key, schema ? ajv.compile(convert(schema) as object) : null);
      }
      const v = cache.get(key);
      if (!v) return body === '' || body === undefined || body === null ? undefined : `${key}: spec defines no body`;
      return v(body) ? undefined : `${key}: ${ajv.errorsText(v.errors)}`;
    },
  };
}
