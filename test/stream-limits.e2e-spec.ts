import { StreamHub } from '../src/stream/stream-hub.service';
import { SseReader } from './support/sse-reader';
import { ADMIN_TOKEN, bootTestApp, TestApp, waitFor } from './support/test-app';

/** Issue 8: open event streams are capped per token and per instance, and closing frees the slot. */
describe('live stream caps (SSE_MAX_PER_TOKEN, SSE_MAX_TOTAL)', () => {
  let t: TestApp;
  const readers: SseReader[] = [];
  const tokens: string[] = [];
  const ids: string[] = [];

  const open = async (token: string) => {
    const r = await SseReader.open(t.app, '/api/v1/stream', token);
    readers.push(r);
    return r;
  };
  const openStreams = () => t.app.get(StreamHub).stats().clients;
  const closeAll = async () => {
    for (const r of readers.splice(0)) r.close();
    // The server sees each close a moment after the client.
    await waitFor(() => openStreams() === 0, 10_000, 'every stream closed on the server');
  };
  const viewer = async (name: string) => {
    const res = await t.api().post('/api/v1/tokens').send({ name, role: 'viewer' }).expect(201);
    ids.push(res.body.id as string);
    return res.body.token as string;
  };

  beforeAll(async () => {
    t = await bootTestApp({
      env: { SSE_MAX_PER_TOKEN: '3', SSE_MAX_TOTAL: '5', SSE_HEARTBEAT_S: '7' },
    });
    for (const name of ['viewer-a', 'viewer-b', 'viewer-c']) tokens.push(await viewer(name));
  }, 30_000);
  afterEach(() => closeAll(), 30_000);
  afterAll(() => t?.close(), 30_000);

  it("429 with Retry-After beyond a token's share, 503 when the instance is full; both counted", async () => {
    const [a, b, c] = tokens;
    for (let i = 0; i < 3; i++) expect((await open(a)).status).toBe(200);
    const fourth = await open(a);
    expect(fourth.status).toBe(429);
    expect(fourth.headers['retry-after']).toBe('7');
    expect(JSON.parse(await fourth.text())).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/holds 3 open streams \(SSE_MAX_PER_TOKEN\)/),
    });

    for (let i = 0; i < 2; i++) expect((await open(b)).status).toBe(200);
    // b is within its own share, but the instance holds SSE_MAX_TOTAL streams.
    for (const token of [b, c, ADMIN_TOKEN]) {
      const full = await open(token);
      expect(full.status).toBe(503);
      expect(full.headers['retry-after']).toBe('7');
      expect(JSON.parse(await full.text())).toMatchObject({
        statusCode: 503,
        error: 'Service Unavailable',
        message: expect.stringContaining('SSE_MAX_TOTAL'),
      });
    }
    expect(openStreams()).toBe(5);

    const stats = await t.http().get('/api/v1/stream/stats').set('Authorization', `Bearer ${c}`);
    expect(stats.body).toMatchObject({ clients: 5, refused: { per_token: 1, total: 3 } });
    const metrics = (await t.http().get('/metrics').expect(200)).text;
    expect(metrics).toMatch(/^bcb_sse_clients 5$/m);
    expect(metrics).toMatch(/^bcb_sse_streams_refused_total\{cap="per_token"\} 1$/m);
    expect(metrics).toMatch(/^bcb_sse_streams_refused_total\{cap="total"\} 3$/m);
    expect(metrics).toMatch(/^bcb_sse_streams_limit\{cap="per_token"\} 3$/m);
    expect(metrics).toMatch(/^bcb_sse_streams_limit\{cap="total"\} 5$/m);
  }, 30_000);

  it('a closed connection frees its slot: for its token and for the instance', async () => {
    const [a, b, c] = tokens;
    const mine = [await open(a), await open(a), await open(a)];
    await open(b);
    await open(b);
    expect((await open(c)).status).toBe(503);
    mine[0].close();
    await waitFor(() => openStreams() === 4, 10_000, 'the closed stream freed on the server');
    expect((await open(c)).status).toBe(200);
    expect((await open(a)).status).toBe(503);
    mine[1].close();
    await waitFor(() => openStreams() === 4, 10_000, 'the second stream freed');
    const back = await open(a);
    expect(back.status).toBe(200);
    expect((await open(a)).status).toBe(503);
  }, 30_000);

  it('opening and dropping connections many times never leaks a slot', async () => {
    const [a] = tokens;
    for (let round = 0; round < 10; round++) {
      const batch = [await open(a), await open(a), await open(a)];
      expect(batch.map((r) => r.status)).toEqual([200, 200, 200]);
      expect((await open(a)).status).toBe(429);
      await closeAll();
    }
    expect(t.app.get(StreamHub).openBy(ids[0])).toBe(0);
    expect(openStreams()).toBe(0);
  }, 60_000);

  it('the bootstrap admin (no token id) has a share of its own too', async () => {
    for (let i = 0; i < 3; i++) expect((await open(ADMIN_TOKEN)).status).toBe(200);
    expect((await open(ADMIN_TOKEN)).status).toBe(429);
    expect(t.app.get(StreamHub).openBy('actor:bootstrap-admin')).toBe(3);
  }, 30_000);
});
