import { SimulatedConcentrator } from '../tools/simulator/concentrator';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

describe('ingestion (real broker, real PostgreSQL)', () => {
  let t: TestApp;
  let probe: MqttProbe;
  const device = async (
    sn = newSerial(),
    opts: Partial<ConstructorParameters<typeof SimulatedConcentrator>[0]> = {},
  ) => {
    const d = t.simulator({ sn, ...opts });
    await d.start();
    return d;
  };
  const fromdev = (sn: string) => `${t.root}/${sn}/fromdev`;
  const rowsOf = async (sn: string) =>
    t.query<{ line: number; ts: Date; voltage_v: number }>(
      'SELECT line, ts, voltage_v FROM telemetry WHERE sn = $1 ORDER BY ts, line',
      [sn],
    );
  const register = (sn: string) => t.register(sn);

  beforeAll(async () => {
    // The fleet default config is what config_request and adoption push here (test/device-config covers the default).
    t = await bootTestApp({ env: { PUSH_DEFAULT_CONFIG: 'true' } });
    probe = await MqttProbe.connect(t.mqttUrl);
    await probe.subscribe(`${t.root}/+/todev`);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  it('stores telemetry of a managed concentrator and serves it through /latest and /telemetry', async () => {
    const sn = newSerial();
    await register(sn);
    const d = await device(sn, { lines: 2 });
    const now = Math.floor(Date.now() / 1000);
    await d.publish({
      type: 'telemetry',
      ts: now - 120,
      lines: [
        { line: 1, on: true, voltage_v: 221.5, current_a: 3, power_w: 650, energy_kwh: 10 },
        { line: 2, on: false, voltage_v: 222, current_a: 0, power_w: 0, energy_kwh: 20 },
      ],
    });
    await d.publish({
      type: 'telemetry',
      ts: now - 60,
      lines: [{ line: 1, on: true, voltage_v: 230, energy_kwh: 10.5 }],
    });
    await waitFor(async () => (await rowsOf(sn)).length === 3, 10_000, 'rows stored');
    await t.flush();

    const latest = await t.api().get(`/api/v1/concentrators/${sn}/latest`).expect(200);
    expect(latest.body.online).toBe(true);
    const l1 = latest.body.lines.find((l: { line: number }) => l.line === 1);
    expect(l1).toMatchObject({
      on: true,
      voltageV: 230,
      energyKwh: 10.5,
      ts: new Date((now - 60) * 1000).toISOString(),
    });
    expect(latest.body.lines.find((l: { line: number }) => l.line === 2)).toMatchObject({
      on: false,
      voltageV: 222,
    });

    const raw = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/telemetry?line=1&fields=voltageV,energyKwh`)
      .expect(200);
    expect(raw.body.items).toHaveLength(2);
    expect(raw.body.items[0]).toEqual({
      ts: new Date((now - 120) * 1000).toISOString(),
      receivedAt: expect.any(String),
      line: 1,
      on: true,
      voltageV: 221.5,
      energyKwh: 10,
    });

    const bucketed = await t
      .api()
      .get(`/api/v1/concentrators/${sn}/telemetry?bucket=1d&fields=voltageV`)
      .expect(200);
    const b1 = bucketed.body.items.find((i: { line: number }) => i.line === 1);
    expect(b1.samples).toBe(2);
    expect(b1.voltageV.min).toBeCloseTo(221.5, 3);
    expect(b1.voltageV.max).toBeCloseTo(230, 3);
    expect(b1.voltageV.avg).toBeCloseTo(225.75, 3);

    const fleet = await t.api().get('/api/v1/latest?limit=1000').expect(200);
    expect(fleet.body.items.map((c: { sn: string }) => c.sn)).toContain(sn);
  }, 30_000);

  it('rejects a payload whose sn differs from the topic: nothing stored under either serial', async () => {
    const topicSn = newSerial();
    const otherSn = newSerial();
    await register(topicSn);
    await register(otherSn);
    const payload = JSON.stringify({
      sn: otherSn,
      type: 'telemetry',
      ts: Math.floor(Date.now() / 1000),
      lines: [{ line: 1, voltage_v: 230 }],
    });
    await probe.publish(fromdev(topicSn), payload);
    await waitFor(
      async () => {
        await t.flush();
        const r = await t.api().get(`/api/v1/rejections?reason=serial_mismatch&sn=${topicSn}`);
        return r.body.total === 1;
      },
      10_000,
      'rejection recorded',
    );
    expect(await rowsOf(topicSn)).toHaveLength(0);
    expect(await rowsOf(otherSn)).toHaveLength(0);
    const r = await t.api().get(`/api/v1/rejections?sn=${topicSn}`).expect(200);
    expect(r.body.items[0]).toMatchObject({
      reason: 'serial_mismatch',
      sn: topicSn,
      topic: fromdev(topicSn),
    });
    expect(r.body.counts.serial_mismatch).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('counts and lists malformed input without crashing', async () => {
    const sn = newSerial();
    await probe.publish(fromdev(sn), '{"sn":"' + sn + '","type":"telemetry"'); // truncated
    await probe.publish(fromdev(sn), Buffer.alloc(70_000, 0x7b)); // over the 64 KiB cap
    await probe.publish(`${t.root}/12345/fromdev`, '{}');
    await probe.publish(fromdev(sn), JSON.stringify({ sn: Number(sn), type: 'telemetry', ts: 1 }));
    await probe.publish(fromdev(sn), JSON.stringify({ sn, type: 'launch', ts: 1 }));
    await probe.publish(
      fromdev(sn),
      JSON.stringify({ sn, type: 'telemetry', ts: 1, lines: [{ line: 1, voltage_v: 5000 }] }),
    );
    const want = ['bad_json', 'too_large', 'bad_serial', 'unknown_type', 'invalid_payload'];
    await waitFor(
      async () => {
        await t.flush();
        const r = await t.api().get('/api/v1/rejections?limit=100');
        const reasons = new Set(r.body.items.map((i: { reason: string }) => i.reason));
        return want.every((w) => reasons.has(w));
      },
      10_000,
      'all reasons recorded',
    );
    const invalid = await t
      .api()
      .get(`/api/v1/rejections?reason=invalid_payload&sn=${sn}`)
      .expect(200);
    expect(invalid.body.items[0].field).toBe('lines.0.voltage_v');
    const health = await t.http().get('/health').expect(200);
    expect(health.body.ingest.rejected.too_large).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('discovers an unknown serial as pending, counts its telemetry without storing it, and stores it after adoption', async () => {
    const d = await device(undefined, { fw: '1.4.2', model: 'RJ-C8', lines: 4 });
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${d.sn}`)).status === 200,
      10_000,
      'discovery',
    );
    // The config_request is written with the message; the online flag right after, without
    // holding the message up: wait for both.
    await waitFor(
      async () => {
        const c = (await t.api().get(`/api/v1/concentrators/${d.sn}`)).body;
        return c.fw === '1.4.2' && c.online === true;
      },
      10_000,
      'config_request recorded, online',
    );
    const pending = await t.api().get(`/api/v1/concentrators/${d.sn}`).expect(200);
    expect(pending.body).toMatchObject({
      state: 'pending',
      online: true,
      fw: '1.4.2',
      model: 'RJ-C8',
      lineCount: 4,
    });
    const listed = await t.api().get('/api/v1/concentrators?state=pending&limit=1000').expect(200);
    expect(listed.body.items.map((c: { sn: string }) => c.sn)).toContain(d.sn);

    await d.publishTelemetry();
    await waitFor(
      async () => {
        await t.flush();
        return (
          (await t.api().get(`/api/v1/rejections?reason=unknown_device&sn=${d.sn}`)).body.total >= 1
        );
      },
      10_000,
      'unknown_device counted',
    );
    expect(await rowsOf(d.sn)).toHaveLength(0);

    await t
      .api()
      .post(`/api/v1/concentrators/${d.sn}/adopt`)
      .send({ name: 'Plant room', site: 'north' })
      .expect(200);
    // Adopted while online: it gets its config at once, not at its next reconnect.
    await d.waitFor((m) => m?.type === 'config', 10_000);
    await d.publishTelemetry();
    await waitFor(
      async () => (await rowsOf(d.sn)).length === 4,
      10_000,
      'telemetry stored after adoption',
    );
    const managed = await t.api().get(`/api/v1/concentrators/${d.sn}`).expect(200);
    expect(managed.body).toMatchObject({ state: 'managed', name: 'Plant room', site: 'north' });
  }, 45_000);

  it('answers config_request of a managed concentrator with the exact config bytes on todev', async () => {
    const sn = newSerial();
    await register(sn);
    const d = await device(sn);
    const got = await probe.waitFor((m) => m.topic === `${t.root}/${sn}/todev`, 10_000);
    expect(got.retain).toBe(false);
    expect(got.qos).toBe(0);
    const text = got.payload.toString('utf8');
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual([
      'sn',
      'type',
      'id',
      'ts',
      'report_s',
      'heartbeat_s',
      'delta_pct',
    ]);
    expect(text).toBe(
      `{"sn":"${sn}","type":"config","id":"${parsed.id}","ts":${parsed.ts},"report_s":60,"heartbeat_s":30,"delta_pct":5}`,
    );
    expect(parsed.id).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
    expect(Math.abs(parsed.ts - Date.now() / 1000)).toBeLessThan(5);
    await d.waitFor((m) => m.type === 'config', 10_000);
  }, 30_000);

  it('keeps one row for a duplicate sample and does not let an older sample overwrite the latest', async () => {
    const sn = newSerial();
    await register(sn);
    const d = await device(sn, { lines: 1 });
    const now = Math.floor(Date.now() / 1000);
    const received = async () => (await t.http().get('/health')).body.ingest.received as number;
    const before = await received();
    const newer = { type: 'telemetry', ts: now - 10, lines: [{ line: 1, voltage_v: 240 }] };
    await d.publish(newer);
    await d.publish(newer);
    await d.publish({ type: 'telemetry', ts: now - 100, lines: [{ line: 1, voltage_v: 200 }] });
    await waitFor(async () => (await rowsOf(sn)).length === 2, 10_000, 'two rows');
    // All three taken in (the duplicate too), then written out: a second row would be there now.
    await waitFor(async () => (await received()) >= before + 3, 10_000, 'all three received');
    await t.flush();
    expect(await rowsOf(sn)).toHaveLength(2);
    const latest = await t.api().get(`/api/v1/concentrators/${sn}/latest`).expect(200);
    expect(latest.body.lines[0]).toMatchObject({
      voltageV: 240,
      ts: new Date((now - 10) * 1000).toISOString(),
    });
    const [row] = await t.query<{ voltage_v: number }>(
      'SELECT voltage_v FROM concentrator_lines WHERE sn = $1',
      [sn],
    );
    expect(row.voltage_v).toBe(240);
  }, 30_000);

  it('stores a sample with an untrusted device clock at receive time and flags the concentrator', async () => {
    const sn = newSerial();
    await register(sn);
    const d = await device(sn, { lines: 1, clockOffsetS: 3600 });
    const before = Date.now();
    await d.publish({
      type: 'telemetry',
      ts: Math.floor(Date.now() / 1000) + 3600,
      lines: [{ line: 1, voltage_v: 231 }],
    });
    await waitFor(async () => (await rowsOf(sn)).length === 1, 10_000, 'row');
    const [row] = await rowsOf(sn);
    expect(Math.abs(row.ts.getTime() - before)).toBeLessThan(5000);
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.clockSkew === true,
      10_000,
      'flag',
    );
  }, 30_000);

  it('marks a concentrator offline on its will message', async () => {
    const sn = newSerial();
    await register(sn);
    const d = await device(sn);
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.online === true,
      10_000,
      'online',
    );
    await d.crash();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.online === false,
      10000,
      'offline',
    );
    const kinds = async () =>
      (
        await t.query<{ kind: string }>(
          `SELECT kind FROM device_events WHERE sn = $1 AND kind IN ('online','offline') ORDER BY id`,
          [sn],
        )
      ).map((e) => e.kind);
    // The event row follows the state change by a moment.
    await waitFor(async () => (await kinds()).length === 2, 10_000, 'offline event');
    expect(await kinds()).toEqual(['online', 'offline']);
  }, 30_000);

  it('forgets the latest state of a deleted concentrator, so a re-registered serial starts clean', async () => {
    const sn = await t.register();
    const d = await device(sn, { lines: 2 });
    await d.publishTelemetry();
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}/latest`)).body.lines.length === 2,
      10_000,
      'latest',
    );
    await d.stop();
    await t.api().post(`/api/v1/concentrators/${sn}/release`).expect(200);
    await t.api().delete(`/api/v1/concentrators/${sn}`).expect(204);
    await t.register(sn);
    const latest = await t.api().get(`/api/v1/concentrators/${sn}/latest`).expect(200);
    expect(latest.body.lines).toEqual([]);
  }, 30_000);
});
