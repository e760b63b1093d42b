import { startEmbeddedBroker } from '../src/embedded/embedded-broker';
import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { freePort } from './support/free-port';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp, waitFor, within } from './support/test-app';

type SimOptions = Partial<ConstructorParameters<typeof SimulatedConcentrator>[0]>;
type Body = Record<string, unknown>;

const ID_RE = /^c-[A-Za-z0-9_-]{22}$/;

describe('commands (real broker, real PostgreSQL, simulator as the device)', () => {
  let t: TestApp;
  let probe: MqttProbe;

  /** A registered, connected simulator whose config push has been answered. */
  const online = async (opts: SimOptions = {}, app: TestApp = t) => {
    const sn = await app.register(opts.sn ?? newSerial());
    const d = app.simulator({ lines: 4, ...opts, sn });
    await d.start();
    await waitFor(
      async () => (await app.api().get(`/api/v1/concentrators/${sn}`)).body.online === true,
      10_000,
      'online',
    );
    // The config push answers the connect; later counts of todev traffic start after it.
    if (app === t)
      await probe.waitFor((m) => m.topic === todev(sn) && m.payload.includes('"config"'), 10_000);
    return d;
  };
  const todev = (sn: string) => `${t.root}/${sn}/todev`;
  const sentTo = (sn: string) => probe.messages.filter((m) => m.topic === todev(sn));
  const waitFinal = async (id: string) => {
    const r = await t.api().get(`/api/v1/commands/${id}?wait=10`).expect(200);
    return r.body as Body;
  };
  const audit = async (target: string) =>
    (await t.api().get(`/api/v1/audit?target=${target}&limit=100`).expect(200)).body
      .items as Body[];

  // The broker-down test's own app and broker: closed here too, should the test time out.
  let downApp: TestApp | undefined;
  let downBroker: Awaited<ReturnType<typeof startEmbeddedBroker>> | undefined;

  beforeAll(async () => {
    t = await bootTestApp({
      env: {
        COMMAND_TIMEOUT_S: '2',
        // A cooldown long enough that four quick requests fall inside it on a loaded machine.
        SWITCH_COOLDOWN_S: '4',
        // config_request is then answered with the fleet default config: a round trip to wait on.
        PUSH_DEFAULT_CONFIG: 'true',
      },
    });
    probe = await MqttProbe.connect(t.mqttUrl);
    await probe.subscribe(`${t.root}/+/todev`);
  }, 30_000);
  afterAll(async () => {
    await downApp?.close().catch(() => undefined);
    await downBroker?.close().catch(() => undefined);
    await probe?.close();
    await t?.close();
  }, 30_000);

  it('switches lines off and on: exact bytes, acked, simulator state, status reaches /latest', async () => {
    const d = await online();
    const off = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [1, 3], on: false })
      .expect(202);
    expect(off.body).toMatchObject({
      sn: d.sn,
      type: 'switch',
      state: 'sent',
      lines: [1, 3],
      actor: 'bootstrap-admin',
    });
    expect(off.body.id).toMatch(ID_RE);

    const wire = await probe.waitFor(
      (m) => m.topic === todev(d.sn) && m.payload.includes(off.body.id),
    );
    expect(wire.retain).toBe(false);
    expect(wire.qos).toBe(0);
    const ts = JSON.parse(wire.payload.toString()).ts as number;
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
    expect(wire.payload.toString()).toBe(
      `{"sn":"${d.sn}","type":"switch","id":"${off.body.id}","ts":${ts},"lines":[1,3],"on":false}`,
    );
    expect(off.body.payload).toEqual(JSON.parse(wire.payload.toString()));

    const final = await waitFinal(off.body.id);
    expect(final).toMatchObject({
      state: 'acked',
      ackCode: 0,
      settledAt: expect.any(String),
      lateAck: null,
    });
    expect(d.lineStates).toEqual([false, true, false, true]);
    await waitFor(
      async () => {
        await t.flush();
        const l = (await t.api().get(`/api/v1/concentrators/${d.sn}/latest`)).body.lines as {
          line: number;
          on: boolean;
        }[];
        return (
          l?.find((x) => x.line === 1)?.on === false && l?.find((x) => x.line === 3)?.on === false
        );
      },
      10_000,
      'status in /latest',
    );

    const on = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [2], on: true })
      .expect(202);
    expect((await waitFinal(on.body.id)).state).toBe('acked');
    const list = await t
      .api()
      .get(`/api/v1/commands?sn=${d.sn}&type=switch&state=acked`)
      .expect(200);
    expect(list.body.total).toBe(2);
    expect(list.body.items.map((c: Body) => c.id)).toEqual([on.body.id, off.body.id]);
    const ok = (await audit(d.sn)).filter(
      (a) => a.action === 'command.switch' && a.outcome === 'ok',
    );
    expect(ok).toHaveLength(2);
  }, 45_000);
  it('marks a command timeout when no ack comes, and keeps a late ack beside the final state', async () => {
    const d = await online({ ackRate: 0 });
    const started = Date.now();
    const c = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: 'all', on: false })
      .expect(202);
    expect(c.body.payload).toMatchObject({ lines: 'all', on: false });
    expect(c.body.lines).toEqual([1, 2, 3, 4]);
    // ?wait is woken by the settle: it answers at the timeout (2 s), not at its own 10 s.
    const final = await waitFinal(c.body.id);
    expect(Date.now() - started).toBeLessThan(8000);
    expect(final).toMatchObject({ state: 'timeout', ackCode: null, lateAck: null });
    expect(d.lineStates).toEqual([true, true, true, true]);

    await d.publish({ type: 'ack', id: c.body.id, ok: true, code: 0 });
    await waitFor(
      async () => (await t.api().get(`/api/v1/commands/${c.body.id}`)).body.lateAck !== null,
      10_000,
      'late ack',
    );
    const after = (await t.api().get(`/api/v1/commands/${c.body.id}`).expect(200)).body;
    expect(after).toMatchObject({
      state: 'timeout',
      settledAt: final.settledAt,
      lateAck: { ok: true, code: 0 },
    });
  }, 40_000);

  it('?wait holds at most N seconds and is capped at 30', async () => {
    const d = await online({ ackRate: 0 });
    const c = await t.api().post(`/api/v1/concentrators/${d.sn}/reboot`).expect(202);
    const started = Date.now();
    const r = await t.api().get(`/api/v1/commands/${c.body.id}?wait=1`).expect(200);
    expect(r.body.state).toBe('sent');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await t.api().get(`/api/v1/commands/${c.body.id}?wait=31`).expect(400);
    await t.api().get('/api/v1/commands/c-doesnotexist').expect(404);
  }, 30_000);

  it('marks a command failed with the device code when the ack is ok:false', async () => {
    const d = await online({ failRate: 1 });
    const c = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [2], on: false })
      .expect(202);
    expect(await waitFinal(c.body.id)).toMatchObject({
      state: 'failed',
      ackCode: 34,
      ackMsg: 'breaker timeout',
    });
    expect(d.lineStates[1]).toBe(true);
    const failed = await t
      .api()
      .get(`/api/v1/commands?sn=${d.sn}&state=failed&type=switch`)
      .expect(200);
    expect(failed.body.items.map((x: Body) => x.id)).toEqual([c.body.id]);
  }, 30_000);

  it('treats an ack from another serial, or for an unknown id, as a rejection and changes nothing', async () => {
    const a = await online({ ackRate: 0 });
    const b = await online();
    const c = await t
      .api()
      .post(`/api/v1/concentrators/${a.sn}/switch`)
      .send({ lines: [1], on: false })
      .expect(202);
    await b.publish({ type: 'ack', id: c.body.id, ok: true, code: 0 });
    await b.publish({ type: 'ack', id: 'c-neverSentByTheBackend', ok: true, code: 0 });
    await waitFor(
      async () => {
        await t.flush();
        return (
          (await t.api().get(`/api/v1/rejections?reason=unknown_command&sn=${b.sn}`)).body.total ===
          2
        );
      },
      10_000,
      'rejections',
    );
    const r = (await t.api().get(`/api/v1/rejections?reason=unknown_command&sn=${b.sn}`)).body;
    expect(r.items.map((i: Body) => i.field)).toEqual(['id', 'id']);
    expect((await t.api().get(`/api/v1/commands/${c.body.id}`)).body).toMatchObject({
      state: 'sent',
      lateAck: null,
    });
    expect(
      (await t.http().get('/health')).body.ingest.rejected.unknown_command,
    ).toBeGreaterThanOrEqual(2);
    expect((await waitFinal(c.body.id)).state).toBe('timeout');
  }, 50_000);

  it('refuses an offline concentrator with 409 device_offline: nothing published, nothing stored, audited', async () => {
    const d = await online();
    await d.crash();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${d.sn}`)).body.online === false,
      10_000,
      'offline',
    );
    const before = sentTo(d.sn).length;
    const r = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [1], on: false })
      .expect(409);
    expect(r.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'device_offline' });
    await t.api().post(`/api/v1/concentrators/${d.sn}/reboot`).expect(409);
    await t.api().post(`/api/v1/concentrators/${d.sn}/query`).send({ what: 'status' }).expect(409);
    await new Promise((res) => setTimeout(res, 300));
    expect(sentTo(d.sn).length).toBe(before);
    expect((await t.api().get(`/api/v1/commands?sn=${d.sn}&type=switch`)).body.total).toBe(0);
    const refused = (await audit(d.sn)).filter((a) => a.outcome === 'refused');
    expect(refused.map((a) => [a.action, a.statusCode])).toEqual(
      expect.arrayContaining([
        ['command.switch', 409],
        ['command.reboot', 409],
        ['command.query', 409],
      ]),
    );
    expect(refused.find((a) => a.action === 'command.switch')).toMatchObject({
      actor: 'bootstrap-admin',
      detail: { error: 'device_offline', request: { lines: [1], on: false } },
    });
  }, 40_000);

  it('answers 404 / 409 / 400 for unknown, pending and malformed targets, and audits them', async () => {
    const unknown = newSerial();
    await t
      .api()
      .post(`/api/v1/concentrators/${unknown}/switch`)
      .send({ lines: [1], on: true })
      .expect(404);
    const pending = t.simulator();
    await pending.start();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${pending.sn}`)).status === 200,
      10_000,
      'discovered',
    );
    const p = await t
      .api()
      .post(`/api/v1/concentrators/${pending.sn}/switch`)
      .send({ lines: [1], on: true })
      .expect(409);
    expect(p.body.message).toMatch(/pending/);

    const d = await online();
    const bad = async (body: unknown, re: RegExp) => {
      const r = await t
        .api()
        .post(`/api/v1/concentrators/${d.sn}/switch`)
        .send(body as object)
        .expect(400);
      expect([r.body.message].flat().join('; ')).toMatch(re);
    };
    await bad({ lines: [5], on: true }, /line 5 is beyond the concentrator's 4 lines/);
    await bad(
      { lines: [0], on: true },
      /lines must be "all" or a non-empty list of distinct line numbers 1-64/,
    );
    await bad({ lines: [], on: true }, /lines must be/);
    await bad({ lines: [1, 1], on: true }, /lines must be/);
    await bad({ lines: 'some', on: true }, /lines must be/);
    await bad({ lines: [1] }, /on must be a boolean/);
    await bad({ lines: [1], on: true, force: true }, /property force should not exist/);
    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/query`)
      .send({ what: 'everything' })
      .expect(400);
    expect(sentTo(d.sn).filter((m) => m.payload.includes('"type":"switch"'))).toHaveLength(0);

    const rows = await audit(d.sn);
    expect(rows.filter((a) => a.action === 'command.switch' && a.statusCode === 400)).toHaveLength(
      7,
    );
    expect((await audit(unknown)).map((a) => [a.action, a.outcome, a.statusCode])).toEqual([
      ['command.switch', 'refused', 404],
    ]);
  }, 45_000);

  it('refuses a line switched less than the cooldown ago with 429 and Retry-After', async () => {
    const d = await online();
    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [1], on: false })
      .expect(202);
    const r = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [2, 1], on: true })
      .expect(429);
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(4);
    expect(r.body).toMatchObject({
      statusCode: 429,
      retryAfterS: Number(r.headers['retry-after']),
    });
    // "all" overlaps every line; another line is free.
    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: 'all', on: true })
      .expect(429);
    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [3], on: false })
      .expect(202);
    expect(
      (await audit(d.sn)).filter((a) => a.statusCode === 429 && a.outcome === 'refused'),
    ).toHaveLength(2);
    await new Promise((res) => setTimeout(res, Number(r.headers['retry-after']) * 1000 + 100));
    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .send({ lines: [2, 1], on: true })
      .expect(202);
  }, 40_000);

  it('Idempotency-Key: same key and body returns the first command and publishes nothing; another body is 422', async () => {
    const d = await online();
    const key = `k-${d.sn}`;
    const first = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .set('Idempotency-Key', key)
      .send({ lines: [4], on: false })
      .expect(202);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    await waitFinal(first.body.id);
    const again = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .set('Idempotency-Key', key)
      .send({ lines: [4], on: false })
      .expect(202);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toMatchObject({ id: first.body.id, state: 'acked' });
    const other = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .set('Idempotency-Key', key)
      .send({ lines: [4], on: true })
      .expect(422);
    expect(other.body.message).toMatch(/Idempotency-Key/);
    await new Promise((res) => setTimeout(res, 300));
    expect(sentTo(d.sn).filter((m) => m.payload.includes('"type":"switch"'))).toHaveLength(1);
    expect((await t.api().get(`/api/v1/commands?sn=${d.sn}&type=switch`)).body.total).toBe(1);
    expect((await audit(d.sn)).find((a) => a.statusCode === 422)).toMatchObject({
      outcome: 'refused',
      action: 'command.switch',
    });
    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/switch`)
      .set('Idempotency-Key', 'bad key with spaces')
      .send({ lines: [4], on: true })
      .expect(400);
  }, 40_000);

  it('bulk-switches many concentrators: one command each, per-target results, offline reported not queued', async () => {
    const a = await online();
    const b = await online({ lines: 2 });
    const off = newSerial();
    await t.register(off);
    const unknown = newSerial();
    const r = await t
      .api()
      .post('/api/v1/commands/switch')
      .send({
        on: false,
        targets: [
          { sn: a.sn, lines: 'all' },
          { sn: b.sn, lines: [2] },
          { sn: off, lines: [1] },
          { sn: unknown, lines: [1] },
        ],
      })
      .expect(202);
    expect(r.body).toMatchObject({ sent: 2, refused: 2 });
    expect(r.body.results.map((x: Body) => [x.sn, x.statusCode, x.error ?? null])).toEqual([
      [a.sn, 202, null],
      [b.sn, 202, null],
      [off, 409, 'device_offline'],
      [unknown, 404, `concentrator ${unknown} not found`],
    ]);
    for (const x of r.body.results.slice(0, 2))
      expect((await waitFinal(x.command.id)).state).toBe('acked');
    expect(a.lineStates).toEqual([false, false, false, false]);
    expect(b.lineStates).toEqual([true, false]);
    expect(sentTo(off)).toHaveLength(0);
    expect(
      (await audit(off))
        .filter((x) => x.action === 'command.switch')
        .map((x) => [x.action, x.outcome, x.statusCode]),
    ).toEqual([['command.switch', 'refused', 409]]);

    await t
      .api()
      .post('/api/v1/commands/switch')
      .send({
        on: true,
        targets: [
          { sn: a.sn, lines: [1] },
          { sn: a.sn, lines: [2] },
        ],
      })
      .expect(400);
    const many = Array.from({ length: 501 }, (_, i) => ({
      sn: String(202600000000 + i),
      lines: [1],
    }));
    const cap = await t
      .api()
      .post('/api/v1/commands/switch')
      .send({ on: true, targets: many })
      .expect(400);
    expect(cap.body.message).toMatch(/at most 500 targets/);
  }, 60_000);

  it('sends query and reboot: acked, the answer arrives, the rebooted device asks for its config again', async () => {
    const d = await online();
    const q = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/query`)
      .send({ what: 'status' })
      .expect(202);
    expect(q.body.id).toMatch(/^q-/);
    const qWire = await probe.waitFor((m) => m.payload.includes(q.body.id));
    expect(qWire.payload.toString()).toBe(
      `{"sn":"${d.sn}","type":"query","id":"${q.body.id}","ts":${q.body.payload.ts},"what":"status"}`,
    );
    expect((await waitFinal(q.body.id)).state).toBe('acked');

    const configsBefore = sentTo(d.sn).filter((m) => m.payload.includes('"type":"config"')).length;
    const r = await t.api().post(`/api/v1/concentrators/${d.sn}/reboot`).expect(202);
    expect(r.body.id).toMatch(/^r-/);
    const rWire = await probe.waitFor((m) => m.payload.includes(r.body.id));
    expect(rWire.payload.toString()).toBe(
      `{"sn":"${d.sn}","type":"reboot","id":"${r.body.id}","ts":${r.body.payload.ts}}`,
    );
    expect((await waitFinal(r.body.id)).state).toBe('acked');
    await waitFor(
      () =>
        sentTo(d.sn).filter((m) => m.payload.includes('"type":"config"')).length > configsBefore,
      10_000,
      'config re-push',
    );
  }, 50_000);

  it('lists commands with filters and pagination', async () => {
    // Commands of its own, so the test does not depend on what earlier tests left.
    const d = await online();
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const q = await t
        .api()
        .post(`/api/v1/concentrators/${d.sn}/query`)
        .send({ what: 'status' })
        .expect(202);
      ids.push(q.body.id as string);
    }
    const list = (q: string) =>
      t.api().get(`/api/v1/commands?sn=${d.sn}&type=query&${q}`).expect(200);
    const all = (await list('limit=10')).body;
    expect(all.total).toBe(4);
    expect([...all.items.map((c: Body) => c.id)].sort()).toEqual([...ids].sort());
    const page = (await list('limit=2&offset=1')).body;
    expect(page).toMatchObject({ limit: 2, offset: 1, total: 4 });
    // Acks may change states between the two reads; the order (created, id) does not change.
    const idsOf = (items: Body[]) => items.map((c) => c.id);
    expect(idsOf(page.items)).toEqual(idsOf(all.items).slice(1, 3));
    await t.api().get('/api/v1/commands?state=lost').expect(400);
    await t.api().get('/api/v1/commands?sn=123').expect(400);
  }, 30_000);

  it('answers 503 when the broker connection is down, stores no command and queues nothing', async () => {
    const broker = await startEmbeddedBroker({ host: '127.0.0.1', port: await freePort() });
    downBroker = broker;
    let t2: TestApp | undefined;
    let d: SimulatedConcentrator | undefined;
    try {
      t2 = await bootTestApp({ env: { MQTT_URL: broker.url } });
      downApp = t2;
      const app = t2;
      d = await online({}, app);
      await within(broker.close(), 10_000, 'the broker to close');
      await waitFor(
        async () => (await app.http().get('/health')).status === 503,
        10000,
        'broker down',
      );
      const r = await app
        .api()
        .post(`/api/v1/concentrators/${d.sn}/switch`)
        .send({ lines: [1], on: false })
        .expect(503);
      expect(r.body.message).toBe('broker_unavailable');
      await app.api().post(`/api/v1/concentrators/${d.sn}/reboot`).expect(503);
      expect(
        await app.query(`SELECT id FROM commands WHERE sn = $1 AND type IN ('switch', 'reboot')`, [
          d.sn,
        ]),
      ).toEqual([]);
      const rows = (await app.api().get(`/api/v1/audit?target=${d.sn}`).expect(200)).body
        .items as Body[];
      expect(
        rows.filter((a) => a.outcome === 'failed').map((a) => [a.action, a.statusCode]),
      ).toEqual(
        expect.arrayContaining([
          ['command.switch', 503],
          ['command.reboot', 503],
        ]),
      );
    } finally {
      await d?.crash().catch(() => undefined);
      await t2?.close();
    }
  }, 60_000);
});
