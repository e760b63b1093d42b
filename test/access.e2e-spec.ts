import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpRoute, RouteTable } from '../src/auth/route-table';
import { ADMIN_TOKEN, bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

const HIGH = '1000000';

/**
 * The only routes answered without a token. Adding a public route means adding
 * it here (and to src/auth/access-routes.ts) on purpose.
 */
const PUBLIC: { method: string; path: RegExp }[] = [
  { method: 'GET', path: /^\/health$/ },
  { method: 'GET', path: /^\/metrics$/ },
  { method: 'GET', path: /^\/docs$/ },
  { method: 'GET', path: /^\/docs-json$/ },
  { method: 'GET', path: /^\/firmware\/:[A-Za-z0-9_]+$/ },
  { method: 'POST', path: /^\/broker\/emqx\/[a-z]+$/ },
];
const isPublic = (method: string, path: string) =>
  PUBLIC.some(
    (p) => (p.method === method || (p.method === 'GET' && method === 'HEAD')) && p.path.test(path),
  );

const ROLES = ['viewer', 'operator', 'admin'] as const;
type Role = (typeof ROLES)[number];
const rank = (r: Role) => ROLES.indexOf(r);

/** Raw HTTP: resolves on the status line, so streams (SSE) and downloads are fine too. */
function status(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method,
        path,
        headers: body !== undefined ? { 'content-type': 'application/json', ...headers } : headers,
      },
      (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
        res.destroy();
      },
    );
    req.setTimeout(10_000, () => req.destroy(new Error(`${method} ${path}: no answer`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A concrete URL for a route template; unknown ids give 404/400, which is fine here. */
function concrete(path: string, sn: string): string {
  return path
    .replace(/:sn\b/g, sn)
    .replace(/:line\b/g, '1')
    .replace(/:(sha256|sha)\b/g, '0'.repeat(64))
    .replace(/:id\b/g, '00000000-0000-4000-8000-000000000000')
    .replace(/:[A-Za-z0-9_]+/g, '1')
    .replace(/\*[A-Za-z0-9_]*/g, 'x');
}

function expressRoutes(t: TestApp): { method: string; path: string }[] {
  const express = t.app.getHttpAdapter().getInstance() as {
    router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
  };
  return express.router.stack.flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods)
          .filter((m) => m !== '_all')
          .map((m) => ({ method: m.toUpperCase(), path: layer.route!.path }))
      : [],
  );
}

async function createToken(t: TestApp, role: Role, extra: Record<string, unknown> = {}) {
  const res = await t
    .api()
    .post('/api/v1/tokens')
    .send({ name: `e2e-${role}`, role, ...extra });
  expect(res.status).toBe(201);
  return res.body as { id: string; token: string; prefix: string; name: string };
}

describe('API access: tokens, roles, headers, limits on input', () => {
  let t: TestApp;
  let port: number;
  const tokens = {} as Record<Role | 'revoked', string>;

  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        RATE_LIMIT_PER_MIN: HIGH,
        RATE_LIMIT_COMMANDS_PER_MIN: HIGH,
        RATE_LIMIT_AUTH_FAILURES_PER_MIN: HIGH,
        HTTP_BODY_LIMIT: '32kb',
      },
    });
    port = (t.app.getHttpServer().address() as AddressInfo).port;
    for (const role of ROLES) tokens[role] = (await createToken(t, role)).token;
    const revoked = await createToken(t, 'admin', { name: 'e2e-revoked' });
    expect((await t.api().delete(`/api/v1/tokens/${revoked.id}`)).status).toBe(204);
    tokens.revoked = revoked.token;
  }, 30_000);
  afterAll(() => t?.close(), 30_000);

  describe('tokens', () => {
    it('shows a token once, stores only its SHA-256, and lists tokens without secrets', async () => {
      const created = await createToken(t, 'viewer', { name: 'dashboard north' });
      expect(created.token).toMatch(/^bcb_[A-Za-z0-9_-]{43}$/);
      expect(created.prefix).toBe(created.token.slice(0, 8));
      const rows = await t.query<Record<string, unknown>>(
        'SELECT * FROM api_tokens WHERE id = $1',
        [created.id],
      );
      expect(rows[0].token_hash).toBe(createHash('sha256').update(created.token).digest('hex'));
      expect(JSON.stringify(rows)).not.toContain(created.token.slice(8));

      const list = await t.api().get('/api/v1/tokens?limit=1000');
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.body)).not.toContain(created.token.slice(8));
      const item = (list.body.items as Record<string, unknown>[]).find((i) => i.id === created.id)!;
      expect(item).toMatchObject({
        name: 'dashboard north',
        role: 'viewer',
        revoked: false,
        active: true,
        expiresAt: null,
        lastUsedAt: null,
        createdBy: 'bootstrap-admin',
      });
      expect(item).not.toHaveProperty('token');
      expect(item).not.toHaveProperty('tokenHash');

      const used = await t
        .http()
        .get('/api/v1/concentrators')
        .set('Authorization', `Bearer ${created.token}`);
      expect(used.status).toBe(200);
      await waitFor(
        async () => {
          const l = await t.api().get('/api/v1/tokens?limit=1000');
          const i = (l.body.items as { id: string; lastUsedAt: string | null }[]).find(
            (x) => x.id === created.id,
          );
          return i?.lastUsedAt != null;
        },
        10_000,
        'lastUsedAt',
      );
    }, 30_000);

    it('revokes immediately (204), 404 for unknown ids, and audits creation and revocation', async () => {
      const tok = await createToken(t, 'operator');
      const auth = { Authorization: `Bearer ${tok.token}` };
      expect((await status(port, 'GET', '/api/v1/concentrators', auth)).status).toBe(200);
      expect((await t.api().delete(`/api/v1/tokens/${tok.id}`)).status).toBe(204);
      const after = await t.http().get('/api/v1/concentrators').set(auth);
      expect(after.status).toBe(401);
      expect(after.body.message).toBe('token revoked');
      expect((await t.api().delete(`/api/v1/tokens/${tok.id}`)).status).toBe(204);
      expect(
        (await t.api().delete('/api/v1/tokens/00000000-0000-4000-8000-000000000001')).status,
      ).toBe(404);
      expect((await t.api().delete('/api/v1/tokens/not-a-uuid')).status).toBe(404);

      const listed = await t.api().get('/api/v1/tokens?limit=1000');
      const item = (listed.body.items as Record<string, unknown>[]).find((i) => i.id === tok.id)!;
      expect(item).toMatchObject({ revoked: true, active: false, revokedBy: 'bootstrap-admin' });

      const audit = await t.query<{ action: string; outcome: string; actor: string }>(
        `SELECT action, outcome, actor FROM audit_log WHERE target = $1 ORDER BY id`,
        [tok.id],
      );
      expect(audit).toEqual([
        { action: 'token.create', outcome: 'ok', actor: 'bootstrap-admin' },
        { action: 'token.revoke', outcome: 'ok', actor: 'bootstrap-admin' },
      ]);
    }, 30_000);

    it('refuses expired tokens, past expiry dates, and token management below admin', async () => {
      const past = await t
        .api()
        .post('/api/v1/tokens')
        .send({
          name: 'x',
          role: 'viewer',
          expiresAt: new Date(Date.now() - 1000).toISOString(),
        });
      expect(past.status).toBe(400);
      const tok = await createToken(t, 'admin', {
        expiresAt: new Date(Date.now() + 3600_000).toISOString(),
      });
      const auth = { Authorization: `Bearer ${tok.token}` };
      expect((await status(port, 'GET', '/api/v1/tokens', auth)).status).toBe(200);
      await t.query(
        `UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`,
        [tok.id],
      );
      const res = await t.http().get('/api/v1/tokens').set(auth);
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('token expired');

      for (const role of ['viewer', 'operator'] as const) {
        const r = await t
          .http()
          .post('/api/v1/tokens')
          .set('Authorization', `Bearer ${tokens[role]}`)
          .send({ name: 'y', role: 'admin' });
        expect(r.status).toBe(403);
      }
      // The actor of a DB token is its name plus the id prefix (names may repeat during rotation).
      const mine = await t
        .http()
        .post('/api/v1/tokens')
        .set('Authorization', `Bearer ${tokens.admin}`)
        .send({ name: 'by-token', role: 'viewer' });
      expect(mine.body.createdBy).toMatch(/^e2e-admin#[0-9a-f]{8}$/);
      // The bootstrap admin token still works next to DB tokens.
      expect((await t.api().get('/api/v1/tokens')).status).toBe(200);
    }, 30_000);

    it('accepts the scheme in any case and refuses malformed headers', async () => {
      expect(
        (
          await status(port, 'GET', '/api/v1/concentrators', {
            Authorization: `bearer ${tokens.viewer}`,
          })
        ).status,
      ).toBe(200);
      for (const h of [
        'Basic dXNlcjpwYXNz',
        'Bearer',
        `Bearer ${tokens.viewer} x`,
        tokens.viewer,
        'Bearer short',
      ]) {
        const r = await status(port, 'GET', '/api/v1/concentrators', { Authorization: h });
        expect({ h, status: r.status }).toEqual({ h, status: 401 });
        expect(r.headers['www-authenticate']).toContain('Bearer');
      }
    }, 30_000);
  });

  describe('route table', () => {
    let routes: HttpRoute[];
    beforeAll(() => {
      routes = t.app.get(RouteTable).routes();
    }, 30_000);

    it('is the router: every Express route is a controller route with its metadata, or the docs', () => {
      const known = new Set(routes.map((r) => `${r.method} ${r.path}`));
      const unknown = expressRoutes(t)
        .filter(
          (r) =>
            !known.has(`${r.method} ${r.path}`) &&
            !(r.method === 'HEAD' && known.has(`GET ${r.path}`)),
        )
        .filter((r) => !(r.method === 'GET' && /^\/docs(-json|-yaml)?(\/|$)/.test(r.path)));
      expect(unknown).toEqual([]);
      expect(routes.length).toBeGreaterThan(10);
      expect(routes).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ method: 'POST', path: '/api/v1/tokens', minRole: 'admin' }),
        ]),
      );
    }, 30_000);

    it('every non-public route declares @MinRole, and only the listed routes are public', () => {
      const missing = routes
        .filter((r) => !r.public && !r.minRole)
        .map((r) => `${r.method} ${r.path} (${r.controller}.${r.handler})`);
      expect(missing).toEqual([]);
      const mismatch = routes
        .filter((r) => r.public !== isPublic(r.method, r.path))
        .map((r) => `${r.method} ${r.path}: app says ${r.public ? 'public' : 'private'}`);
      expect(mismatch).toEqual([]);
      const outsideApi = routes.filter((r) => !r.public && !r.path.startsWith('/api/v1/'));
      expect(outsideApi).toEqual([]);
    }, 30_000);

    it('answers each route × {viewer, operator, admin, none, revoked, malformed} per its minimum role', async () => {
      const sn = newSerial();
      const malformed = [
        'Basic dXNlcjpwYXNz',
        `Token ${ADMIN_TOKEN}`,
        'Bearer',
        `Bearer ${ADMIN_TOKEN} x`,
      ];
      const failures: string[] = [];
      let i = 0;
      for (const r of routes) {
        const url = concrete(r.path, sn);
        const body = ['POST', 'PUT', 'PATCH'].includes(r.method) ? '{}' : undefined;
        const call = (h: Record<string, string>) =>
          status(port, r.method, url, h, body).then((x) => x.status);
        const label = `${r.method} ${r.path}`;
        if (r.public) {
          const s = await call({});
          if (s === 401 || s === 403 || s >= 500) failures.push(`${label} public, no token: ${s}`);
          continue;
        }
        const need = r.minRole as Role;
        const results = await Promise.all([
          ...ROLES.map(async (role) => ({
            who: role,
            s: await call({ Authorization: `Bearer ${tokens[role]}` }),
          })),
          call({}).then((s) => ({ who: 'none', s })),
          call({ Authorization: `Bearer ${tokens.revoked}` }).then((s) => ({ who: 'revoked', s })),
          call({ Authorization: malformed[i++ % malformed.length] }).then((s) => ({
            who: 'malformed',
            s,
          })),
        ]);
        for (const { who, s } of results) {
          const role = ROLES.includes(who as Role) ? (who as Role) : undefined;
          const ok = role
            ? rank(role) >= rank(need)
              ? ![401, 403, 429].includes(s) && s < 500
              : s === 403
            : s === 401;
          if (!ok) failures.push(`${label} (min ${need}) as ${who}: ${s}`);
        }
      }
      expect(failures).toEqual([]);
    }, 90_000);
  });

  describe('HTTP hardening', () => {
    it('sets security headers without breaking Swagger UI', async () => {
      const docs = await t.http().get('/docs');
      expect(docs.status).toBe(200);
      expect(docs.headers['content-type']).toContain('text/html');
      const csp = String(docs.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('upgrade-insecure-requests');
      expect(docs.headers['x-content-type-options']).toBe('nosniff');
      expect(docs.headers['x-powered-by']).toBeUndefined();
      // Every script is an external same-origin file (CSP allows no inline code), and loads.
      const html = docs.text;
      const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, code] of scripts) {
        expect(code.trim()).toBe('');
        const src = /src=["']([^"']+)["']/.exec(attrs)![1];
        const url = new URL(src, 'http://x/docs').pathname;
        const js = await t.http().get(url);
        expect({ url, status: js.status }).toEqual({ url, status: 200 });
        expect(js.headers['content-type']).toMatch(/javascript/);
      }
      const css = /<link[^>]+href=["']([^"']+\.css)["']/.exec(html)![1];
      expect((await t.http().get(new URL(css, 'http://x/docs').pathname)).status).toBe(200);
      const json = await t.http().get('/docs-json');
      expect(json.status).toBe(200);
      expect(json.body.openapi).toMatch(/^3\./);
      expect(Object.keys(json.body.paths)).toEqual(
        expect.arrayContaining(['/api/v1/tokens', '/api/v1/tokens/{id}', '/metrics']),
      );

      const api = await t.api().get('/api/v1/concentrators');
      expect(api.headers['cache-control']).toBe('no-store');
      expect(api.headers['x-content-type-options']).toBe('nosniff');
      expect(api.headers['x-frame-options']).toBe('SAMEORIGIN');
    }, 30_000);

    it('rejects bodies over HTTP_BODY_LIMIT with 413, before authentication', async () => {
      const big = JSON.stringify({ sn: newSerial(), name: 'x'.repeat(40 * 1024) });
      const res = await t
        .api()
        .post('/api/v1/concentrators')
        .set('Content-Type', 'application/json')
        .send(big);
      expect(res.status).toBe(413);
      expect(res.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large' });
      const anon = await t
        .http()
        .post('/api/v1/concentrators')
        .set('Content-Type', 'application/json')
        .send(big);
      expect(anon.status).toBe(413);
    }, 30_000);

    it('refuses fields outside the DTO (mass assignment) with 400', async () => {
      const sn = newSerial();
      for (const extra of [{ topic: 'x/y' }, { qos: 1 }, { retain: true }, { state: 'managed' }]) {
        const res = await t
          .api()
          .post('/api/v1/concentrators')
          .send({ sn, name: 'n', ...extra });
        expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
        expect(JSON.stringify(res.body.message)).toContain(Object.keys(extra)[0]);
      }
      expect((await t.api().post('/api/v1/concentrators').send({ sn, name: 'n' })).status).toBe(
        201,
      );
      for (const extra of [{ sn: newSerial() }, { topic: 'a' }, { qos: 2 }, { retain: false }]) {
        const res = await t
          .api()
          .patch(`/api/v1/concentrators/${sn}`)
          .send({ name: 'm', ...extra });
        expect({ extra, status: res.status }).toEqual({ extra, status: 400 });
      }
      const commandRoutes = t.app
        .get(RouteTable)
        .routes()
        .filter((r) => r.method !== 'GET' && /\/(switch|config)$/.test(r.path));
      for (const r of commandRoutes) {
        const body = r.path.endsWith('switch')
          ? { lines: [1], on: true }
          : { reportS: 60, heartbeatS: 30, deltaPct: 5 };
        for (const extra of [
          { topic: `${t.root}/000000000000/todev` },
          { qos: 1 },
          { retain: true },
          { sn: newSerial() },
        ]) {
          const res = await t
            .api()
            [r.method.toLowerCase() as 'post' | 'put'](r.path.replace(':sn', sn))
            .send({ ...body, ...extra });
          expect({ route: r.path, extra, status: res.status }).toEqual({
            route: r.path,
            extra,
            status: 400,
          });
        }
      }
      const row = await t.query<{ name: string }>('SELECT name FROM concentrators WHERE sn = $1', [
        sn,
      ]);
      expect(row[0].name).toBe('n');
    }, 30_000);
  });
});

describe('API access: rate limits (per token, commands, auth failures)', () => {
  let t: TestApp;
  const from = (ip: string) => ({ 'X-Forwarded-For': ip });
  const bearer = (tok: string) => ({ Authorization: `Bearer ${tok}` });
  const get = (path: string, headers: Record<string, string>) => t.http().get(path).set(headers);
  const reboot = (sn: string, headers: Record<string, string>) =>
    t.http().post(`/api/v1/concentrators/${sn}/reboot`).set(headers).send({});
  const metric = async (line: string) => {
    const text = (await t.http().get('/metrics')).text;
    const m = new RegExp(`^${line.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : 0;
  };

  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        RATE_LIMIT_PER_MIN: '8',
        RATE_LIMIT_COMMANDS_PER_MIN: '3',
        RATE_LIMIT_AUTH_FAILURES_PER_MIN: '4',
        // The proxy tells the client address: lets one test act from several IPs.
        TRUST_PROXY: 'loopback',
      },
    });
  }, 30_000);
  afterAll(() => t?.close(), 30_000);

  it('limits each token separately (429 with Retry-After); /health and /metrics are not limited', async () => {
    const a = (await createToken(t, 'viewer')).token;
    const b = (await createToken(t, 'viewer')).token;
    for (let i = 0; i < 8; i++)
      expect((await get('/api/v1/concentrators', bearer(a))).status).toBe(200);
    const limited = await get('/api/v1/concentrators', bearer(a));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    const retry = Number(limited.headers['retry-after']);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect((await get('/api/v1/concentrators', bearer(b))).status).toBe(200);
    for (let i = 0; i < 12; i++) {
      expect((await t.http().get('/health')).status).toBe(200);
      expect((await t.http().get('/metrics')).status).toBe(200);
    }
    expect(await metric('bcb_api_rate_limited_total{limit="default"}')).toBe(1);
  }, 30_000);

  it('limits command routes more strictly, and audits the refusal', async () => {
    const op = await createToken(t, 'operator');
    const sn = newSerial();
    for (let i = 0; i < 3; i++) expect((await reboot(sn, bearer(op.token))).status).not.toBe(429);
    const limited = await reboot(sn, bearer(op.token));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    // Reads are under the general limit only.
    expect((await get('/api/v1/concentrators', bearer(op.token))).status).toBe(200);
    const rows = await t.query<{
      actor: string;
      status_code: number;
      target: string;
      outcome: string;
      detail: Record<string, unknown>;
    }>(
      `SELECT actor, status_code, target, outcome, detail FROM audit_log WHERE action = 'access.denied' AND target = $1`,
      [sn],
    );
    expect(rows).toEqual([
      expect.objectContaining({
        actor: `e2e-operator#${op.id.slice(0, 8)}`,
        status_code: 429,
        outcome: 'refused',
      }),
    ]);
    expect(rows[0].detail).toMatchObject({
      method: 'POST',
      reason: 'rate_limit',
      limit: 'commands',
    });
    expect(await metric('bcb_api_rate_limited_total{limit="commands"}')).toBe(1);
  }, 30_000);

  it('audits 401 and 403 on command routes', async () => {
    const viewer = (await createToken(t, 'viewer')).token;
    const sn = newSerial();
    expect((await reboot(sn, from('10.9.0.3'))).status).toBe(401);
    expect((await reboot(sn, { ...from('10.9.0.3'), ...bearer(viewer) })).status).toBe(403);
    const rows = await t.query<{
      actor: string;
      status_code: number;
      ip: string;
      detail: Record<string, unknown>;
    }>(
      `SELECT actor, status_code, ip, detail FROM audit_log WHERE action = 'access.denied' AND target = $1 ORDER BY id`,
      [sn],
    );
    expect(rows.map((r) => [r.actor.replace(/#.*/, ''), r.status_code, r.ip])).toEqual([
      ['anonymous', 401, '10.9.0.3'],
      ['e2e-viewer', 403, '10.9.0.3'],
    ]);
    expect(rows[1].detail).toMatchObject({
      reason: 'forbidden',
      minRole: 'operator',
      role: 'viewer',
    });
    expect(await metric('bcb_api_forbidden_total{min_role="operator"}')).toBe(1);
  }, 30_000);

  it('blocks an IP after repeated 401s, even with a valid token, for the window', async () => {
    const good = (await createToken(t, 'viewer')).token;
    const before = await metric('bcb_api_auth_failures_total{reason="invalid"}');
    for (let i = 0; i < 4; i++) {
      const r = await get('/api/v1/concentrators', {
        ...from('10.9.0.1'),
        ...bearer(`bcb_${'x'.repeat(43)}`),
      });
      expect(r.status).toBe(401);
    }
    const blocked = await get('/api/v1/concentrators', { ...from('10.9.0.1'), ...bearer(good) });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(50);
    expect(Number(blocked.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Other addresses are not affected.
    expect(
      (await get('/api/v1/concentrators', { ...from('10.9.0.2'), ...bearer(good) })).status,
    ).toBe(200);
    expect(await metric('bcb_api_auth_failures_total{reason="invalid"}')).toBe(before + 4);
    expect(await metric('bcb_api_auth_failures_total{reason="blocked"}')).toBe(1);
  }, 30_000);
});
