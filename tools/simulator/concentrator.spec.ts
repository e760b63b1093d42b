import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { AddressInfo } from 'node:net';
import Aedes from 'aedes';
import mqtt, { MqttClient } from 'mqtt';
import { SimulatedConcentrator } from './concentrator';
import { Json } from './protocol';

// A real broker in-process, and a raw MQTT client playing the backend, so these
// tests exercise the exact bytes on the wire without needing mosquitto.
const ROOT = 'smart/devs';
let broker: Aedes;
let server: net.Server;
let brokerUrl: string;
let backend: MqttClient;
const inbox: Array<{ topic: string; raw: string; msg: Json }> = [];
const devices: SimulatedConcentrator[] = [];
let nextSn = 202005010001;

beforeAll(async () => {
  broker = new Aedes({
    authenticate: (_client, _user, password, done) => {
      if (password?.toString() === 'wrong') {
        done(Object.assign(new Error('bad password'), { returnCode: 4 as const }), false);
      } else done(null, true);
    },
  });
  server = net.createServer(broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  brokerUrl = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  backend = await mqtt.connectAsync(brokerUrl, { clientId: 'admin_client', clean: true });
  backend.on('message', (topic, payload) => {
    inbox.push({ topic, raw: payload.toString(), msg: JSON.parse(payload.toString()) as Json });
  });
  await backend.subscribeAsync(`${ROOT}/+/fromdev`, { qos: 0 });
});

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.stop()));
});

afterAll(async () => {
  await backend.endAsync();
  await new Promise<void>((r) => broker.close(() => r()));
  await new Promise<void>((r) => server.close(() => r()));
});

async function device(opts: Partial<ConstructorParameters<typeof SimulatedConcentrator>[0]> = {}) {
  const d = new SimulatedConcentrator({ brokerUrl, sn: String(nextSn++), intervalMs: 0, ...opts });
  devices.push(d);
  await d.start();
  return d;
}

/** Messages the backend got from `sn`, waiting until `count` of them match. */
async function fromDevice(sn: string, pred: (m: Json) => boolean = () => true, count = 1) {
  const deadline = Date.now() + 5000;
  for (;;) {
    const hits = inbox.filter((e) => e.topic === `${ROOT}/${sn}/fromdev` && pred(e.msg));
    if (hits.length >= count) return hits.map((h) => h.msg);
    if (Date.now() > deadline) throw new Error(`timeout waiting for ${sn}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const one = async (sn: string, pred: (m: Json) => boolean) => (await fromDevice(sn, pred))[0];

function command(sn: string, body: Json): Promise<unknown> {
  const msg = { sn, ts: Math.floor(Date.now() / 1000), ...body };
  return backend.publishAsync(`${ROOT}/${sn}/todev`, JSON.stringify(msg), { qos: 0 });
}

const now = () => Math.floor(Date.now() / 1000);

describe('SimulatedConcentrator over a real broker', () => {
  it('announces itself with config_request after connecting', async () => {
    const d = await device({ lines: 4, fw: '1.0.0', io: 'wifi' });
    const m = await one(d.sn, (x) => x.type === 'config_request');
    expect(m).toEqual({
      sn: d.sn,
      type: 'config_request',
      ts: expect.any(Number),
      seq: 1,
      fw: '1.0.0',
      model: 'RJ-C8',
      lines: 4,
      io: 'wifi',
    });
    expect(Math.abs((m.ts as number) - now())).toBeLessThanOrEqual(1);
    expect(d.connected).toBe(true);
  });

  it('switches lines: ack ok, then status with remote cause for changed lines only', async () => {
    const d = await device();
    await command(d.sn, { type: 'switch', id: 'c-7f3a', lines: [1, 3], on: false });
    const [ack, status] = await fromDevice(d.sn, (m) => m.seq === 2 || m.seq === 3, 2);
    expect(ack).toEqual({
      sn: d.sn,
      type: 'ack',
      ts: expect.any(Number),
      seq: 2,
      id: 'c-7f3a',
      ok: true,
      code: 0,
    });
    expect(status).toEqual({
      sn: d.sn,
      type: 'status',
      ts: expect.any(Number),
      seq: 3,
      lines: [
        { line: 1, on: false, cause: 'remote_off' },
        { line: 3, on: false, cause: 'remote_off' },
      ],
    });
    expect(d.lineStates).toEqual([false, true, false, true, true, true, true, true]);
    expect(await d.waitFor((m) => m.id === 'c-7f3a')).toMatchObject({ type: 'switch' });

    await command(d.sn, { type: 'switch', id: 'c-all', lines: 'all', on: true });
    const st = await one(d.sn, (m) => m.type === 'status' && m.seq === 5);
    expect((st.lines as Json[]).map((l) => l.line)).toEqual([1, 3]);
  });

  it('acks bad commands with the protocol error codes', async () => {
    const d = await device();
    await command(d.sn, { type: 'switch', id: 'c-9', lines: [9], on: true });
    await command(d.sn, { type: 'dance', id: 'c-10' });
    await command(d.sn, { type: 'reboot', id: 'c-11', sn: '999999999999' });
    const acks = await fromDevice(d.sn, (m) => m.type === 'ack', 3);
    expect(acks.map((a) => [a.id, a.ok, a.code])).toEqual([
      ['c-9', false, 2],
      ['c-10', false, 5],
      ['c-11', false, 1],
    ]);
    expect(d.lineStates.every(Boolean)).toBe(true);
    expect(d.received).toHaveLength(3);
  });

  it('stores config, schedules and params and reports them on query', async () => {
    const d = await device({ lines: 2 });
    const items = [{ slot: 1, lines: [1, 2], on: false, at: '22:30', days: [1, 5], enabled: true }];
    await command(d.sn, { type: 'config', id: 'k-1', report_s: 60, heartbeat_s: 30, delta_pct: 5 });
    await command(d.sn, { type: 'schedules', id: 's-12', items });
    await command(d.sn, { type: 'params', id: 'p-3', lines: [{ line: 2, max_current_a: 16 }] });
    await command(d.sn, { type: 'query', id: 'q-1', what: 'schedules' });
    await command(d.sn, { type: 'query', id: 'q-2', what: 'params' });
    await command(d.sn, { type: 'query', id: 'q-3', what: 'status' });
    await command(d.sn, { type: 'query', id: 'q-4', what: 'telemetry' });
    await fromDevice(d.sn, (m) => m.type === 'telemetry');
    const acks = await fromDevice(d.sn, (m) => m.type === 'ack', 7);
    expect(acks.every((a) => a.ok === true && a.code === 0)).toBe(true);
    expect(d.config).toEqual({ report_s: 60, heartbeat_s: 30, delta_pct: 5 });
    expect(await one(d.sn, (m) => m.type === 'schedules')).toMatchObject({ id: 'q-1', items });
    const params = await one(d.sn, (m) => m.type === 'params');
    expect(params.id).toBe('q-2');
    expect(params.lines).toEqual([
      expect.objectContaining({ line: 1, max_current_a: 32 }),
      {
        line: 2,
        max_voltage_v: 264,
        min_voltage_v: 176,
        max_current_a: 16,
        max_leakage_ma: 30,
        max_temp_c: 85,
        max_power_w: 7000,
      },
    ]);
    const status = await one(d.sn, (m) => m.type === 'status');
    expect(status.id).toBeUndefined();
    expect(status.lines).toEqual([
      { line: 1, on: true, cause: 'power_on' },
      { line: 2, on: true, cause: 'power_on' },
    ]);
    const tele = await one(d.sn, (m) => m.type === 'telemetry');
    expect((tele.lines as Json[]).map((l) => l.line)).toEqual([1, 2]);
    // The ack always precedes the answer it announces.
    const order = (await fromDevice(d.sn, (m) => m.id === 'q-1' || m.id === 'q-2', 4)).map(
      (m) => m.type,
    );
    expect(order).toEqual(['ack', 'schedules', 'ack', 'params']);
  });

  it('reboots: ack, reconnect, config_request with seq restarted', async () => {
    const d = await device();
    await command(d.sn, { type: 'reboot', id: 'r-2' });
    const [, again] = await fromDevice(d.sn, (m) => m.type === 'config_request', 2);
    expect(await one(d.sn, (m) => m.type === 'ack')).toMatchObject({ id: 'r-2', ok: true, seq: 2 });
    expect(again.seq).toBe(1);
    expect(d.connected).toBe(true);
  });

  it('runs a firmware upgrade end to end from an http server', async () => {
    const image = Buffer.alloc(50_000, 7);
    const sha256 = createHash('sha256').update(image).digest('hex');
    const web = http.createServer((req, res) => {
      if (req.url === '/fw.bin') res.end(image);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    try {
      const d = await device();
      const up = { type: 'upgrade', version: '1.5.0', sha256, size: image.length };
      await command(d.sn, { ...up, id: 'u-91', url: `${base}/fw.bin` });
      const done = await one(d.sn, (m) => m.type === 'upgrade' && m.state === 'done');
      expect(done).toEqual({
        sn: d.sn,
        type: 'upgrade',
        ts: expect.any(Number),
        seq: 2,
        id: 'u-91',
        state: 'done',
        progress: 100,
        version: '1.5.0',
      });
      const states = (await fromDevice(d.sn, (m) => m.type === 'upgrade')).map((m) => m.state);
      expect(states[0]).toBe('downloading');
      expect(states.slice(-3)).toEqual(['verifying', 'installing', 'done']);
      const boots = await fromDevice(d.sn, (m) => m.type === 'config_request', 2);
      expect(boots[1]).toMatchObject({ fw: '1.5.0', seq: 1 });
      expect(d.fw).toBe('1.5.0');

      await command(d.sn, { ...up, id: 'u-92', url: `${base}/fw.bin`, sha256: 'f'.repeat(64) });
      expect(await one(d.sn, (m) => m.id === 'u-92' && m.state === 'failed')).toMatchObject({
        msg: 'sha256 mismatch',
      });
      await command(d.sn, { ...up, id: 'u-93', url: `${base}/missing.bin` });
      expect(await one(d.sn, (m) => m.id === 'u-93' && m.state === 'failed')).toMatchObject({
        msg: 'download failed: http 404',
      });
      await command(d.sn, { ...up, id: 'u-94', url: `${base}/fw.bin`, size: image.length - 1 });
      const bad = await one(d.sn, (m) => m.id === 'u-94' && m.state === 'failed');
      expect(bad.msg).toMatch(/^size mismatch/);
      expect(d.fw).toBe('1.5.0');
    } finally {
      await new Promise((r) => web.close(r));
    }
  });

  it('leaves the offline will on a crash but not on a clean stop', async () => {
    const a = await device();
    await a.stop();
    const b = await device();
    await b.crash();
    await fromDevice(b.sn, (m) => m.type === 'offline');
    const will = inbox.find(
      (e) => e.topic === `${ROOT}/${b.sn}/fromdev` && e.msg.type === 'offline',
    );
    expect(will?.raw).toBe(JSON.stringify({ sn: b.sn, type: 'offline' }));
    await new Promise((r) => setTimeout(r, 100));
    expect(inbox.some((e) => e.msg.sn === a.sn && e.msg.type === 'offline')).toBe(false);
  });

  it('rejects start() when the broker refuses the password', async () => {
    const d = new SimulatedConcentrator({ brokerUrl, sn: '202005019999', password: 'wrong' });
    await expect(d.start()).rejects.toThrow(/Connection refused|Not authorized/i);
    expect(d.connected).toBe(false);
  });

  it('applies failRate and ackRate', async () => {
    const failing = await device({ failRate: 1 });
    await command(failing.sn, { type: 'switch', id: 'c-1', lines: [1], on: false });
    expect(await one(failing.sn, (m) => m.type === 'ack')).toMatchObject({
      id: 'c-1',
      ok: false,
      code: 34,
      msg: 'breaker timeout',
    });
    expect(failing.lineStates[0]).toBe(true);

    const silent = await device({ ackRate: 0 });
    await command(silent.sn, { type: 'switch', id: 'c-2', lines: [1], on: false });
    await silent.waitFor((m) => m.id === 'c-2');
    await new Promise((r) => setTimeout(r, 200));
    expect(inbox.some((e) => e.msg.sn === silent.sn && e.msg.type === 'ack')).toBe(false);
  });

  it('stamps messages with the offset clock and honours telemetry overrides', async () => {
    const d = await device({ clockOffsetS: -3600 });
    const t = await d.publishTelemetry([{ line: 2, voltage_v: 999, temp_c: undefined }]);
    const got = await one(d.sn, (m) => m.type === 'telemetry');
    expect(got).toEqual(t);
    expect(Math.abs((got.ts as number) - (now() - 3600))).toBeLessThanOrEqual(1);
    const line = (got.lines as Json[])[0];
    expect(line).toMatchObject({ line: 2, voltage_v: 999, on: true });
    expect(line).not.toHaveProperty('temp_c');
  });

  it('executes resident schedules on the device clock', async () => {
    const d = await device({ tzOffsetMin: 0, runSchedules: false });
    const at = Date.UTC(2024, 10, 22, 22, 30, 0) / 1000; // a Friday
    const items = [{ slot: 1, lines: [2], on: false, at: '22:30', days: [5], enabled: true }];
    await command(d.sn, { type: 'schedules', id: 's-1', items });
    await one(d.sn, (m) => m.type === 'ack');
    expect(await d.checkSchedules(at - 60)).toBeUndefined();
    await d.checkSchedules(at);
    expect(await one(d.sn, (m) => m.type === 'status')).toMatchObject({
      lines: [{ line: 2, on: false, cause: 'schedule_off' }],
    });
    expect(d.lineStates[1]).toBe(false);
  });
});
