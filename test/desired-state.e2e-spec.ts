import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

type SimOptions = Partial<ConstructorParameters<typeof SimulatedConcentrator>[0]>;
type Body = Record<string, unknown>;

const SCHEDULE = {
  items: [
    { slot: 1, lines: [1, 2], on: false, at: '22:30', days: [1, 2, 3, 4, 5], enabled: true },
    { slot: 2, lines: [3], on: true, at: '06:15', days: [6, 7], enabled: false },
  ],
};
const PARAMS = {
  lines: [
    { line: 1, maxVoltageV: 250, minVoltageV: 190, maxCurrentA: 20 },
    { line: 2, maxLeakageMa: 25, maxTempC: 70, maxPowerW: 4000 },
  ],
};

describe('desired state: config, schedules, params (real broker, real PostgreSQL)', () => {
  let t: TestApp;
  let probe: MqttProbe;

  const register = (sn: string) => t.register(sn);
  const device = (sn: string, opts: SimOptions = {}) => t.simulator({ sn, lines: 4, ...opts });
  const isOnline = async (sn: string) =>
    (await t.api().get(`/api/v1/concentrators/${sn}`)).body.online === true;
  /** Registered, connected, and its config push settled. */
  const online = async (opts: SimOptions = {}) => {
    const sn = newSerial();
    await register(sn);
    const d = device(sn, opts);
    await d.start();
    await waitFor(() => isOnline(sn), 10_000, 'online');
    await waitFor(
      async () => (await get(sn, 'config')).sync !== 'pending' || opts.ackRate === 0,
      10_000,
      'config settled',
    );
    await waitFor(() => todevTypes(sn).length === 1, 10_000, 'probe saw the config push');
    return d;
  };
  const get = async (sn: string, what: 'config' | 'schedules' | 'params') =>
    (await t.api().get(`/api/v1/concentrators/${sn}/${what}`).expect(200)).body as Body;
  const settled = (sn: string, what: 'config' | 'schedules' | 'params', sync: string) =>
    waitFor(async () => (await get(sn, what)).sync === sync, 10_000, `${what} ${sync}`);
  const todevTypes = (sn: string) =>
    probe.messages
      .filter((m) => m.topic === `${t.root}/${sn}/todev`)
      .map((m) => JSON.parse(m.payload.toString()) as Body);
  const errors = (body: Body) => [body.message].flat().join('\n');

  beforeAll(async () => {
    // Short, for the test that waits for a timeout; yet long enough that an ack on a loaded
    // machine is never late for the others.
    // Every new concentrator starts with the fleet default config (test/device-config covers the default).
    t = await bootTestApp({ env: { COMMAND_TIMEOUT_S: '3', PUSH_DEFAULT_CONFIG: 'true' } });
    probe = await MqttProbe.connect(t.mqttUrl);
    await probe.subscribe(`${t.root}/+/todev`);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  it('pushes config on connect and on PUT, and shows it synced with the command that carried it', async () => {
    const d = await online();
    const first = await get(d.sn, 'config');
    expect(first).toMatchObject({
      sn: d.sn,
      sync: 'synced',
      desired: { reportS: 60, heartbeatS: 30, deltaPct: 5 },
    });
    expect((first.command as Body).state).toBe('acked');

    const put = await t
      .api()
      .put(`/api/v1/concentrators/${d.sn}/config`)
      .send({ reportS: 30, heartbeatS: 20, deltaPct: 3 })
      .expect(200);
    expect(put.body.desired).toEqual({ reportS: 30, heartbeatS: 20, deltaPct: 3 });
    expect(put.body.commandId).toMatch(/^k-/);
    const wire = await probe.waitFor((m) => m.payload.includes(put.body.commandId));
    const ts = JSON.parse(wire.payload.toString()).ts as number;
    expect(wire.payload.toString()).toBe(
      `{"sn":"${d.sn}","type":"config","id":"${put.body.commandId}","ts":${ts},"report_s":30,"heartbeat_s":20,"delta_pct":3}`,
    );
    await settled(d.sn, 'config', 'synced');
    expect(d.config).toEqual({ report_s: 30, heartbeat_s: 20, delta_pct: 3 });
    expect((await get(d.sn, 'config')).commandId).toBe(put.body.commandId);

    const bad = await t
      .api()
      .put(`/api/v1/concentrators/${d.sn}/config`)
      .send({ reportS: 2, heartbeatS: 20, deltaPct: 101 })
      .expect(400);
    expect(errors(bad.body)).toMatch(/config\.reportS: .*5/);
    expect(errors(bad.body)).toMatch(/config\.deltaPct: .*100/);
    await t
      .api()
      .put(`/api/v1/concentrators/${d.sn}/config`)
      .send({ reportS: 30, heartbeatS: 20 })
      .expect(400);
  }, 30_000);

  it('validates schedules with clear 400s and sends nothing', async () => {
    const d = await online();
    const sent = todevTypes(d.sn).length;
    const item = SCHEDULE.items[0];
    const cases: [unknown, RegExp][] = [
      [
        { items: Array.from({ length: 25 }, (_, i) => ({ ...item, slot: (i % 24) + 1 })) },
        /items: .*24/,
      ],
      [{ items: [item, { ...item }] }, /items: duplicate slot/],
      [{ items: [{ ...item, slot: 25 }] }, /items\[0\]\.slot: .*24/],
      [{ items: [{ ...item, at: '24:00' }] }, /items\[0\]\.at: at must be HH:MM/],
      [{ items: [{ ...item, at: '7:30' }] }, /items\[0\]\.at/],
      [{ items: [{ ...item, days: [0, 1] }] }, /items\[0\]\.days\[0\]/],
      [{ items: [{ ...item, days: [] }] }, /items\[0\]\.days/],
      [{ items: [{ ...item, lines: [] }] }, /items\[0\]\.lines/],
      [
        { items: [{ ...item, lines: [2, 5] }] },
        /items\[0\]\.lines: line 5 is beyond the concentrator's 4 lines/,
      ],
      [{ items: [{ ...item, colour: 'red' }] }, /property colour should not exist/],
      [{ items: [{ ...item, on: 'yes' }] }, /on must be a boolean/],
    ];
    for (const [body, re] of cases) {
      const r = await t
        .api()
        .put(`/api/v1/concentrators/${d.sn}/schedules`)
        .send(body as object);
      expect([r.status, errors(r.body)]).toEqual([400, expect.stringMatching(re)]);
    }
    expect(todevTypes(d.sn)).toHaveLength(sent);
    expect((await get(d.sn, 'schedules')).desired).toBeNull();
    const refused = (
      await t
        .api()
        .get(`/api/v1/audit?target=${d.sn}&action=desired.schedules&outcome=refused`)
        .expect(200)
    ).body;
    expect(refused.total).toBe(cases.length);
    expect(refused.items[0]).toMatchObject({ statusCode: 400, actor: 'bootstrap-admin' });
  }, 30_000);

  it('validates params: ranges, min below max, known lines, at least one threshold', async () => {
    const d = await online();
    const cases: [unknown, RegExp][] = [
      [
        { lines: [{ line: 1, minVoltageV: 250, maxVoltageV: 200 }] },
        /lines\[0\]\.minVoltageV: minVoltageV must be below maxVoltageV/,
      ],
      [{ lines: [{ line: 1, maxVoltageV: 5000 }] }, /lines\[0\]\.maxVoltageV: .*1000/],
      [{ lines: [{ line: 1, maxTempC: -80 }] }, /lines\[0\]\.maxTempC/],
      [
        { lines: [{ line: 6, maxCurrentA: 10 }] },
        /lines\[0\]\.line: line 6 is beyond the concentrator's 4 lines/,
      ],
      [
        {
          lines: [
            { line: 1, maxCurrentA: 10 },
            { line: 1, maxTempC: 60 },
          ],
        },
        /lines: duplicate line number/,
      ],
      [{ lines: [{ line: 2 }] }, /lines\[0\]: sets no threshold/],
      [{ lines: [] }, /lines: .*1/],
      [{ lines: [{ line: 1, max_current_a: 10 }] }, /property max_current_a should not exist/],
    ];
    for (const [body, re] of cases) {
      const r = await t
        .api()
        .put(`/api/v1/concentrators/${d.sn}/params`)
        .send(body as object);
      expect([r.status, errors(r.body)]).toEqual([400, expect.stringMatching(re)]);
    }
    expect((await get(d.sn, 'params')).desired).toBeNull();
  }, 30_000);

  it('stores and pushes schedules and params: synced, failed with the device code, or pending on timeout', async () => {
    const ok = await online();
    const s = await t
      .api()
      .put(`/api/v1/concentrators/${ok.sn}/schedules`)
      .send(SCHEDULE)
      .expect(200);
    expect(s.body).toMatchObject({
      desired: SCHEDULE,
      updatedBy: 'bootstrap-admin',
      commandId: expect.stringMatching(/^s-/),
    });
    const sWire = await probe.waitFor((m) => m.payload.includes(s.body.commandId));
    const sTs = JSON.parse(sWire.payload.toString()).ts as number;
    expect(sWire.payload.toString()).toBe(
      `{"sn":"${ok.sn}","type":"schedules","id":"${s.body.commandId}","ts":${sTs},"items":[` +
        '{"slot":1,"lines":[1,2],"on":false,"at":"22:30","days":[1,2,3,4,5],"enabled":true},' +
        '{"slot":2,"lines":[3],"on":true,"at":"06:15","days":[6,7],"enabled":false}]}',
    );
    await settled(ok.sn, 'schedules', 'synced');
    expect(ok.schedules).toEqual(SCHEDULE.items);

    const p = await t.api().put(`/api/v1/concentrators/${ok.sn}/params`).send(PARAMS).expect(200);
    const pWire = await probe.waitFor((m) => m.payload.includes(p.body.commandId));
    const pTs = JSON.parse(pWire.payload.toString()).ts as number;
    expect(pWire.payload.toString()).toBe(
      `{"sn":"${ok.sn}","type":"params","id":"${p.body.commandId}","ts":${pTs},"lines":[` +
        '{"line":1,"max_voltage_v":250,"min_voltage_v":190,"max_current_a":20},' +
        '{"line":2,"max_leakage_ma":25,"max_temp_c":70,"max_power_w":4000}]}',
    );
    await settled(ok.sn, 'params', 'synced');
    expect(ok.params[0]).toMatchObject({
      line: 1,
      max_voltage_v: 250,
      min_voltage_v: 190,
      max_current_a: 20,
    });
    const detail = (await t.api().get(`/api/v1/concentrators/${ok.sn}`).expect(200)).body;
    expect(detail.sync).toEqual({ config: 'synced', schedules: 'synced', params: 'synced' });

    const failing = await online({ failRate: 1 });
    expect((await get(failing.sn, 'config')).sync).toBe('failed');
    await t.api().put(`/api/v1/concentrators/${failing.sn}/schedules`).send(SCHEDULE).expect(200);
    await settled(failing.sn, 'schedules', 'failed');
    expect((await get(failing.sn, 'schedules')).command).toMatchObject({
      state: 'failed',
      ackCode: 34,
      ackMsg: 'breaker timeout',
    });
    expect(failing.schedules).toEqual([]);

    const silent = await online({ ackRate: 0 });
    const put = await t
      .api()
      .put(`/api/v1/concentrators/${silent.sn}/params`)
      .send(PARAMS)
      .expect(200);
    await waitFor(
      async () => ((await get(silent.sn, 'params')).command as Body).state === 'timeout',
      10_000,
      'timeout',
    );
    expect(await get(silent.sn, 'params')).toMatchObject({
      sync: 'pending',
      commandId: put.body.commandId,
    });
    const detail2 = (await t.api().get(`/api/v1/concentrators/${failing.sn}`).expect(200)).body;
    expect(detail2.sync).toEqual({ config: 'failed', schedules: 'failed', params: null });
  }, 60_000);

  it('stores desired state of an offline concentrator, then pushes config, schedules, params in that order on config_request', async () => {
    const sn = newSerial();
    await register(sn);
    const s = await t.api().put(`/api/v1/concentrators/${sn}/schedules`).send(SCHEDULE).expect(200);
    expect(s.body).toMatchObject({ sync: 'pending', commandId: null, command: null });
    await t.api().put(`/api/v1/concentrators/${sn}/params`).send(PARAMS).expect(200);
    await t
      .api()
      .put(`/api/v1/concentrators/${sn}/config`)
      .send({ reportS: 120, heartbeatS: 60, deltaPct: 10 })
      .expect(200);
    expect(todevTypes(sn)).toEqual([]);
    expect((await t.api().get(`/api/v1/concentrators/${sn}`)).body.sync).toEqual({
      config: 'pending',
      schedules: 'pending',
      params: 'pending',
    });

    const d = device(sn);
    await d.start();
    await settled(sn, 'params', 'synced');
    await waitFor(() => todevTypes(sn).length === 3, 10_000, 'probe saw three pushes');
    expect(todevTypes(sn).map((m) => m.type)).toEqual(['config', 'schedules', 'params']);
    expect(d.config).toEqual({ report_s: 120, heartbeat_s: 60, delta_pct: 10 });
    expect(d.schedules).toEqual(SCHEDULE.items);
    expect((await get(sn, 'config')).sync).toBe('synced');
    expect((await get(sn, 'schedules')).sync).toBe('synced');

    // A reconnect (here a reboot) asks again and gets the same three, in order.
    await d.reboot(50);
    await waitFor(() => todevTypes(sn).length === 6, 10_000, 're-push');
    expect(todevTypes(sn).map((m) => m.type)).toEqual([
      'config',
      'schedules',
      'params',
      'config',
      'schedules',
      'params',
    ]);
    const [, , , config2, schedules2] = todevTypes(sn);
    expect(config2).toMatchObject({ report_s: 120, heartbeat_s: 60, delta_pct: 10 });
    expect(schedules2.items).toEqual(SCHEDULE.items);
    await settled(sn, 'params', 'synced');
  }, 45_000);

  it('keeps what the device reports beside the desired state and shows drift', async () => {
    const d = await online();
    await t.api().put(`/api/v1/concentrators/${d.sn}/schedules`).send(SCHEDULE).expect(200);
    await t.api().put(`/api/v1/concentrators/${d.sn}/params`).send(PARAMS).expect(200);
    await settled(d.sn, 'params', 'synced');
    expect((await get(d.sn, 'schedules')).reported).toBeNull();

    const q = await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/query`)
      .send({ what: 'schedules' })
      .expect(202);
    await waitFor(
      async () => (await get(d.sn, 'schedules')).reported !== null,
      10_000,
      'schedules report',
    );
    expect(await get(d.sn, 'schedules')).toMatchObject({
      desired: SCHEDULE,
      reported: SCHEDULE,
      drift: false,
      reportedAt: expect.any(String),
    });
    const row = await t.query<{ reported_command_id: string }>(
      `SELECT reported_command_id FROM desired_state WHERE sn = $1 AND kind = 'schedules'`,
      [d.sn],
    );
    expect(row[0].reported_command_id).toBe(q.body.id);

    await t.api().post(`/api/v1/concentrators/${d.sn}/query`).send({ what: 'params' }).expect(202);
    await waitFor(
      async () => (await get(d.sn, 'params')).reported !== null,
      10_000,
      'params report',
    );
    const params = await get(d.sn, 'params');
    expect(params.drift).toBe(false);
    expect((params.reported as { lines: Body[] }).lines).toHaveLength(4);
    expect((params.reported as { lines: Body[] }).lines[0]).toMatchObject({
      line: 1,
      maxVoltageV: 250,
      minVoltageV: 190,
      maxCurrentA: 20,
      maxTempC: 85,
    });

    // Someone changed the timers on the device itself.
    await d.publish({ type: 'schedules', items: [{ ...SCHEDULE.items[0], at: '23:00' }] });
    await waitFor(async () => (await get(d.sn, 'schedules')).drift === true, 10_000, 'drift');
    expect((await get(d.sn, 'schedules')).sync).toBe('synced');
  }, 45_000);

  it('refuses desired state for pending and unknown concentrators', async () => {
    const pending = device(newSerial());
    await pending.start();
    await waitFor(() => isOnline(pending.sn), 10_000, 'discovered');
    const r = await t
      .api()
      .put(`/api/v1/concentrators/${pending.sn}/schedules`)
      .send(SCHEDULE)
      .expect(409);
    expect(r.body.message).toMatch(/pending/);
    expect(todevTypes(pending.sn)).toEqual([]);
    await t.api().get(`/api/v1/concentrators/${newSerial()}/params`).expect(404);
    await t
      .api()
      .put(`/api/v1/concentrators/${newSerial()}/config`)
      .send({ reportS: 30, heartbeatS: 20, deltaPct: 3 })
      .expect(404);
    await t.api().get('/api/v1/concentrators/12345/config').expect(400);
  }, 30_000);
});
