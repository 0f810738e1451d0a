/**
 * Generates docs/config-reference.md from schemas/migration.schema.json: every key path with its type, whether it is
 * required, its default, allowed values and constraints, description and examples.
 *
 *   npm run docs:config            write the reference
 *   npm run docs:config -- --check exit 1 when the committed reference is out of date (what test/unit/docs.test.ts checks)
 *
 * Deterministic: keys in schema order, no clock, no environment; the same schema gives byte-identical output.
 * Schema-driven only: add a key (with a description, a default, `examples`) to the schema and regenerate.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stringify } from 'yaml';

export type JsonSchema = { readonly [key: string]: unknown };

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_FILE = resolve(ROOT, 'schemas/migration.schema.json');
export const REFERENCE_FILE = resolve(ROOT, 'docs/config-reference.md');

/** One documented key. */
export interface KeyRow {
  readonly path: string;
  readonly type: string;
  readonly required: boolean;
  readonly default: string;
  readonly allowed: string;
  readonly description: string;
  readonly examples: readonly unknown[];
}

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Follows local `$ref`s (#/definitions/x, #/$defs/x); a property's own keywords win over the definition's. */
function resolveRef(
  root: JsonSchema,
  node: JsonSchema,
  seen: readonly string[] = [],
): { schema: JsonSchema; refName: string | null } {
  const ref = node.$ref;
  if (typeof ref !== 'string') return { schema: node, refName: null };
  if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}: only local references are documented`);
  if (seen.includes(ref)) throw new Error(`recursive $ref ${ref}`);
  let target: unknown = root;
  for (const part of ref.slice(2).split('/'))
    target = isObject(target) ? target[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  if (!isObject(target)) throw new Error(`unresolved $ref ${ref}`);
  const inner = resolveRef(root, target, [...seen, ref]);
  const { $ref: _ref, ...own } = node;
  return { schema: { ...inner.schema, ...own }, refName: ref.split('/').pop() ?? null };
}

function inline(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : JSON.stringify(value);
}

/** A value in a table cell: code span, pipes escaped (GFM splits cells on them even inside code). */
function code(value: unknown): string {
  const text = inline(value).replace(/\|/g, '\\|');
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ').trim();
}

function typeOf(root: JsonSchema, s: JsonSchema, refName: string | null): string {
  if ('const' in s) return Number.isInteger(s.const) ? 'integer' : typeof s.const;
  if (Array.isArray(s.enum)) {
    const kinds = [...new Set(s.enum.map((v) => (v === null ? 'null' : typeof v)))];
    return kinds.join(' | ');
  }
  const variants = (Array.isArray(s.oneOf) ? s.oneOf : Array.isArray(s.anyOf) ? s.anyOf : null) as unknown[] | null;
  if (variants)
    return variants
      .filter(isObject)
      .map((v) => {
        const r = resolveRef(root, v);
        return typeOf(root, r.schema, r.refName);
      })
      .join(' | ');
  const types = Array.isArray(s.type) ? (s.type as unknown[]).map(String) : typeof s.type === 'string' ? [s.type] : [];
  const described = types.map((t) => {
    if (t === 'array' && isObject(s.items)) {
      const r = resolveRef(root, s.items);
      return `array of ${typeOf(root, r.schema, r.refName)}`;
    }
    if (t === 'object' && !isObject(s.properties) && isObject(s.additionalProperties)) return 'map';
    return t;
  });
  const label = refName ?? namedPattern(root, s)?.name ?? null;
  const named = label && !['object', 'array'].includes(types[0] ?? '') ? ` (${label})` : '';
  return described.length > 0 ? `${described.join(' | ')}${named}` : 'any';
}

/** A string property whose pattern is the pattern of a named definition (e.g. duration) is labelled with it. */
function namedPattern(root: JsonSchema, s: JsonSchema): { name: string; schema: JsonSchema } | null {
  if (typeof s.pattern !== 'string') return null;
  const defs = { ...(isObject(root.definitions) ? root.definitions : {}), ...(isObject(root.$defs) ? root.$defs : {}) };
  for (const [name, d] of Object.entries(defs))
    if (isObject(d) && d.pattern === s.pattern && d.type === s.type) return { name, schema: d };
  return null;
}

function allowedOf(s: JsonSchema): string {
  const parts: string[] = [];
  if ('const' in s) parts.push(`always ${code(s.const)}`);
  if (Array.isArray(s.enum)) parts.push(s.enum.map(code).join(', '));
  const bound = (k: string, label: string): void => {
    if (typeof s[k] === 'number') parts.push(`${label} ${s[k]}`);
  };
  bound('minimum', '≥');
  bound('exclusiveMinimum', '>');
  bound('maximum', '≤');
  bound('exclusiveMaximum', '<');
  bound('minLength', 'length ≥');
  bound('maxLength', 'length ≤');
  bound('minItems', 'items ≥');
  bound('maxItems', 'items ≤');
  if (s.uniqueItems === true) parts.push('unique items');
  if (typeof s.format === 'string') parts.push(`format ${s.format}`);
  if (typeof s.pattern === 'string') parts.push(`matches ${code(s.pattern)}`);
  return parts.join('; ');
}

/** What the items of a list may be: their values or pattern (tables.include: `schema.table` patterns). */
function itemsAllowedOf(root: JsonSchema, s: JsonSchema): string {
  if (!isObject(s.items)) return '';
  const items = resolveRef(root, s.items).schema;
  if (isObject(items.properties)) return '';
  const inner = allowedOf(items);
  return inner ? `items: ${inner}` : '';
}

function descriptionOf(s: JsonSchema, fromRef: JsonSchema | null): string {
  const own = typeof s.description === 'string' ? s.description : '';
  if (own) return own;
  return fromRef && typeof fromRef.description === 'string' ? fromRef.description : '';
}

/** Every key path of the schema, depth first in schema order. */
export function collectKeys(root: JsonSchema): KeyRow[] {
  const rows: KeyRow[] = [];
  const walk = (node: JsonSchema, prefix: string): void => {
    const props = isObject(node.properties) ? node.properties : {};
    const required = new Set(Array.isArray(node.required) ? node.required.map(String) : []);
    for (const [name, raw] of Object.entries(props)) {
      if (!isObject(raw)) continue;
      const path = prefix ? `${prefix}.${name}` : name;
      visit(raw, path, required.has(name));
    }
    // maps: tables.overrides.<key>.batch_size
    if (isObject(node.additionalProperties)) {
      const keyName = mapKeyName(root, node);
      visit(node.additionalProperties, `${prefix}.${keyName}`, false, node);
    }
    for (const combo of ['allOf', 'oneOf', 'anyOf']) {
      const list = node[combo];
      if (Array.isArray(list))
        for (const v of list)
          if (isObject(v)) {
            const r = resolveRef(root, v);
            if (isObject(r.schema.properties)) walk(r.schema, prefix);
          }
    }
  };
  const visit = (raw: JsonSchema, path: string, required: boolean, mapOf?: JsonSchema): void => {
    const { schema, refName } = resolveRef(root, raw);
    const refTarget = refName
      ? resolveRef(root, { $ref: raw.$ref }).schema
      : (namedPattern(root, schema)?.schema ?? null);
    const keyPattern =
      mapOf && isObject(mapOf.propertyNames) ? resolveRef(root, mapOf.propertyNames).schema.pattern : undefined;
    const allowed = [
      typeof keyPattern === 'string' ? `keys match ${code(keyPattern)}` : '',
      allowedOf(schema),
      itemsAllowedOf(root, schema),
    ]
      .filter(Boolean)
      .join('; ');
    const isContainer = isObject(schema.properties);
    const hasDefault =
      'default' in schema && !(isContainer && isObject(schema.default) && Object.keys(schema.default).length === 0);
    const examples = Array.isArray(schema.examples) ? schema.examples : [];
    rows.push({
      path,
      type: typeOf(root, schema, refName),
      required,
      default: hasDefault ? code(schema.default) : '',
      allowed,
      description: descriptionOf(schema, refTarget),
      examples,
    });
    walk(schema, path);
    if (isObject(schema.items)) {
      const items = resolveRef(root, schema.items).schema;
      if (isObject(items.properties)) walk(items, `${path}[]`);
    }
  };
  walk(root, '');
  return rows;
}

function mapKeyName(root: JsonSchema, node: JsonSchema): string {
  if (isObject(node.propertyNames) && typeof node.propertyNames.$ref === 'string') {
    const name = node.propertyNames.$ref.split('/').pop() ?? 'key';
    if (name === 'tablePattern') return '<schema.table>';
    return `<${name}>`;
  }
  void root;
  return '<key>';
}

/** The section's keys at their defaults (or first example), as YAML. Null when nothing has a value to show. */
function defaultsYaml(root: JsonSchema, name: string, node: JsonSchema): string | null {
  const build = (raw: JsonSchema): unknown => {
    const { schema } = resolveRef(root, raw);
    if (isObject(schema.properties)) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(schema.properties)) {
        if (!isObject(v)) continue;
        const value = build(v);
        if (value !== undefined) out[k] = value;
      }
      // an object whose required keys have no value to show (cutover.switch) is left out
      const needs = Array.isArray(schema.required) ? schema.required.map(String) : [];
      if (needs.some((k) => !(k in out))) return undefined;
      return Object.keys(out).length > 0 ? out : undefined;
    }
    if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
    if ('default' in schema) return schema.default;
    if ('const' in schema) return schema.const;
    return undefined;
  };
  const value = build(node);
  if (value === undefined) return null;
  return stringify({ [name]: value }, { lineWidth: 0, sortMapEntries: false }).trimEnd();
}

/** The whole reference document. Pure and deterministic. */
export function renderConfigReference(root: JsonSchema): string {
  const rows = collectKeys(root);
  const props = isObject(root.properties) ? root.properties : {};
  const out: string[] = [];
  out.push(
    '<!-- GENERATED by scripts/gen-config-reference.ts from schemas/migration.schema.json: do not edit by hand. Run `npm run docs:config`. -->',
  );
  out.push('');
  out.push('# Config reference: migration.yaml');
  out.push('');
  if (typeof root.description === 'string') out.push(`${root.description}`, '');
  out.push(
    'Every key of `migration.yaml`, generated from [`schemas/migration.schema.json`](../schemas/migration.schema.json), the file',
    '`pgshift validate` checks against (editors with the YAML language server load it from the first line',
    '`# yaml-language-server: $schema=./schemas/migration.schema.json`). `pgshift validate` also checks meaning beyond the',
    'schema (see [configuration.md](configuration.md)). Any value may be written `${VAR}` or `${VAR:-default}`.',
    '',
    '`<schema.table>` in a path stands for a key you choose; `[]` for an item of a list. A default of an object is the',
    'object with its own keys at their defaults.',
    '',
  );
  const header = [
    '| key | type | required | default | allowed values | description |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  const line = (r: KeyRow, link: boolean): string => {
    const ex =
      r.examples.length > 0 ? `Example${r.examples.length > 1 ? 's' : ''}: ${r.examples.map(code).join(', ')}.` : '';
    const key = link ? `[\`${cell(r.path)}\`](#${anchor(r.path)})` : `\`${cell(r.path)}\``;
    return `| ${key} | ${cell(r.type)} | ${r.required ? 'yes' : ''} | ${r.default} | ${r.allowed} | ${[cell(r.description), ex].filter(Boolean).join(' ')} |`;
  };
  const nested = (name: string): KeyRow[] =>
    rows.filter((r) => r.path.startsWith(`${name}.`) || r.path.startsWith(`${name}[]`));
  const sections = Object.entries(props).filter(
    (e): e is [string, JsonSchema] =>
      isObject(e[1]) && (isObject(resolveRef(root, e[1]).schema.properties) || nested(e[0]).length > 0),
  );
  const sectionNames = new Set(sections.map(([n]) => n));
  out.push('## Top-level keys', '', ...header);
  for (const r of rows)
    if (!r.path.includes('.') && !r.path.includes('[]')) out.push(line(r, sectionNames.has(r.path)));
  out.push('');
  for (const [name, raw] of sections) {
    const section = nested(name);
    out.push(`## ${name}`, '');
    const head = rows.find((r) => r.path === name);
    if (head?.description) out.push(head.description, '');
    out.push(...header, ...section.map((r) => line(r, false)), '');
    const yaml = defaultsYaml(root, name, raw);
    if (yaml) out.push('Defaults (and examples where the schema gives them):', '', '```yaml', yaml, '```', '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9_ -]/g, '')
    .replace(/ /g, '-');
}

export function loadSchema(file: string = SCHEMA_FILE): JsonSchema {
  return JSON.parse(readFileSync(file, 'utf8')) as JsonSchema;
}

function main(argv: readonly string[]): number {
  const text = renderConfigReference(loadSchema());
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(REFERENCE_FILE, 'utf8');
    } catch {
      current = '';
    }
    if (current !== text) {
      process.stderr.write(
        'docs/config-reference.md is out of date with schemas/migration.schema.json: run `npm run docs:config`.\n',
      );
      return 1;
    }
    process.stdout.write('docs/config-reference.md is up to date.\n');
    return 0;
  }
  writeFileSync(REFERENCE_FILE, text);
  const keys = collectKeys(loadSchema());
  const bare = keys.filter((k) => !k.description).map((k) => k.path);
  process.stdout.write(`Wrote docs/config-reference.md (${keys.length} keys).\n`);
  if (bare.length > 0)
    process.stderr.write(`${bare.length} key(s) have no description in the schema: ${bare.join(', ')}\n`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
