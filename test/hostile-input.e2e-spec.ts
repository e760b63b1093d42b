import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ADMIN_TOKEN, bootTestApp, TestApp } from './support/test-app';

/**
 * Every route of the OpenAPI document × every parameter and body field, fed
 * hostile input (issue 8): never a 5xx, and a 400 wherever the input breaks a
 * rule the document or docs/security.md states. Failures are collected and
 * compared with [] at the end of each test, so one run names all of them.
 */

interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  oneOf?: Schema[];
  allOf?: Schema[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
}
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Schema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}
interface OpenApi {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}
interface Route {
  method: string;
  /** OpenAPI template, e.g. /api/v1/concentrators/{sn} */
  path: string;
  op: Operation;
}
interface Answer {
  status: number;
  contentType: string;
  body: unknown;
}

// ---- hostile values --------------------------------------------------------

/** Query and path values (sent percent-encoded). None is a valid integer, date, boolean or serial. */
const TEXT_VALUES = [
  '99999999999999999999',
  '1e308',
  '-1',
  '1.5',
  '0x10',
  ' 5',
  '',
  '-004714-11-24T00:00:00Z',
  '+275760-09-13T00:00:00Z',
  '2024-02-30T00:00:00Z',
  "' OR '1'='1",
  '\u0000',
  'a\u0000b',
  '\u0007',
  'x'.repeat(3000),
];

/** Body field values; `__proto__` as an own key, as JSON.parse makes it. */
const BODY_VALUES: unknown[] = [
  1e308,
  -1e308,
  1e20,
  1.5,
  '99999999999999999999',
  '1e308',
  '\u0000',
  'a\u0000b',
  '\u0007',
  '-004714-11-24T00:00:00Z',
  "' OR '1'='1",
  true,
  null,
  {},
  [],
  [1e308],
  JSON.parse('{"__proto__":{"polluted":true}}'),
  JSON.parse('{"constructor":{"prototype":{"polluted":true}}}'),
  'x'.repeat(10_000),
];

// The rule of docs/security.md: C0 controls other than tab, LF, CR; and DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function hasControl(v: unknown): boolean {
  if (typeof v === 'string') return CONTROL.test(v);
  if (Array.isArray(v)) return v.some(hasControl);
  if (v && typeof v === 'object') return Object.values(v).some(hasControl);
  return false;
}
function hasForbiddenKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasForbiddenKey);
  if (v && typeof v === 'object')
    return Object.keys(v).some((k) => FORBIDDEN_KEYS.has(k) || hasForbiddenKey((v as never)[k]));
  return false;
}

/** True when `v` breaks what `s` declares (type, integer, maximum, date-time), so 400 is due. */
function breaksSchema(s: Schema, v: unknown): boolean {
  if (v === null) return false; // optional fields may be null (class-validator's IsOptional)
  switch (s.type) {
    case 'string':
      return typeof v !== 'string' || (s.format === 'date-time' && !/^\d{4}-/.test(v));
    case 'boolean':
      return typeof v !== 'boolean';
    case 'integer':
    case 'number':
      return (
        typeof v !== 'number' ||
        (s.type === 'integer' && !Number.isInteger(v)) ||
        (s.maximum !== undefined && v > s.maximum) ||
        (s.minimum !== undefined && v < s.minimum)
      );
    case 'array':
      return !Array.isArray(v);
    case 'object':
      return typeof v !== 'object' || Array.isArray(v);
    default:
      return false;
  }
}

/**
 * Routes that reach devices: with the target offline and no image source in
 * the base body, any input is refused, so a 2xx means a check was skipped.
 * (The firmware upload is not here: a hostile-looking text such as a 20-digit
 * version is a valid version, and storing it is right; invalid ones are 400.)
 */
const DEVICE_EFFECTS = [/\/switch$/, /\/reboot$/, /\/query$/, /^\/api\/v1\/upgrades$/];
const sideEffects = (r: Route) =>
  r.method !== 'GET' && DEVICE_EFFECTS.some((re) => re.test(r.path));

// ---- the sweep -------------------------------------------------------------

describe('hostile input on every route of the OpenAPI document (issue 8)', () => {
  let t: TestApp;
  let port: number;
  let doc: OpenApi;
  let routes: Route[];
  let sn: string;
  // Error lines of the request path: a 500's stack, or an audit row PostgreSQL refused.
  const errorLines: string[] = [];
  const stderrWrite = process.stderr.write.bind(process.stderr);

  beforeAll(async () => {
    t = await bootTestApp();
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      if (/ERROR.*\[(Errors|Audit)\]/.test(text)) errorLines.push(text.slice(0, 300));
      return stderrWrite(chunk, ...rest);
    }) as typeof process.stderr.write;
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    // A registered (offline) concentrator: device routes get past the serial check to validation.
    sn = await t.register();
    doc = (await t.http().get('/docs-json').expect(200)).body as OpenApi;
    routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    );
  }, 60_000);
  afterAll(async () => {
    process.stderr.write = stderrWrite;
    await t?.close();
  }, 30_000);

  /**
   * Raw HTTP, so any byte goes out as given and an event stream is cut at its
   * status line. The admin token: validation, not access, is exercised.
   */
  function send(
    method: string,
    path: string,
    body?: { type: string; data: string | Buffer },
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          headers: {
            Authorization: `Bearer ${ADMIN_TOKEN}`,
            ...(body ? { 'Content-Type': body.type } : {}),
            ...headers,
          },
        },
        (res) => {
          const contentType = String(res.headers['content-type'] ?? '');
          const answer = (text: string): Answer => {
            let parsed: unknown = text;
            if (contentType.includes('json')) {
              try {
                parsed = JSON.parse(text);
              } catch {
                parsed = text;
              }
            }
            return { status: res.statusCode ?? 0, contentType, body: parsed };
          };
          if (contentType.startsWith('text/event-stream')) {
            resolve(answer(''));
            res.destroy();
            return;
          }
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(answer(Buffer.concat(chunks).toString('utf8'))));
          res.on('error', reject);
        },
      );
      req.setTimeout(15_000, () => req.destroy(new Error(`${method} ${path}: no answer`)));
      req.on('error', reject);
      req.end(body?.data);
    });
  }

  const resolve = (s: Schema): Schema => {
    if (s.$ref) return resolve(doc.components.schemas[s.$ref.split('/').pop()!]);
    if (s.allOf) return s.allOf.map(resolve).reduce((a, b) => ({ ...a, ...b }), {});
    return s;
  };

  /** A valid-looking value for a schema; serials are the registered one. */
  function sample(raw: Schema, name = ''): unknown {
    const s = resolve(raw);
    if (name === 'sn') return sn;
    if (name === 'targets') return [sn];
    if (s.example !== undefined) return s.example;
    if (s.default !== undefined) return s.default;
    if (s.enum) return s.enum[0];
    if (s.oneOf) return sample(s.oneOf[0]);
    switch (s.type) {
      case 'string':
        return s.format === 'date-time' ? new Date(Date.now() + 86400_000).toISOString() : 'x';
      case 'integer':
      case 'number':
        return s.minimum ?? 1;
      case 'boolean':
        return true;
      case 'array':
        return s.items ? [sample(s.items)] : [];
      default:
        return sampleObject(s);
    }
  }
  function sampleObject(s: Schema): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of s.required ?? []) out[k] = sample(s.properties?.[k] ?? {}, k);
    return out;
  }

  /** A concrete path: valid values for every path parameter except `override`. */
  function concrete(r: Route, override?: { name: string; value: string }): string {
    return r.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
      if (override?.name === name) return encodeURIComponent(override.value);
      if (name === 'sn') return sn;
      if (name === 'line') return '1';
      if (name === 'sha256') return '0'.repeat(64);
      if (r.path.startsWith('/api/v1/alarms')) return '1';
      if (r.path.startsWith('/api/v1/commands')) return 'c-none';
      return '00000000-0000-4000-8000-000000000000';
    });
  }

  const jsonBody = (r: Route) => r.op.requestBody?.content['application/json']?.schema;
  const multipartBody = (r: Route) => r.op.requestBody?.content['multipart/form-data']?.schema;

  function multipart(
    fields: Record<string, string>,
    file?: string,
    content = 'image-bytes',
  ): { type: string; data: Buffer } {
    const boundary = 'sweep0boundary0' + 'x'.repeat(8);
    const parts: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      parts.push(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
    }
    if (file !== undefined) {
      parts.push(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${file}"\r\n` +
          `Content-Type: application/octet-stream\r\n\r\n${content}\r\n`,
      );
    }
    parts.push(`--${boundary}--\r\n`);
    return { type: `multipart/form-data; boundary=${boundary}`, data: Buffer.from(parts.join('')) };
  }

  /** One finding per broken expectation, named so that the failure message is the report. */
  function check(
    failures: string[],
    what: string,
    r: Route,
    a: Answer,
    expect400: boolean,
    mustName?: string,
  ): void {
    const where = `${r.method} ${r.path} ${what}`;
    if (a.status >= 500) failures.push(`${where}: ${a.status} ${JSON.stringify(a.body)}`);
    else if (expect400 && a.status !== 400) failures.push(`${where}: ${a.status}, expected 400`);
    else if (sideEffects(r) && (a.status < 400 || a.status >= 500))
      failures.push(`${where}: ${a.status} on a device route, expected 4xx`);
    if (a.status === 400) {
      const b = a.body as { statusCode?: number; error?: string; message?: unknown };
      if (b?.statusCode !== 400 || b.error !== 'Bad Request' || b.message === undefined)
        failures.push(`${where}: 400 without the error shape: ${JSON.stringify(a.body)}`);
      else if (mustName && !JSON.stringify(b.message).includes(mustName))
        failures.push(
          `${where}: 400 message does not name ${mustName}: ${JSON.stringify(b.message)}`,
        );
    }
  }

  const show = (v: unknown) => JSON.stringify(v)?.slice(0, 40);
  const bodyRoutes = () => routes.filter((r) => r.method !== 'GET' && r.method !== 'DELETE');
  // The EMQX hooks answer 200 "deny" to anything (EMQX reads any error status as "ignore").
  const isHook = (r: Route) => r.path.startsWith('/broker/emqx');

  it('query parameters: never 5xx; 400 for bad integers, dates, booleans, enums and control characters', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const r of routes) {
      for (const p of (r.op.parameters ?? []).filter((x) => x.in === 'query')) {
        const s = resolve(p.schema ?? {});
        const strict =
          ['integer', 'number', 'boolean'].includes(s.type ?? '') ||
          s.format === 'date-time' ||
          s.enum !== undefined;
        const values: [string, string][] = TEXT_VALUES.map((v) => [
          show(v)!,
          `${p.name}=${encodeURIComponent(v)}`,
        ]);
        // The same parameter twice is a list, not the scalar the route declares.
        values.push(['twice', `${p.name}=1&${p.name}=2`]);
        for (const [label, query] of values) {
          const a = await send(r.method, `${concrete(r)}?${query}`);
          sent++;
          const control = CONTROL.test(decodeURIComponent(query));
          const invalid = control || strict;
          check(failures, `?${p.name}=${label}`, r, a, invalid, invalid ? p.name : undefined);
        }
      }
    }
    expect(sent).toBeGreaterThan(500);
    expect(failures).toEqual([]);
  }, 180_000);

  it('path parameters: never 5xx; 400 for malformed serials, line numbers and control characters', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const r of routes) {
      for (const p of (r.op.parameters ?? []).filter((x) => x.in === 'path')) {
        for (const v of TEXT_VALUES) {
          if (v === '') continue; // an empty segment is another route
          const a = await send(r.method, concrete(r, { name: p.name, value: v }));
          sent++;
          const invalid = CONTROL.test(v) || p.name === 'sn' || p.name === 'line';
          check(failures, `{${p.name}}=${show(v)}`, r, a, invalid);
        }
      }
    }
    expect(sent).toBeGreaterThan(300);
    expect(failures).toEqual([]);
  }, 180_000);

  it('JSON body fields: never 5xx; 400 for wrong types, out-of-range numbers, control characters and __proto__ keys', async () => {
    const failures: string[] = [];
    let sent = 0;
    for (const r of bodyRoutes().filter((x) => jsonBody(x))) {
      const schema = resolve(jsonBody(r)!);
      const base = sampleObject(schema);
      // Top-level fields, and the fields of the first item of a list of objects (schedules, params…).
      const targets: { label: string; field: Schema; set(v: unknown): unknown }[] = [];
      for (const [name, raw] of Object.entries(schema.properties ?? {})) {
        const field = resolve(raw);
        targets.push({ label: name, field, set: (v) => ({ ...base, [name]: v }) });
        const item = field.type === 'array' && field.items ? resolve(field.items) : undefined;
        for (const [sub, subRaw] of Object.entries(item?.properties ?? {})) {
          const itemBase = sampleObject(item!);
          targets.push({
            label: `${name}[0].${sub}`,
            field: resolve(subRaw),
            set: (v) => ({ ...base, [name]: [{ ...itemBase, [sub]: v }] }),
          });
        }
      }
      for (const target of targets) {
        for (const v of BODY_VALUES) {
          const data = JSON.stringify(target.set(v));
          const a = await send(r.method, concrete(r), { type: 'application/json', data });
          sent++;
          const invalid =
            !isHook(r) && (hasControl(v) || hasForbiddenKey(v) || breaksSchema(target.field, v));
          check(failures, `${target.label}=${show(v)}`, r, a, invalid);
        }
      }
    }
    expect(sent).toBeGreaterThan(300);
    expect(failures).toEqual([]);
  }, 180_000);

  it('multipart fields and file names (firmware upload): never 5xx, no control character stored', async () => {
    const failures: string[] = [];
    for (const r of bodyRoutes().filter((x) => multipartBody(x))) {
      const schema = resolve(multipartBody(r)!);
      const textFields = Object.entries(schema.properties ?? {}).filter(
        ([, f]) => resolve(f).format !== 'binary',
      );
      for (const [name] of textFields) {
        for (const v of TEXT_VALUES) {
          const fields = { version: '1.5.0', [name]: v };
          const a = await send(r.method, concrete(r), multipart(fields, 'fw.bin'));
          check(failures, `${name}=${show(v)}`, r, a, CONTROL.test(v) || v === '');
        }
      }
      // A valid upload with a hostile file name: stored or refused, never a crash, never a NUL kept.
      const names = ['a\u0000b.bin', 'a\u0007b.bin', "' OR '1'='1", 'x'.repeat(3000)];
      for (const [i, filename] of names.entries()) {
        const form = multipart({ version: `0.0.${i + 1}` }, filename, `image ${i}`);
        const a = await send(r.method, concrete(r), form);
        check(failures, `filename=${show(filename)}`, r, a, false);
      }
      // A refused upload is audited even when what was refused cannot be stored as it came.
      const audited = await t.query<{ detail: { version?: string } }>(
        `SELECT detail FROM audit_log WHERE action = 'firmware.upload' AND outcome = 'refused'`,
      );
      if (!audited.some((row) => row.detail.version === 'a\\u0000b'))
        failures.push(`refused upload of version "a\\u0000b" not audited`);
      const stored = await t.query<{ filename: string | null }>('SELECT filename FROM firmware');
      for (const f of stored) {
        if (f.filename !== null && CONTROL.test(f.filename))
          failures.push(`stored filename with a control character: ${show(f.filename)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('whole bodies: deep nesting, prototype keys, control characters, malformed JSON are 400 before validation', async () => {
    const failures: string[] = [];
    const deepArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const deepObjects = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    const cases: {
      label: string;
      data: (base: Record<string, unknown>) => string;
      name?: string;
    }[] = [
      {
        label: 'arrays nested 20k deep',
        data: () => deepArrays(20_000),
        name: 'nested too deeply',
      },
      {
        label: 'arrays nested 60k deep',
        data: () => deepArrays(60_000),
        name: 'nested too deeply',
      },
      {
        label: 'objects nested 30k deep',
        data: () => deepObjects(30_000),
        name: 'nested too deeply',
      },
      {
        label: 'a field nested 100 deep',
        data: (b) => JSON.stringify({ ...b, deep: JSON.parse(deepArrays(100)) }),
        name: 'nested too deeply',
      },
      {
        label: '__proto__ key',
        data: (b) => JSON.stringify({ ...JSON.parse('{"__proto__":{"polluted":true}}'), ...b }),
        name: '__proto__',
      },
      {
        label: 'constructor key',
        data: (b) => JSON.stringify({ constructor: { prototype: {} }, ...b }),
        name: 'constructor',
      },
      {
        label: 'nested prototype key',
        data: (b) => JSON.stringify({ ...b, x: [{ prototype: 1 }] }),
        name: 'prototype',
      },
      {
        label: 'NUL in an unknown field',
        data: (b) => JSON.stringify({ ...b, ['k\u0000']: 'v' }),
      },
      { label: 'malformed JSON', data: () => '{"a":' },
    ];
    for (const r of bodyRoutes().filter((x) => !isHook(x))) {
      const schema = jsonBody(r);
      const base = schema ? sampleObject(resolve(schema)) : {};
      for (const c of cases) {
        const a = await send(r.method, concrete(r), {
          type: 'application/json',
          data: c.data(base),
        });
        check(failures, c.label, r, a, true, c.name);
      }
      // Not an object where the route expects one: refused by validation, never a crash.
      if (schema) {
        for (const data of ['[1]', '"x"', 'null', '1e308', '[[[[]]]]']) {
          const a = await send(r.method, concrete(r), { type: 'application/json', data });
          check(failures, `body ${data}`, r, a, true);
        }
      }
    }
    // The hooks stay 200 "deny" whatever arrives.
    for (const r of routes.filter(isHook)) {
      const a = await send(r.method, r.path, {
        type: 'application/json',
        data: deepArrays(60_000),
      });
      if (a.status !== 200) failures.push(`${r.path} deep body: ${a.status}`);
    }
    expect(failures).toEqual([]);
  }, 180_000);

  it('header parameters: never 5xx for odd but sendable values', async () => {
    const failures: string[] = [];
    for (const r of routes) {
      for (const p of (r.op.parameters ?? []).filter((x) => x.in === 'header')) {
        const schema = jsonBody(r);
        const data = JSON.stringify(schema ? sampleObject(resolve(schema)) : {});
        for (const v of TEXT_VALUES.filter((x) => !CONTROL.test(x) && x !== '')) {
          const a = await send(
            r.method,
            concrete(r),
            { type: 'application/json', data },
            { [p.name]: v },
          );
          check(failures, `${p.name}: ${show(v)}`, r, a, false);
        }
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);

  it('the document states the rules: 400 on every route with input, integer ranges, date-times', () => {
    const missing: string[] = [];
    for (const r of routes.filter((x) => !isHook(x))) {
      const responses = (r.op as { responses: Record<string, unknown> }).responses;
      if ((r.op.parameters?.length || r.op.requestBody) && !responses['400'])
        missing.push(`${r.method} ${r.path}: no 400`);
      for (const p of r.op.parameters ?? []) {
        const s = resolve(p.schema ?? {});
        if (['limit', 'offset', 'line', 'wait'].includes(p.name) && p.in === 'query')
          if (s.type !== 'integer' || s.maximum === undefined)
            missing.push(`${r.method} ${r.path} ?${p.name}: ${JSON.stringify(s)}`);
        if (['from', 'to'].includes(p.name) && s.format !== 'date-time')
          missing.push(`${r.method} ${r.path} ?${p.name}: not date-time`);
      }
    }
    const stream = doc.paths['/api/v1/stream'].get as unknown as { responses: object };
    expect(Object.keys(stream.responses)).toEqual(expect.arrayContaining(['429', '503']));
    expect(missing).toEqual([]);
  }, 30_000);

  // The exact inputs of the report, named, so a regression reads as what it is.
  describe('the cases of the report', () => {
    const listRoutes = () =>
      routes.filter(
        (r) => r.method === 'GET' && (r.op.parameters ?? []).some((p) => p.name === 'offset'),
      );

    it('offset beyond range or in exponent form is 400 on every list route', async () => {
      expect(listRoutes().length).toBeGreaterThanOrEqual(8);
      for (const r of listRoutes()) {
        for (const v of ['99999999999999999999', '1e308', '2147483648', '-1', '1.0']) {
          const a = await send('GET', `${concrete(r)}?offset=${v}`);
          expect({ route: r.path, v, status: a.status }).toEqual({ route: r.path, v, status: 400 });
          expect(JSON.stringify((a.body as { message: unknown }).message)).toContain('offset');
        }
        expect((await send('GET', `${concrete(r)}?offset=2147483647`)).status).toBe(200);
      }
    }, 60_000);

    it('dates: strict RFC 3339 in the supported range only', async () => {
      const tel = `/api/v1/concentrators/${sn}/telemetry`;
      for (const v of [
        '-004714-11-24T00:00:00Z',
        "' OR '1'='1",
        '2024-05-01',
        '2024-05-01T00:00:00',
        '1999-12-31T23:59:59Z',
        '2100-01-01T00:00:00Z',
        '2024-13-01T00:00:00Z',
        '2024-02-30T00:00:00Z',
        '1714521600',
        'Wed, 01 May 2024 00:00:00 GMT',
      ]) {
        const a = await send('GET', `${tel}?from=${encodeURIComponent(v)}`);
        expect({ v, status: a.status }).toEqual({ v, status: 400 });
        expect((a.body as { message: string[] }).message.join(' ')).toMatch(/^from must /);
      }
      for (const v of [
        '2024-05-01T00:00:00Z',
        '2024-05-01T08:00:00+08:00',
        '2024-05-01T00:00:00.123456Z',
        '2024-05-01t00:00:00z',
      ]) {
        const a = await send('GET', `${tel}?from=${encodeURIComponent(v)}&to=2024-05-02T00:00:00Z`);
        expect({ v, status: a.status }).toEqual({ v, status: 200 });
      }
      // A "+" left unencoded arrives as a space: the message says what to do.
      const plus = await send('GET', `${tel}?from=2024-05-01T08:00:00+08:00`);
      expect(plus.status).toBe(400);
      expect(JSON.stringify((plus.body as { message: unknown }).message)).toContain('%2B');
    }, 60_000);

    it('NUL in query strings and in a PATCHed name is 400 naming the field', async () => {
      for (const q of ['site=%00', 'q=%00']) {
        const a = await send('GET', `/api/v1/concentrators?${q}`);
        expect(a.status).toBe(400);
        expect(JSON.stringify(a.body)).toContain(q.split('=')[0]);
      }
      // A serial of its own: the sweeps above have released and renamed the shared one.
      const own = await t.register();
      const patch = await send('PATCH', `/api/v1/concentrators/${own}`, {
        type: 'application/json',
        data: JSON.stringify({ name: 'kitchen\u0000' }),
      });
      expect(patch.status).toBe(400);
      expect((patch.body as { message: string }).message).toMatch(/name/);
      const row = await t.query<{ name: string }>('SELECT name FROM concentrators WHERE sn = $1', [
        own,
      ]);
      expect(row[0].name).toBe(`dev ${own}`);
    }, 30_000);
  });

  // Last: everything above has run. A refusal is a 400, never an error in the log.
  it('logged no request error and no refused audit row during the sweep; counted the refusals', async () => {
    expect(errorLines).toEqual([]);
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    for (const rule of ['control_char', 'reserved_key', 'depth']) {
      const m = new RegExp(`^bcb_http_input_refused_total\\{rule="${rule}"\\} (\\d+)$`, 'm').exec(
        metrics,
      );
      expect({ rule, counted: Number(m?.[1] ?? 0) > 0 }).toEqual({ rule, counted: true });
    }
  }, 10_000);
});
