import { ConcentratorRegistry } from '../src/concentrators/concentrator-registry.service';
import { delta, exportedCountsAgree, quiet, settled } from './support/accounting';
import { MqttProbe } from './support/mqtt-probe';
import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

type Body = Record<string, unknown>;

/**
 * Replies that are valid by the protocol's schema but carry what PostgreSQL
 * refuses (NUL, lone surrogates, integers beyond int4, floats that underflow
 * `real`): the decoder turns them into storable values, so the device's answer
 * is applied — never lost at the database — and every message is accounted for.
 */
describe('hostile device replies are applied, not lost at the database', () => {
  let t: TestApp;
  let probe: MqttProbe;

  beforeAll(async () => {
    t = await bootTestApp();
    probe = await MqttProbe.connect(t.mqttUrl);
  }, 30_000);
  afterAll(async () => {
    await probe?.close();
    await t?.close();
  }, 30_000);

  const fromdev = (sn: string) => `${t.root}/${sn}/fromdev`;
  const nowS = () => Math.floor(Date.now() / 1000);
  // JSON.stringify writes NUL as the escape \u0000, exactly what a device's JSON would carry.
  const send = (sn: string, msg: Body) =>
    probe.publish(fromdev(sn), JSON.stringify({ sn, ts: nowS(), ...msg }));

  /** A managed concentrator that has announced itself with hostile strings. */
  const announced = async () => {
    const sn = await t.register();
    await send(sn, {
      type: 'config_request',
      fw: '1.0\u0000evil',
      model: 'RJ\u0000C8\u202e\ud800',
      lines: 4,
      io: 'eth',
    });
    await waitFor(
      async () => (await t.api().get(`/api/v1/concentrators/${sn}`)).body.fw === '1.0evil',
      10_000,
      'config_request stored',
    );
    return sn;
  };

  const query = async (sn: string) =>
    (await t.api().post(`/api/v1/concentrators/${sn}/query`).send({ what: 'status' }).expect(202))
      .body.id as string;

  const settledCommand = async (id: string) => {
    let body: Body = {};
    await waitFor(
      async () => {
        body = (await t.api().get(`/api/v1/commands/${id}`).expect(200)).body as Body;
        return body.state !== 'sent';
      },
      15_000,
      `command ${id} settled`,
    );
    return body;
  };

  it('config_request: fw and model stored without NUL and controls, the same in memory as in the table', async () => {
    const before = await quiet(t);
    const sn = await announced();
    const [row] = await t.query<{ fw: string; model: string; line_count: number }>(
      'SELECT fw, model, line_count FROM concentrators WHERE sn = $1',
      [sn],
    );
    expect(row).toEqual({ fw: '1.0evil', model: 'RJC8', line_count: 4 });
    expect(t.app.get(ConcentratorRegistry).get(sn)).toMatchObject({ fw: '1.0evil', lineCount: 4 });
    const after = await settled(t, before, 1);
    expect(delta(before, after)).toEqual({ received: 1, accepted: 1, rejected: {}, dropped: {} });
  }, 30_000);

  it('ack with code 3000000000 and msg "breaker\\u0000timeout" settles the command as failed, not timeout', async () => {
    const sn = await announced();
    const before = await quiet(t);
    const id = await query(sn);
    await send(sn, { type: 'ack', id, ok: false, code: 3000000000, msg: 'breaker\u0000timeout' });
    expect(await settledCommand(id)).toMatchObject({
      state: 'failed',
      ackCode: 3000000000,
      ackMsg: 'breakertimeout',
    });

    // The other end of the 32-bit range, a lone surrogate and a control character.
    const id2 = await query(sn);
    await send(sn, { type: 'ack', id: id2, ok: true, code: -2147483648, msg: 'ok\ud800\u0007' });
    expect(await settledCommand(id2)).toMatchObject({
      state: 'acked',
      ackCode: -2147483648,
      ackMsg: 'ok',
    });

    // A late ack of a settled command keeps its own (unsigned 32-bit) code beside the state.
    await send(sn, { type: 'ack', id, ok: true, code: 4294967295, msg: 'late\u0000' });
    await waitFor(
      async () => (await t.api().get(`/api/v1/commands/${id}`)).body.lateAck !== null,
      10_000,
      'late ack recorded',
    );
    expect((await t.api().get(`/api/v1/commands/${id}`)).body).toMatchObject({
      state: 'failed',
      lateAck: { ok: true, code: 4294967295, msg: 'late' },
    });

    const after = await settled(t, before, 3);
    expect(delta(before, after)).toEqual({ received: 3, accepted: 3, rejected: {}, dropped: {} });
  }, 45_000);

  it('an ack code beyond 32 bits is refused by the decoder, counted as invalid_payload naming the field', async () => {
    const sn = await announced();
    const before = await quiet(t);
    const id = await query(sn);
    await send(sn, { type: 'ack', id, ok: true, code: 2 ** 32 });
    await send(sn, { type: 'ack', id, ok: true, code: 0 });
    expect(await settledCommand(id)).toMatchObject({ state: 'acked', ackCode: 0 });
    const after = await settled(t, before, 2);
    expect(delta(before, after)).toEqual({
      received: 2,
      accepted: 1,
      rejected: { invalid_payload: 1 },
      dropped: {},
    });
    await t.flush();
    const [rej] = await t.query<{ field: string }>(
      `SELECT field FROM rejections WHERE sn = $1 AND reason = 'invalid_payload'`,
      [sn],
    );
    expect(rej).toEqual({ field: 'code' });
  }, 30_000);

  it('telemetry with a value that underflows real is stored as 0 and does not sink the batch it shares', async () => {
    const a = await announced();
    const b = await t.register(newSerial());
    const before = await quiet(t);
    const ts = nowS() - 5;
    await send(a, { type: 'telemetry', ts, lines: [{ line: 1, voltage_v: 1e-50, pf: -1e-50 }] });
    await send(b, { type: 'telemetry', ts, lines: [{ line: 1, voltage_v: 230.5 }] });
    await settled(t, before, 2);
    await t.flush();
    const rows = await t.query<{ sn: string; voltage_v: number; pf: number | null }>(
      'SELECT sn, voltage_v, pf FROM telemetry WHERE sn = ANY($1) ORDER BY voltage_v',
      [[a, b]],
    );
    expect(rows).toEqual([
      { sn: a, voltage_v: 0, pf: 0 },
      { sn: b, voltage_v: 230.5, pf: null },
    ]);
    const health = (await t.http().get('/health')).body;
    expect(health.ingest.rows.dropped).toEqual({});
    expect(health.ingest.rows.messagesLost).toEqual({});
  }, 30_000);

  it('every message of this file is accounted for, the same in /health and /metrics', async () => {
    await t.flush();
    const m = await exportedCountsAgree(t);
    // 1 + 4 + 3 + 3 messages published by the tests above.
    expect(m.received).toBe(11);
    expect(m.dropped).toEqual({});
  }, 20_000);
});
