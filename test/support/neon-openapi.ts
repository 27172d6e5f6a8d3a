import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';

type Node = Record<string, unknown>;
type Parameter = { name: string; in: string; required?: boolean; schema?: Node };
type Operation = {
  responses: Record<string, Node>;
  parameters?: (Parameter | { $ref: string })[];
  requestBody?: { required?: boolean; content?: Record<string, { schema?: Node }> };
};
type Doc = {
  paths: Record<string, Record<string, Operation> & { parameters?: (Parameter | { $ref: string })[] }>;
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
  /**
   * Checks a request as it went on the wire against the operation for its method and path: path parameters, every
   * query parameter declared (and of its declared type), required ones present, and the JSON body valid for the
   * operation's request-body schema with no property the schema does not declare (Neon ignores unknown fields, so a
   * misspelt one would be lost silently). Returns one line per violation, none when the request conforms.
   */
  checkRequest(method: string, url: string, body: string | undefined): string[];
};

/** `$ref` into the document, followed until a non-reference. */
function deref<T>(doc: Doc, node: T | { $ref: string }): T {
  let n: unknown = node;
  while (n && typeof n === 'object' && typeof (n as Node).$ref === 'string')
    n = (n as { $ref: string }).$ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<unknown>((o, k) => (o as Node)[k], doc);
  return n as T;
}

/** The schemas a value must meet, with references followed and allOf/anyOf/oneOf spread out. */
function leaves(doc: Doc, schemas: unknown[]): Node[] {
  return schemas.flatMap((schema) => {
    const node = deref<Node>(doc, schema as Node);
    const parts = ['allOf', 'anyOf', 'oneOf'].flatMap((k) => (Array.isArray(node[k]) ? (node[k] as unknown[]) : []));
    return [node, ...leaves(doc, parts)];
  });
}

/** Properties of `value` (at any depth) that none of its schemas declares; objects without declared properties are free-form. */
function undeclared(doc: Doc, schemas: unknown[], value: unknown, at: string): string[] {
  const nodes = leaves(doc, schemas);
  if (Array.isArray(value)) {
    const items = nodes.map((n) => n.items).filter((i) => i !== undefined);
    return value.flatMap((v, i) => undeclared(doc, items, v, `${at}/${i}`));
  }
  if (!value || typeof value !== 'object') return [];
  const open = nodes.some((n) => n.additionalProperties !== undefined && n.additionalProperties !== false);
  if (open || !nodes.some((n) => n.properties)) return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const subs = nodes.map((n) => (n.properties as Node | undefined)?.[key]).filter((p) => p !== undefined);
    return subs.length ? undeclared(doc, subs, v, `${at}/${key}`) : [`${at}/${key} is not declared`];
  });
}

/** A query or path value as its schema types it (the wire carries strings); left a string when it is not one. */
function typed(schema: Node | undefined, raw: string): unknown {
  const type = schema?.type;
  if ((type === 'integer' || type === 'number') && /^-?\d+(\.\d+)?$/.test(raw)) return Number(raw);
  if (type === 'boolean' && (raw === 'true' || raw === 'false')) return raw === 'true';
  return raw;
}

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
  const paramValidators = new Map<Node, ValidateFunction>();
  const validParam = (schema: Node, value: unknown): string | undefined => {
    let v = paramValidators.get(schema);
    if (!v) paramValidators.set(schema, (v = ajv.compile(convert(schema) as object)));
    return v(value) ? undefined : ajv.errorsText(v.errors, { dataVar: '' });
  };
  const bodyValidators = new Map<string, ValidateFunction>();
  const checkRequest = (method: string, url: string, body: string | undefined): string[] => {
    const t = templateOf(method, url);
    if (!t) return [`${method} ${url}: no operation in the spec`];
    const key = `${method} ${t}`;
    const item = doc.paths[t]!;
    const op = item[method.toLowerCase()]!;
    const params = [...(item.parameters ?? []), ...(op.parameters ?? [])].map((p) => deref<Parameter>(doc, p));
    const errors: string[] = [];
    const parsed = new URL(url, 'http://x');

    const values = new RegExp('^(?:.*/api/v2)?' + t.replace(/\{[^}]+\}/g, '([^/]+)') + '$').exec(parsed.pathname);
    const names = [...t.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
    names.forEach((name, i) => {
      const param = params.find((p) => p.in === 'path' && p.name === name);
      const value = decodeURIComponent(values?.[i + 1] ?? '');
      const bad = param?.schema && validParam(param.schema, typed(param.schema, value));
      if (!param) errors.push(`${key}: path parameter ${name} is not declared`);
      else if (bad) errors.push(`${key}: path parameter ${name}=${value}${bad}`);
    });

    for (const name of new Set(parsed.searchParams.keys())) {
      const param = params.find((p) => p.in === 'query' && p.name === name);
      const all = parsed.searchParams.getAll(name);
      if (!param) errors.push(`${key}: query parameter ${name} is not declared`);
      else if (all.length > 1 && param.schema?.type !== 'array')
        errors.push(`${key}: query parameter ${name} repeated`);
      else {
        const bad = param.schema && validParam(param.schema, typed(param.schema, all[0]!));
        if (bad) errors.push(`${key}: query parameter ${name}=${all[0]}${bad}`);
      }
    }
    for (const p of params)
      if (p.in === 'query' && p.required && !parsed.searchParams.has(p.name))
        errors.push(`${key}: required query parameter ${p.name} is missing`);

    const schema = op.requestBody?.content?.['application/json']?.schema;
    if (body === undefined || body === '') {
      if (op.requestBody?.required) errors.push(`${key}: the operation requires a body; none was sent`);
      return errors;
    }
    if (!schema) return [...errors, `${key}: the operation takes no JSON body, yet one was sent`];
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      return [...errors, `${key}: the body is not JSON`];
    }
    if (!bodyValidators.has(key)) bodyValidators.set(key, ajv.compile(convert(schema) as object));
    const v = bodyValidators.get(key)!;
    if (!v(json)) errors.push(`${key}: body ${ajv.errorsText(v.errors, { dataVar: '' })}`);
    for (const extra of undeclared(doc, [schema], json, '')) errors.push(`${key}: body ${extra}`);
    return errors;
  };
  return {
    templateOf,
    checkRequest,
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
