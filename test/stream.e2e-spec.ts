import { setImmediate as tick } from 'node:timers/promises';
import { LiveFeed } from '../src/live/live-feed.service';
import { SseEvent, SseReader } from './support/sse-reader';
import { ADMIN_TOKEN, bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

type Data = Record<string, unknown> & { sn: string; kind: string };
const data = (e: SseEvent) => e.data as Data;

describe('live stream: Server-Sent Events over real HTTP', () => {
  let t: TestApp;
  const readers: SseReader[] = [];

  const open = async (query = '', token: string | null = ADMIN_TOKEN) => {
    const r = await SseReader.open(t.app, `/api/v1/stream${query}`, token ?? undefined);
    readers.push(r);
    return r;
  };
  const register = (sn = newSerial()) => t.register(sn);
  const device = async (sn: string, lines = 2) => {
    const d = t.simulator({ sn, lines });
    await d.start();
    return d;
  };
  const stats = async () => (await t.api().get('/api/v1/stream/stats').expect(200)).body;

  beforeAll(async () => {
    t = await bootTestApp({
      env: { SSE_HEARTBEAT_S: '1', SSE_CLIENT_QUEUE: '50', RATE_LIMIT_PER_MIN: '100000' },
    });
  }, 30_000);
  afterEach(() => {
    for (const r of readers.splice(0)) r.close();
  }, 30_000);
  afterAll(async () => {
    await t?.close();
  }, 30_000);

  it('needs a viewer token and valid filters; answers as an event stream', async () => {
    const anon = await open('', null);
    expect(anon.status).toBe(401);
    expect(JSON.parse(await anon.text())).toMatchObject({ statusCode: 401 });
    expect((await open('?sn=12345')).status).toBe(400);
    expect((await open('?kinds=telemetry,weather')).status).toBe(400);
    expect((await open('?colour=red')).status).toBe(400);
    const viewer = await t
      .api()
      .post('/api/v1/tokens')
      .send({ name: 'stream-viewer', role: 'viewer' })
      .expect(201);
    const ok = await open(
      `?sn=${newSerial()},${newSerial()}&kinds=telemetry&kinds=alarm`,
      viewer.body.token,
    );
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(ok.headers['cache-control']).toContain('no-cache');
    await ok.until(
      () => ok.comments.some((c) => c.startsWith('heartbeat')),
      10_000,
      'a heartbeat comment',
    );
  }, 30_000);

  it('delivers telemetry (latest per message) and connectivity for the chosen serial, never another', async () => {
    const a = await register();
    const b = await register();
    const onlyA = await open(`?sn=${a}`);
    const both = await open(`?sn=${b},${a}&kinds=telemetry`);
    const witness = await open();

    const da = await device(a);
    const conn = await onlyA.next((e) => e.event === 'connectivity', 10_000, 'A online');
    expect(data(conn)).toMatchObject({ kind: 'connectivity', sn: a, online: true });

    const db = await device(b);
    await db.publishTelemetry([{ line: 1, voltage_v: 219 }]);
    await witness.next(
      (e) => e.event === 'telemetry' && data(e).sn === b,
      10_000,
      'B telemetry on the witness',
    );
    await da.publishTelemetry([{ line: 1, on: true, voltage_v: 231.5, energy_kwh: 42 }]);
    const tel = await onlyA.next((e) => e.event === 'telemetry', 10_000, 'A telemetry');
    expect(data(tel)).toMatchObject({
      kind: 'telemetry',
      sn: a,
      lines: [{ line: 1, on: true, voltageV: 231.5, energyKwh: 42 }],
    });
    expect(typeof data(tel).at).toBe('string');

    await da.crash();
    const off = await onlyA.next(
      (e) => e.event === 'connectivity' && data(e).online === false,
      10_000,
      'A offline',
    );
    expect(data(off)).toMatchObject({ sn: a, online: false, reason: 'will' });

    // The witness saw B's events at the same moment: had the filter leaked, they would be here.
    expect(onlyA.events.filter((e) => data(e).sn !== a)).toEqual([]);
    const ids = onlyA.events.map((e) => Number(e.id));
    expect(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]))).toBe(true);

    await both.until(
      () => new Set(both.events.map((e) => data(e).sn)).size === 2,
      10_000,
      'telemetry of A and B',
    );
    expect(both.events.every((e) => e.event === 'telemetry')).toBe(true);
  }, 30_000);

  it('delivers status and alarm events and honours ?kinds=', async () => {
    const sn = await register();
    const r = await open(`?sn=${sn}&kinds=status,alarm`);
    const witness = await open(`?sn=${sn}&kinds=telemetry`);
    const d = await device(sn, 3);
    await d.publishTelemetry();
    await witness.next((e) => e.event === 'telemetry', 10_000, 'telemetry on the witness');
    await d.setLines([2], false, 'manual_off');
    await d.publishAlarm({ line: 2, code: 'overload', active: true, value: 40, limit: 32 });
    const status = await r.next((e) => e.event === 'status', 10_000, 'status');
    expect(data(status)).toMatchObject({
      sn,
      lines: [{ line: 2, on: false, cause: 'manual_off' }],
    });
    const alarm = await r.next((e) => e.event === 'alarm', 10_000, 'alarm');
    expect(data(alarm)).toMatchObject({
      sn,
      alarm: { change: 'raised', sn, line: 2, code: 'overload', active: true, lastValue: 40 },
    });
    expect(r.events.map((e) => e.event).filter((k) => k !== 'status' && k !== 'alarm')).toEqual([]);

    // An acknowledgement is a change dashboards follow too.
    await t
      .api()
      .post(`/api/v1/alarms/${(data(alarm).alarm as { id: string }).id}/ack`)
      .send({})
      .expect(200);
    const acked = await r.next(
      (e) => e.event === 'alarm' && (data(e).alarm as { change: string }).change === 'acked',
    );
    expect(data(acked).alarm).toMatchObject({ ackedBy: 'bootstrap-admin' });
  }, 30_000);

  it('delivers the state changes of a real switch command answered by the device', async () => {
    const sn = await register();
    const d = await device(sn, 2);
    const r = await open(`?sn=${sn}&kinds=command`);
    const res = await t
      .api()
      .post(`/api/v1/concentrators/${sn}/switch`)
      .send({ lines: [1], on: false });
    expect(res.status).toBe(202);
    const id = res.body.id as string;
    const sent = await r.next(
      (e) => (data(e).command as { id: string }).id === id,
      10_000,
      'command sent',
    );
    expect(data(sent)).toMatchObject({ kind: 'command', sn, command: { id, type: 'switch' } });
    const acked = await r.next(
      (e) => {
        const c = data(e).command as { id: string; state: string };
        return c.id === id && c.state === 'acked';
      },
      10_000,
      'command acked',
    );
    expect(data(acked).command).toMatchObject({ id, sn, state: 'acked', ackCode: 0 });
    expect(d.lineStates[0]).toBe(false);
    expect(r.events.every((e) => e.event === 'command')).toBe(true);
  }, 30_000);

  it('drops the oldest events of a reader that stops reading, tells it how many, and never stalls ingestion', async () => {
    const live = t.app.get(LiveFeed);
    // Streams of earlier tests are closed by the client; the server notices a moment later.
    await waitFor(async () => (await stats()).clients === 0, 10_000, 'earlier streams gone');
    const listenersBefore = live.listenerCount;
    const fake = newSerial(); // events for it are injected on the bus: bulk without a device
    const slow = await open(`?sn=${fake}`);
    const fast = await open(`?sn=${fake}`);
    await waitFor(async () => (await stats()).clients === 2, 10_000, 'two clients');
    // One bus listener for all streams, subscribed while someone listens.
    expect(live.listenerCount).toBe(listenersBefore + 1);
    slow.pause();

    const sn = await register();
    const d = await device(sn, 1);
    const total = 400;
    const pad = 'x'.repeat(100_000); // 40 MB in all: far more than socket buffers hold
    for (let i = 0; i < total; i++) {
      live.emit({
        kind: 'telemetry',
        sn: fake,
        at: new Date().toISOString(),
        lines: [{ line: 1, seq: i, pad }],
      });
      if (i % 10 === 9) await tick();
      if (i === total / 2) await d.publishTelemetry([{ line: 1, voltage_v: 228 }]);
    }
    // Ingestion went on while the slow reader was stuck.
    await waitFor(
      async () => (await t.query('SELECT 1 FROM telemetry WHERE sn = $1', [sn])).length === 1,
      10_000,
      'telemetry stored during the stall',
    );
    const during = await stats();
    expect(during.droppedTotal).toBeGreaterThan(0);
    expect(during.queued).toBeLessThanOrEqual(2 * 50);
    // On a loaded machine the fast reader may fall behind and drop too: its 'dropped' notices
    // carry no lines.
    await fast.next(
      (e) => e.event === 'telemetry' && (data(e).lines as { seq: number }[])[0].seq === total - 1,
      10000,
      'fast reader done',
    );

    slow.resume();
    const last = await slow.next(
      (e) => e.event === 'telemetry' && (data(e).lines as { seq: number }[])[0].seq === total - 1,
      20000,
      'slow reader caught up',
    );
    expect(last).toBeDefined();
    const drops = slow.of('dropped').map((e) => e.data as { count: number; total: number });
    expect(drops.length).toBeGreaterThan(0);
    const lost = drops.reduce((n, x) => n + x.count, 0);
    expect(drops[drops.length - 1].total).toBe(lost);
    // Every event was either delivered, in order, or counted as dropped.
    const seqs = slow.of('telemetry').map((e) => (data(e).lines as { seq: number }[])[0].seq);
    expect(seqs.length + lost).toBe(total);
    expect(seqs.every((s, i) => i === 0 || s > seqs[i - 1])).toBe(true);
    expect((await stats()).droppedTotal).toBeGreaterThanOrEqual(lost);

    // Disconnects are cleaned up: no clients, and the bus listener is gone.
    slow.close();
    fast.close();
    await waitFor(async () => (await stats()).clients === 0, 10_000, 'clients cleaned up');
    expect(live.listenerCount).toBe(listenersBefore);
  }, 60_000);
});
