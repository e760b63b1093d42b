import { bootTestApp, newSerial, TestApp, waitFor } from './support/test-app';

interface AlarmBody {
  id: string;
  sn: string;
  line: number;
  code: string;
  active: boolean;
  raisedAt: string | null;
  raisedValue: number | null;
  lastAt: string | null;
  lastValue: number | null;
  lastLimit: number | null;
  repeatCount: number;
  clearedAt: string | null;
  clearValue: number | null;
  unmatchedClear: boolean;
  ackedAt: string | null;
  ackedBy: string | null;
  ackNote: string | null;
}

describe('alarms and device events (real broker, real PostgreSQL)', () => {
  let t: TestApp;
  const iso = (s: number) => new Date(s * 1000).toISOString();

  const managedDevice = async (lines = 4) => {
    const d = t.simulator({ sn: await t.register(), lines });
    await d.start();
    return d;
  };
  const alarms = async (query: string): Promise<{ items: AlarmBody[]; total: number }> => {
    const r = await t.api().get(`/api/v1/alarms?${query}`);
    expect(r.status).toBe(200);
    return r.body;
  };
  const until = async (query: string, pred: (items: AlarmBody[]) => boolean, what: string) => {
    await waitFor(async () => pred((await alarms(query)).items), 10_000, what);
    return (await alarms(query)).items;
  };

  beforeAll(async () => {
    t = await bootTestApp({ env: { RATE_LIMIT_PER_MIN: '100000' } });
  }, 30_000);
  afterAll(async () => {
    await t?.close();
  }, 30_000);

  it('raises, repeats (count, last value) and clears one alarm per sn+line+code at device time', async () => {
    const d = await managedDevice();
    const now = Math.floor(Date.now() / 1000);
    await d.publish({
      type: 'alarm',
      ts: now - 330,
      line: 3,
      code: 'leakage',
      active: true,
      value: 32.5,
      limit: 30,
    });
    const [raised] = await until(`sn=${d.sn}&active=true`, (i) => i.length === 1, 'alarm raised');
    expect(raised).toMatchObject({
      sn: d.sn,
      line: 3,
      code: 'leakage',
      active: true,
      raisedAt: iso(now - 330),
      raisedValue: 32.5,
      lastAt: iso(now - 330),
      lastValue: 32.5,
      lastLimit: 30,
      repeatCount: 0,
      clearedAt: null,
      unmatchedClear: false,
      ackedAt: null,
    });

    await d.publish({
      type: 'alarm',
      ts: now - 320,
      line: 3,
      code: 'leakage',
      active: true,
      value: 35,
    });
    await d.publish({
      type: 'alarm',
      ts: now - 315,
      line: 3,
      code: 'leakage',
      active: true,
      value: 36.5,
      limit: 31,
    });
    const [repeated] = await until(`sn=${d.sn}`, (i) => i[0]?.repeatCount === 2, 'two repeats');
    expect(repeated).toMatchObject({
      id: raised.id,
      active: true,
      raisedAt: iso(now - 330),
      raisedValue: 32.5,
      lastAt: iso(now - 315),
      lastValue: 36.5,
      lastLimit: 31,
    });
    expect((await alarms(`sn=${d.sn}`)).total).toBe(1);

    // The partial unique index itself refuses a second open row for the same key.
    await expect(
      t.query(
        `INSERT INTO alarms (sn, line, code, active, raised_at, last_at) VALUES ($1, 3, 'leakage', true, now(), now())`,
        [d.sn],
      ),
    ).rejects.toThrow(/alarms_open_uq/);

    await d.publish({
      type: 'alarm',
      ts: now - 310,
      line: 3,
      code: 'leakage',
      active: false,
      value: 4,
    });
    const [cleared] = await until(
      `sn=${d.sn}&active=false`,
      (i) => i.length === 1,
      'alarm cleared',
    );
    expect(cleared).toMatchObject({
      id: raised.id,
      active: false,
      clearedAt: iso(now - 310),
      clearValue: 4,
      repeatCount: 2,
      lastValue: 36.5,
      unmatchedClear: false,
    });
    expect((await alarms(`sn=${d.sn}&active=true`)).total).toBe(0);

    // Raised again longer than ALARM_REOPEN_S after its clear: a new episode.
    await d.publish({
      type: 'alarm',
      ts: now - 5,
      line: 3,
      code: 'leakage',
      active: true,
      value: 31,
    });
    const [again] = await until(`sn=${d.sn}&active=true`, (i) => i.length === 1, 'raised again');
    expect(again.id).not.toBe(raised.id);
    expect(again).toMatchObject({ repeatCount: 0, raisedAt: iso(now - 5) });

    // Chattering: cleared and raised again within ALARM_REOPEN_S reopens that episode.
    await d.publish({ type: 'alarm', ts: now - 4, line: 3, code: 'leakage', active: false });
    await until(`sn=${d.sn}&active=true`, (i) => i.length === 0, 'cleared again');
    await d.publish({ type: 'alarm', ts: now - 3, line: 3, code: 'leakage', active: true });
    const [reopened] = await until(`sn=${d.sn}&active=true`, (i) => i.length === 1, 'reopened');
    expect(reopened).toMatchObject({
      id: again.id,
      repeatCount: 1,
      raisedAt: iso(now - 5),
      clearedAt: null,
    });
    expect((await alarms(`sn=${d.sn}`)).total).toBe(2);

    const one = await t.api().get(`/api/v1/alarms/${raised.id}`).expect(200);
    expect(one.body).toMatchObject({ id: raised.id, active: false, clearValue: 4 });
  }, 45_000);

  it('keeps a clear with nothing open as a closed, flagged row that opens nothing', async () => {
    const d = await managedDevice();
    await d.publishAlarm({ line: 0, code: 'breaker_comm', active: false });
    const [row] = await until(`sn=${d.sn}`, (i) => i.length === 1, 'unmatched clear recorded');
    expect(row).toMatchObject({
      line: 0,
      code: 'breaker_comm',
      active: false,
      unmatchedClear: true,
      raisedAt: null,
      repeatCount: 0,
    });
    expect(row.clearedAt).not.toBeNull();
    expect((await alarms(`sn=${d.sn}&active=true`)).total).toBe(0);
    // A later raise of the same key is a normal open alarm.
    await d.publishAlarm({ line: 0, code: 'breaker_comm', active: true });
    await until(
      `sn=${d.sn}&active=true`,
      (i) => i.length === 1 && !i[0].unmatchedClear,
      'raise after unmatched clear',
    );
  }, 30_000);

  it('filters the list by active, sn, code and line, newest first, paginated', async () => {
    const a = await managedDevice();
    const b = await managedDevice();
    await a.publishAlarm({ line: 1, code: 'overvoltage', active: true, value: 265, limit: 253 });
    await a.publishAlarm({ line: 2, code: 'overtemp', active: true, value: 90, limit: 85 });
    await a.publishAlarm({ line: 2, code: 'overtemp', active: false, value: 70 });
    await until(`sn=${a.sn}`, (i) => i.length === 2 && i.some((x) => !x.active), 'a alarms');
    await b.publishAlarm({ line: 1, code: 'overvoltage', active: true, value: 260, limit: 253 });
    await until(`sn=${b.sn}`, (i) => i.length === 1, 'b alarm');

    const aOpen = await alarms(`sn=${a.sn}&active=true`);
    expect(aOpen.items.map((x) => x.code)).toEqual(['overvoltage']);
    const aClosed = await alarms(`sn=${a.sn}&active=false`);
    expect(aClosed.items.map((x) => x.code)).toEqual(['overtemp']);
    const line2 = await alarms(`sn=${a.sn}&line=2`);
    expect(line2.items.map((x) => [x.line, x.code])).toEqual([[2, 'overtemp']]);
    const ov = await alarms('code=overvoltage&active=true&limit=1000');
    const sns = ov.items.map((x) => x.sn);
    expect(sns).toEqual(expect.arrayContaining([a.sn, b.sn]));
    expect(ov.items.every((x) => x.code === 'overvoltage' && x.active)).toBe(true);
    // Newest first: b's alarm was stored after a's.
    expect(sns.indexOf(b.sn)).toBeLessThan(sns.indexOf(a.sn));
    const page = await alarms(`sn=${a.sn}&limit=1&offset=1`);
    expect(page).toMatchObject({ total: 2, limit: 1, offset: 1 });
    expect(page.items).toHaveLength(1);

    for (const bad of ['active=maybe', 'code=bogus', 'line=65', 'sn=123', 'colour=red']) {
      expect((await t.api().get(`/api/v1/alarms?${bad}`)).status).toBe(400);
    }
    expect((await t.http().get('/api/v1/alarms')).status).toBe(401);
  }, 30_000);

  it('acks once (who, when, note), keeps the first ack on a repeat, audits both, 404 for unknown', async () => {
    const d = await managedDevice();
    await d.publishAlarm({ line: 4, code: 'overload', active: true, value: 40, limit: 32 });
    const [open] = await until(`sn=${d.sn}`, (i) => i.length === 1, 'alarm to ack');
    expect((await alarms(`sn=${d.sn}&acked=false`)).total).toBe(1);

    const before = Date.now();
    const first = await t
      .api()
      .post(`/api/v1/alarms/${open.id}/ack`)
      .send({ note: 'crew sent' })
      .expect(200);
    expect(first.body).toMatchObject({
      id: open.id,
      ackedBy: 'bootstrap-admin',
      ackNote: 'crew sent',
      active: true,
    });
    const ackedAt = Date.parse(first.body.ackedAt);
    expect(ackedAt).toBeGreaterThanOrEqual(before - 1000);
    expect(ackedAt).toBeLessThanOrEqual(Date.now() + 1000);

    const second = await t
      .api()
      .post(`/api/v1/alarms/${open.id}/ack`)
      .send({ note: 'again' })
      .expect(200);
    expect(second.body).toMatchObject({
      ackedAt: first.body.ackedAt,
      ackNote: 'crew sent',
      ackedBy: 'bootstrap-admin',
    });
    // No body at all is fine too.
    await t.api().post(`/api/v1/alarms/${open.id}/ack`).expect(200);
    expect((await alarms(`sn=${d.sn}&acked=true`)).items.map((x) => x.id)).toEqual([open.id]);

    // Acknowledging does not close it: the device still owns the clear.
    await d.publishAlarm({ line: 4, code: 'overload', active: false, value: 10 });
    await until(
      `sn=${d.sn}&active=false`,
      (i) => i.length === 1 && i[0].ackNote === 'crew sent',
      'cleared, ack kept',
    );

    // Roles: a viewer reads but may not ack; an operator may, and is named as the acker.
    const token = async (role: string) =>
      (
        await t
          .api()
          .post('/api/v1/tokens')
          .send({ name: `alarms-${role}`, role })
          .expect(201)
      ).body as {
        id: string;
        token: string;
      };
    const viewer = await token('viewer');
    const operator = await token('operator');
    const as = (tk: string) => `Bearer ${tk}`;
    await t
      .http()
      .get(`/api/v1/alarms/${open.id}`)
      .set('Authorization', as(viewer.token))
      .expect(200);
    await t
      .http()
      .post(`/api/v1/alarms/${open.id}/ack`)
      .set('Authorization', as(viewer.token))
      .send({})
      .expect(403);
    await d.publishAlarm({ line: 1, code: 'arc', active: true });
    const [arc] = await until(`sn=${d.sn}&code=arc`, (i) => i.length === 1, 'second alarm');
    const byOperator = await t
      .http()
      .post(`/api/v1/alarms/${arc.id}/ack`)
      .set('Authorization', as(operator.token))
      .send({})
      .expect(200);
    expect(byOperator.body.ackedBy).toBe(`alarms-operator#${operator.id.slice(0, 8)}`);

    await t.api().post('/api/v1/alarms/999999999/ack').send({}).expect(404);
    await t.api().get('/api/v1/alarms/999999999').expect(404);
    await t.api().post('/api/v1/alarms/abc/ack').send({}).expect(400);
    await t.api().post(`/api/v1/alarms/${open.id}/ack`).send({ note: 'x', extra: 1 }).expect(400);
    await t
      .api()
      .post(`/api/v1/alarms/${open.id}/ack`)
      .send({ note: 'x'.repeat(501) })
      .expect(400);

    const audit = await t.api().get('/api/v1/audit?action=alarm.ack&limit=100').expect(200);
    const mine = audit.body.items.filter(
      (x: { detail: { alarmId: string } }) => x.detail?.alarmId === open.id,
    );
    expect(mine).toHaveLength(3);
    expect(
      mine.map((x: { detail: { alreadyAcked: boolean } }) => x.detail.alreadyAcked).sort(),
    ).toEqual([false, true, true]);
    expect(mine[0]).toMatchObject({ actor: 'bootstrap-admin', target: d.sn, outcome: 'ok' });
    const refused = audit.body.items.find(
      (x: { detail: { alarmId: string } }) => x.detail?.alarmId === '999999999',
    );
    expect(refused).toMatchObject({ outcome: 'refused', statusCode: 404 });
  }, 45_000);

  it('records switch changes with their cause as status events, skipping unchanged repeats', async () => {
    const d = await managedDevice(3);
    const events = async (q = 'kind=status') => {
      const r = await t.api().get(`/api/v1/concentrators/${d.sn}/events?${q}`);
      expect(r.status).toBe(200);
      return r.body as {
        items: { kind: string; line: number | null; at: string; detail: Record<string, unknown> }[];
        total: number;
      };
    };
    // First report of every line (as after `query what=status`): recorded, the state was unknown.
    await d.publishStatus(undefined, 'power_on');
    await waitFor(async () => (await events()).total === 3, 10_000, 'first status recorded');
    // The same states again are not changes.
    await d.publishStatus();
    const ts = d.nowS() + 2;
    await d.publish({ type: 'status', ts, lines: [{ line: 2, on: false, cause: 'leakage' }] });
    await waitFor(async () => (await events()).total === 4, 10_000, 'trip recorded');
    const list = await events();
    expect(list.total).toBe(4);
    expect(list.items[0]).toMatchObject({
      kind: 'status',
      line: 2,
      at: iso(ts),
      detail: { on: false, cause: 'leakage' },
    });
    expect(list.items.slice(1).map((e) => e.detail)).toEqual([
      { on: true, cause: 'power_on' },
      { on: true, cause: 'power_on' },
      { on: true, cause: 'power_on' },
    ]);

    // The latest switch state is still served by the telemetry module.
    await t.flush();
    const latest = await t.api().get(`/api/v1/concentrators/${d.sn}/latest`).expect(200);
    expect(latest.body.lines.find((l: { line: number }) => l.line === 2)).toMatchObject({
      on: false,
    });

    // The event list covers connectivity and registry history too, newest first.
    const all = await events('limit=1000');
    const kinds = all.items.map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['status', 'online', 'created']));
    const times = all.items.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    const conn = await events('kind=online,offline,created');
    expect(new Set(conn.items.map((e) => e.kind))).toEqual(new Set(['online', 'created']));
    expect((await events('kind=status&limit=2&offset=1')).items).toHaveLength(2);

    expect((await t.api().get(`/api/v1/concentrators/${d.sn}/events?kind=Bad-Kind`)).status).toBe(
      400,
    );
    expect((await t.api().get(`/api/v1/concentrators/${newSerial()}/events`)).status).toBe(404);
    expect((await t.api().get('/api/v1/concentrators/12ab/events')).status).toBe(400);
  }, 30_000);
});
