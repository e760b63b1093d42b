import { bootTestApp, newSerial, TestApp } from './support/test-app';

const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();
const at = (s: string) => Date.parse(s);
const flat = (p: number) => Array.from({ length: 24 }, () => p);
/** Price of local hour h = h cents: which local hour a kWh was priced at shows in the cost. */
const BY_HOUR = Array.from({ length: 24 }, (_, h) => h / 100);

/** Europe/Berlin local midnights around the 2024 DST changes (UTC instants). */
const MAR_30 = at('2024-03-29T23:00:00Z');
const MAR_31 = at('2024-03-30T23:00:00Z'); // 23 hours: 02:00 local does not exist
const APR_01 = at('2024-03-31T22:00:00Z');
const OCT_27 = at('2024-10-26T22:00:00Z'); // 25 hours: 02:00 local comes twice
const OCT_28 = at('2024-10-27T23:00:00Z');
const OCT_29 = at('2024-10-28T23:00:00Z');

const tariffBody = (extra: Record<string, unknown> = {}) => ({
  name: 'Residential ToU',
  currency: 'EUR',
  tz: 'Europe/Berlin',
  rates: [
    // Given out of order: stored sorted.
    { effectiveFrom: '2024-10-28', pricePerKwh: flat(0.5) },
    { effectiveFrom: '2024-03-31', pricePerKwh: BY_HOUR },
  ],
  ...extra,
});

describe('tariffs and energy cost (real PostgreSQL)', () => {
  let t: TestApp;
  let own: string; // its own tariff, and a site with another one
  let bySite: string; // only its site has a tariff
  let none: string; // no tariff at all
  const tokens = {} as Record<'viewer' | 'operator', string>;

  beforeAll(async () => {
    t = await bootTestApp();
    own = await t.register(undefined, { site: 'campus-north' });
    bySite = await t.register(undefined, { site: 'campus-north' });
    none = await t.register(undefined, { site: 'campus-south' });
    for (const role of ['viewer', 'operator'] as const) {
      const res = await t
        .api()
        .post('/api/v1/tokens')
        .send({ name: `e2e-${role}`, role });
      expect(res.status).toBe(201);
      tokens[role] = res.body.token;
    }
    // Readings 30 min past each UTC hour (old dates: written directly, the device clock
    // rule only trusts the last 7 days). Line 1 counts 1 kWh per reading; line 2 counts
    // 2 kWh per reading but its breaker is swapped at 2024-10-27T10:30Z (11:30 local): the
    // counter restarts at 1, which counts as 1 kWh.
    const series = (fromIso: string, toIso: string) => {
      const out: number[] = [];
      for (let ms = at(fromIso); ms <= at(toIso); ms += HOUR) out.push(ms);
      return out;
    };
    const rows: [string, number, string, number][] = [];
    const spring = series('2024-03-29T20:30:00Z', '2024-03-31T23:30:00Z');
    spring.forEach((ms, k) => rows.push([own, 1, iso(ms), k]));
    const autumn = series('2024-10-25T21:30:00Z', '2024-10-28T23:30:00Z');
    const swap = autumn.indexOf(at('2024-10-27T10:30:00Z'));
    autumn.forEach((ms, k) => {
      rows.push([own, 1, iso(ms), 5000 + k]);
      rows.push([own, 2, iso(ms), k < swap ? 1000 + 2 * k : 1 + 2 * (k - swap)]);
      rows.push([bySite, 1, iso(ms), 3 * k]);
    });
    await t.query(
      `INSERT INTO telemetry (sn, line, ts, received_at, energy_kwh)
       SELECT u.sn, u.line, u.ts, u.ts, u.kwh
         FROM unnest($1::text[], $2::int2[], $3::timestamptz[], $4::float8[]) AS u(sn, line, ts, kwh)`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
  }, 40_000);
  afterAll(() => t?.close(), 30_000);

  describe('PUT / GET /api/v1/tariffs/{id}', () => {
    it('creates and replaces a tariff idempotently, audited as tariff.put', async () => {
      const body = tariffBody({ tz: 'europe/berlin', concentrators: [own] });
      const first = await t.api().put('/api/v1/tariffs/home-tou').send(body);
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({
        id: 'home-tou',
        name: 'Residential ToU',
        currency: 'EUR',
        tz: 'Europe/Berlin',
        concentrators: [own],
        sites: [],
        updatedBy: 'bootstrap-admin',
      });
      expect(first.body.rates.map((r: { effectiveFrom: string }) => r.effectiveFrom)).toEqual([
        '2024-03-31',
        '2024-10-28',
      ]);
      expect(first.body.rates[0].pricePerKwh).toEqual(BY_HOUR);

      const again = await t.api().put('/api/v1/tariffs/home-tou').send(body);
      expect(again.status).toBe(200);
      const { updatedAt: _u1, ...a } = first.body;
      const { updatedAt: _u2, ...b } = again.body;
      expect(b).toEqual(a);

      const got = await t.api().get('/api/v1/tariffs/home-tou').expect(200);
      expect(got.body).toEqual(again.body);
      const list = await t.api().get('/api/v1/tariffs').expect(200);
      expect(list.body).toMatchObject({ total: 1, limit: 50, offset: 0 });
      expect(list.body.items).toEqual([again.body]);

      const audit = await t
        .api()
        .get('/api/v1/audit?action=tariff.put&target=home-tou&limit=10')
        .expect(200);
      const entries = audit.body.items as {
        outcome: string;
        statusCode: number | null;
        detail: Record<string, unknown>;
      }[];
      expect(entries).toHaveLength(2);
      expect(entries.map((e) => [e.outcome, e.detail.created])).toEqual([
        ['ok', false],
        ['ok', true],
      ]);
      expect(entries[1].detail).toMatchObject({
        currency: 'EUR',
        effectiveFrom: ['2024-10-28', '2024-03-31'],
        concentrators: [own],
      });
    }, 20_000);

    it('assigns by site; a serial or site of another tariff is a 409', async () => {
      const site = await t
        .api()
        .put('/api/v1/tariffs/campus')
        .send({
          currency: 'EUR',
          tz: 'Europe/Berlin',
          rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: flat(0.1) }],
          sites: [' campus-north '],
        });
      expect(site.status).toBe(200);
      expect(site.body).toMatchObject({ name: null, sites: ['campus-north'], concentrators: [] });

      const taken = await t
        .api()
        .put('/api/v1/tariffs/other')
        .send({ ...tariffBody(), concentrators: [own, newSerial()], sites: ['campus-north'] });
      expect(taken.status).toBe(409);
      expect(taken.body.message).toEqual(
        expect.arrayContaining([
          `concentrator ${own} is assigned to tariff home-tou: remove it there first`,
          'site campus-north is assigned to tariff campus: remove it there first',
        ]),
      );
      await t.api().get('/api/v1/tariffs/other').expect(404);
      const refused = await t.api().get('/api/v1/audit?action=tariff.put&target=other').expect(200);
      expect(refused.body.items).toEqual([
        expect.objectContaining({ outcome: 'refused', statusCode: 409 }),
      ]);
    }, 20_000);

    it('refuses bad input with 400 and a message that names the problem', async () => {
      const put = (id: string, body: object) => t.api().put(`/api/v1/tariffs/${id}`).send(body);
      const cases: [string, object, RegExp][] = [
        ['Bad_Id', tariffBody(), /tariff id must be a slug/],
        ['-lead', tariffBody(), /tariff id must be a slug/],
        ['x'.repeat(65), tariffBody(), /tariff id must be a slug/],
        ['bad', tariffBody({ currency: 'eur' }), /currency must be an ISO 4217 code/],
        ['bad', tariffBody({ currency: 'ABC' }), /currency must be an ISO 4217 code/],
        ['bad', tariffBody({ tz: 'Mars/Olympus' }), /tz must be a valid IANA time-zone/],
        ['bad', tariffBody({ rates: [] }), /rates must hold at least one rate period/],
        ['bad', tariffBody({ rates: 'flat' }), /rates/],
        [
          'bad',
          tariffBody({ rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: flat(1).slice(1) }] }),
          /rates\.0\.pricePerKwh must hold 24 prices/,
        ],
        [
          'bad',
          tariffBody({
            rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: [-1, ...flat(1).slice(1)] }],
          }),
          /rates\.0\.pricePerKwh must hold prices of 0 or more/,
        ],
        [
          'bad',
          tariffBody({
            rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: [2e6, ...flat(1).slice(1)] }],
          }),
          /rates\.0\.pricePerKwh must hold prices of at most 1000000/,
        ],
        [
          'bad',
          tariffBody({
            rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: ['0.2', ...flat(1).slice(1)] }],
          }),
          /rates\.0\.pricePerKwh must hold finite numbers only/,
        ],
        [
          'bad',
          tariffBody({ rates: [{ effectiveFrom: '2024-02-30', pricePerKwh: flat(1) }] }),
          /rates\.0\.effectiveFrom must be a date YYYY-MM-DD/,
        ],
        [
          'bad',
          tariffBody({
            rates: [
              { effectiveFrom: '2024-01-01', pricePerKwh: flat(1) },
              { effectiveFrom: '2024-01-01', pricePerKwh: flat(2) },
            ],
          }),
          /effectiveFrom 2024-01-01 appears more than once/,
        ],
        [
          'bad',
          tariffBody({ concentrators: ['12345'] }),
          /concentrators must hold serials of 12 digits/,
        ],
        ['bad', tariffBody({ sites: ['a', 'a'] }), /sites must not repeat a site/],
        ['bad', tariffBody({ sites: [''] }), /sites must hold names of 1 to 100 characters/],
        ['bad', tariffBody({ vat: 19 }), /property vat should not exist/],
        [
          'bad',
          tariffBody({ rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: flat(1), night: 1 }] }),
          /rates\.0\.property night should not exist/,
        ],
      ];
      for (const [id, body, message] of cases) {
        const res = await put(id, body);
        const text = JSON.stringify(res.body.message);
        expect({ id, body, status: res.status, ok: message.test(text) }).toEqual({
          id,
          body,
          status: 400,
          ok: true,
        });
      }
      // An infinite price cannot be written in JSON, but 1e999 parses to Infinity.
      const inf = await t
        .api()
        .put('/api/v1/tariffs/bad')
        .set('Content-Type', 'application/json')
        .send(JSON.stringify(tariffBody()).replace('"pricePerKwh":[0.5,', '"pricePerKwh":[1e999,'));
      expect(inf.status).toBe(400);
      await t.api().get('/api/v1/tariffs/bad').expect(404);
      await t.api().get('/api/v1/tariffs/Bad').expect(400);
    }, 30_000);

    it('lets a viewer read, an operator write, and refuses a viewer writing', async () => {
      const as = (role: 'viewer' | 'operator') => `Bearer ${tokens[role]}`;
      await t.http().get('/api/v1/tariffs/home-tou').set('Authorization', as('viewer')).expect(200);
      await t.http().get('/api/v1/tariffs').set('Authorization', as('viewer')).expect(200);
      await t
        .http()
        .put('/api/v1/tariffs/viewer-try')
        .set('Authorization', as('viewer'))
        .send(tariffBody())
        .expect(403);
      const ok = await t
        .http()
        .put('/api/v1/tariffs/operator-made')
        .set('Authorization', as('operator'))
        .send(tariffBody())
        .expect(200);
      expect(ok.body.updatedBy).toMatch(/^e2e-operator/);
    }, 20_000);
  });

  describe('energy with cost=true', () => {
    const energy = (sn: string, query: string) =>
      t.api().get(`/api/v1/concentrators/${sn}/energy?${query}`);

    it('prices the 25-hour day (clocks back) hour by local hour, across a counter reset', async () => {
      const q = `from=${iso(OCT_27)}&to=${iso(OCT_29)}&period=day`;
      const r = await energy(own, `${q}&cost=true`).expect(200);
      expect(r.body).toMatchObject({
        sn: own,
        period: 'day',
        tz: 'Europe/Berlin',
        tariff: { id: 'home-tou', currency: 'EUR', tz: 'Europe/Berlin', via: 'concentrator' },
        unpricedKwh: 0,
      });
      // Oct 27: 25 readings of 1 kWh at local hours 0, 1, 2, 2, 3 … 23 (prices 0.00 … 0.23);
      // line 2 counts 2 kWh each, except 1 kWh at the swap (11:30 local, 0.11).
      // Oct 28: the second rate period (0.50 flat) from local midnight.
      expect(r.body.items).toEqual([
        { periodStart: iso(OCT_27), line: 1, kwh: 25, resets: 0, readings: 25, cost: 2.78 },
        { periodStart: iso(OCT_27), line: 2, kwh: 49, resets: 1, readings: 25, cost: 5.45 },
        { periodStart: iso(OCT_28), line: 1, kwh: 24, resets: 0, readings: 24, cost: 12 },
        { periodStart: iso(OCT_28), line: 2, kwh: 48, resets: 0, readings: 24, cost: 24 },
      ]);
      expect((OCT_28 - OCT_27) / HOUR).toBe(25);
      expect(r.body.totalKwh).toBe(146);
      expect(r.body.totalCost).toBe(44.23);
      // The same periods and kWh as without cost, aligned to the same zone.
      const plain = await energy(own, `${q}&tz=Europe/Berlin`).expect(200);
      expect(plain.body.items).toEqual(
        r.body.items.map(({ cost: _c, ...i }: { cost: number }) => i),
      );
      // Hour by hour, the repeated 02:00 local hour is two periods: 25 on that day.
      const byHour = await energy(
        own,
        `from=${iso(OCT_27)}&to=${iso(OCT_28)}&period=hour&line=1&tz=Europe/Berlin`,
      ).expect(200);
      expect(byHour.body.items).toHaveLength(25);
      expect(
        new Set(byHour.body.items.map((i: { periodStart: string }) => i.periodStart)).size,
      ).toBe(25);
      expect(plain.body).not.toHaveProperty('totalCost');
      // Hourly items sum to the same.
      const hourly = await energy(
        own,
        `from=${iso(OCT_27)}&to=${iso(OCT_28)}&period=hour&line=1&cost=true`,
      ).expect(200);
      const sum = (hourly.body.items as { cost: number }[]).reduce((s, i) => s + i.cost, 0);
      expect(Number(sum.toFixed(6))).toBe(2.78);
      expect(hourly.body.totalCost).toBe(2.78);
    }, 20_000);

    it('prices the 23-hour day (clocks forward), and leaves energy before the first rate unpriced', async () => {
      const r = await energy(own, `from=${iso(MAR_30)}&to=${iso(APR_01)}&cost=true`).expect(200);
      // Mar 30 has no rate in effect (the first starts Mar 31). Mar 31: 23 readings of
      // 1 kWh, at local hours 0, 1, 3 … 23.
      expect(r.body.items).toEqual([
        { periodStart: iso(MAR_30), line: 1, kwh: 24, resets: 0, readings: 24, cost: null },
        { periodStart: iso(MAR_31), line: 1, kwh: 23, resets: 0, readings: 23, cost: 2.74 },
      ]);
      expect(r.body).toMatchObject({ totalKwh: 47, totalCost: null, unpricedKwh: 24 });
      expect((APR_01 - MAR_31) / HOUR).toBe(23);
    }, 20_000);

    it("uses the site's tariff when the concentrator has none of its own", async () => {
      const r = await energy(bySite, `from=${iso(OCT_27)}&to=${iso(OCT_28)}&cost=true`).expect(200);
      expect(r.body.tariff).toMatchObject({ id: 'campus', via: 'site' });
      expect(r.body.items).toEqual([
        { periodStart: iso(OCT_27), line: 1, kwh: 75, resets: 0, readings: 25, cost: 7.5 },
      ]);
    }, 20_000);

    it('answers 409 no_tariff without a tariff, and 400 for another zone', async () => {
      const r = await energy(none, 'cost=true').expect(409);
      expect(r.body).toMatchObject({ statusCode: 409, code: 'no_tariff' });
      expect(r.body.message).toBe(
        `no tariff applies to concentrator ${none} or its site campus-south: assign one with PUT /api/v1/tariffs/{id}`,
      );
      const tz = await energy(own, 'cost=true&tz=UTC').expect(400);
      expect(tz.body.message).toMatch(
        /tariff home-tou \(Europe\/Berlin\): omit tz or pass tz=Europe\/Berlin/,
      );
      await energy(own, `cost=true&tz=europe/berlin&from=${iso(OCT_27)}&to=${iso(OCT_28)}`).expect(
        200,
      );
      await energy(own, 'cost=yes').expect(400);
    }, 20_000);

    it('carries cost and currency in CSV', async () => {
      const r = await energy(own, `from=${iso(OCT_27)}&to=${iso(OCT_29)}&line=1&cost=true`)
        .set('Accept', 'text/csv')
        .expect(200);
      expect(r.headers['content-type']).toMatch(/^text\/csv/);
      expect(r.text.split('\r\n')).toEqual([
        'periodStart,line,kwh,resets,readings,cost,currency',
        `${iso(OCT_27)},1,25,0,25,2.78,EUR`,
        `${iso(OCT_28)},1,24,0,24,12,EUR`,
        '',
      ]);
    }, 20_000);
  });

  describe('GET …/statement', () => {
    const statement = (sn: string, query: string) =>
      t.api().get(`/api/v1/concentrators/${sn}/statement?${query}`);

    it('gives kWh and cost per local day, per line and for the concentrator, with line names', async () => {
      await t
        .api()
        .patch(`/api/v1/concentrators/${own}/lines/2`)
        .send({ name: 'heat pump' })
        .expect(200);
      const r = await statement(own, `from=${iso(OCT_27)}&to=${iso(OCT_29)}`).expect(200);
      expect(r.body).toMatchObject({
        sn: own,
        site: 'campus-north',
        currency: 'EUR',
        period: 'day',
        tz: 'Europe/Berlin',
        tariff: { id: 'home-tou', via: 'concentrator' },
        totalKwh: 146,
        totalCost: 44.23,
        unpricedKwh: 0,
      });
      expect(r.body.periods).toEqual([
        {
          label: '2024-10-27',
          periodStart: iso(OCT_27),
          kwh: 74,
          cost: 8.23,
          lines: [
            { line: 1, name: null, kwh: 25, cost: 2.78 },
            { line: 2, name: 'heat pump', kwh: 49, cost: 5.45 },
          ],
        },
        {
          label: '2024-10-28',
          periodStart: iso(OCT_28),
          kwh: 72,
          cost: 36,
          lines: [
            { line: 1, name: null, kwh: 24, cost: 12 },
            { line: 2, name: 'heat pump', kwh: 48, cost: 24 },
          ],
        },
      ]);
      expect(r.body.lines).toEqual([
        { line: 1, name: null, kwh: 49, cost: 14.78 },
        { line: 2, name: 'heat pump', kwh: 97, cost: 29.45 },
      ]);
    }, 20_000);

    it('sums a local month, equal to its days', async () => {
      const from = at('2024-09-30T22:00:00Z');
      const to = at('2024-10-31T23:00:00Z');
      const month = await statement(own, `period=month&from=${iso(from)}&to=${iso(to)}`).expect(
        200,
      );
      expect(month.body.periods).toHaveLength(1);
      expect(month.body.periods[0]).toMatchObject({ label: '2024-10', periodStart: iso(from) });
      const days = await statement(own, `period=day&from=${iso(from)}&to=${iso(to)}`).expect(200);
      // The readings run from 23:30 local on Oct 25 to 00:30 local on Oct 29.
      expect(days.body.periods.map((p: { label: string }) => p.label)).toEqual([
        '2024-10-25',
        '2024-10-26',
        '2024-10-27',
        '2024-10-28',
        '2024-10-29',
      ]);
      expect(month.body.totalKwh).toBe(days.body.totalKwh);
      expect(month.body.totalCost).toBe(days.body.totalCost);
      expect(month.body.periods[0].lines).toEqual(days.body.lines);
    }, 20_000);

    it('answers CSV: per period the lines, then the concentrator total with an empty line', async () => {
      const r = await statement(own, `from=${iso(OCT_27)}&to=${iso(OCT_28)}`)
        .set('Accept', 'text/csv')
        .expect(200);
      expect(r.headers['content-type']).toMatch(/^text\/csv/);
      expect(r.text.split('\r\n')).toEqual([
        'day,periodStart,line,lineName,kwh,cost,currency',
        `2024-10-27,${iso(OCT_27)},1,,25,2.78,EUR`,
        `2024-10-27,${iso(OCT_27)},2,heat pump,49,5.45,EUR`,
        `2024-10-27,${iso(OCT_27)},,,74,8.23,EUR`,
        '',
      ]);
    }, 20_000);

    it('refuses a bad period or zone parameter, and answers 409 without a tariff', async () => {
      await statement(own, 'period=hour').expect(400);
      await statement(own, 'tz=UTC').expect(400);
      const r = await statement(none, '').expect(409);
      expect(r.body.code).toBe('no_tariff');
      await statement(newSerial(), '').expect(404);
    }, 20_000);
  });
});
