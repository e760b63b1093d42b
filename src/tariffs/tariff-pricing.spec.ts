import {
  HourlyUse,
  RatePeriod,
  TariffPricing,
  checkRates,
  isLocalDate,
  localTimeOf,
  priceUse,
  rateOn,
  roundCost,
  sortedRates,
  zonedMidnight,
} from './tariff-pricing';

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const flat = (p: number) => Array.from({ length: 24 }, () => p);
/** Price = the local hour itself (0 … 23): which hour an energy step was priced at shows in the cost. */
const BY_HOUR = Array.from({ length: 24 }, (_, h) => h);

/** One kWh in each UTC hour of [fromIso, toIso) on line 1. */
function hoursOfOneKwh(fromIso: string, toIso: string, line = 1): HourlyUse[] {
  const out: HourlyUse[] = [];
  for (let t = at(fromIso); t < at(toIso); t += HOUR) {
    out.push({ startMs: t, line, kwh: 1, resets: 0, readings: 1 });
  }
  return out;
}

describe('local dates and rate periods', () => {
  it('accepts real calendar dates only', () => {
    expect(isLocalDate('2024-02-29')).toBe(true);
    expect(isLocalDate('2024-12-31')).toBe(true);
    for (const bad of [
      '2023-02-29',
      '2024-04-31',
      '2024-13-01',
      '2024-00-10',
      '2024-1-01',
      '24-01-01',
      '2024-01-01T00:00:00Z',
      '1999-12-31',
      '2100-01-01',
      20240101,
      null,
    ]) {
      expect({ bad, ok: isLocalDate(bad) }).toEqual({ bad, ok: false });
    }
  });

  const rates: RatePeriod[] = [
    { effectiveFrom: '2024-01-01', pricePerKwh: flat(1) },
    { effectiveFrom: '2024-07-01', pricePerKwh: flat(2) },
    { effectiveFrom: '2025-01-01', pricePerKwh: flat(3) },
  ];

  it('selects the latest period starting on or before the local date, none before the first', () => {
    expect(rateOn(rates, '2023-12-31')).toBeUndefined();
    expect(rateOn(rates, '2024-01-01')?.pricePerKwh[0]).toBe(1);
    expect(rateOn(rates, '2024-06-30')?.pricePerKwh[0]).toBe(1);
    expect(rateOn(rates, '2024-07-01')?.pricePerKwh[0]).toBe(2);
    expect(rateOn(rates, '2024-12-31')?.pricePerKwh[0]).toBe(2);
    expect(rateOn(rates, '2031-05-05')?.pricePerKwh[0]).toBe(3);
  });

  it('sorts periods by date and refuses two on one date', () => {
    const shuffled = [rates[2], rates[0], rates[1]];
    expect(sortedRates(shuffled).map((r) => r.effectiveFrom)).toEqual([
      '2024-01-01',
      '2024-07-01',
      '2025-01-01',
    ]);
    expect(checkRates(rates)).toEqual([]);
    expect(checkRates([...rates, { effectiveFrom: '2024-07-01', pricePerKwh: flat(9) }])).toEqual([
      'rates: effectiveFrom 2024-07-01 appears more than once',
    ]);
  });
});

describe('local hours across DST (Europe/Berlin)', () => {
  const tz = 'Europe/Berlin';

  it('gives the spring-forward day 23 hours: local 02:00 does not exist', () => {
    const start = zonedMidnight('2024-03-31', tz);
    expect(new Date(start).toISOString()).toBe('2024-03-30T23:00:00.000Z');
    const end = zonedMidnight('2024-04-01', tz);
    expect((end - start) / HOUR).toBe(23);
    const hours = [];
    for (let t = start; t < end; t += HOUR) hours.push(localTimeOf(t, tz).hour);
    expect(hours).toEqual([0, 1, ...Array.from({ length: 21 }, (_, i) => i + 3)]);
  });

  it('gives the fall-back day 25 hours: local 02:00 comes twice', () => {
    const start = zonedMidnight('2024-10-27', tz);
    expect(new Date(start).toISOString()).toBe('2024-10-26T22:00:00.000Z');
    const end = zonedMidnight('2024-10-28', tz);
    expect((end - start) / HOUR).toBe(25);
    const hours = [];
    for (let t = start; t < end; t += HOUR) hours.push(localTimeOf(t, tz).hour);
    expect(hours).toEqual([0, 1, 2, 2, ...Array.from({ length: 21 }, (_, i) => i + 3)]);
    expect(localTimeOf(at('2024-10-27T00:30:00Z'), tz)).toMatchObject({
      date: '2024-10-27',
      month: '2024-10',
      hour: 2,
    });
  });

  it('reads a local midnight as PostgreSQL does where it is ambiguous or missing', () => {
    // America/Santiago: clocks go 24:00 → 01:00 on 2024-09-08 (midnight missing) and
    // 24:00 → 23:00 on 2024-04-06 (the hour before midnight repeats). PostgreSQL reads
    // '2024-09-08 00:00' AT TIME ZONE 'America/Santiago' as 04:00Z (offset before the gap).
    expect(new Date(zonedMidnight('2024-09-08', 'America/Santiago')).toISOString()).toBe(
      '2024-09-08T04:00:00.000Z',
    );
    expect(new Date(zonedMidnight('2024-04-07', 'America/Santiago')).toISOString()).toBe(
      '2024-04-07T04:00:00.000Z',
    );
    expect(new Date(zonedMidnight('2024-01-01', 'Asia/Kolkata')).toISOString()).toBe(
      '2023-12-31T18:30:00.000Z',
    );
    expect(new Date(zonedMidnight('2024-01-01', 'UTC')).toISOString()).toBe(
      '2024-01-01T00:00:00.000Z',
    );
  });
});

describe('priceUse', () => {
  const berlin: TariffPricing = {
    tz: 'Europe/Berlin',
    rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: BY_HOUR }],
  };

  it('prices each hour at its local hour: the 23-hour day misses hour 2', () => {
    const hours = hoursOfOneKwh('2024-03-30T23:00:00Z', '2024-03-31T22:00:00Z');
    expect(hours).toHaveLength(23);
    const [day] = priceUse(hours, berlin, 'day');
    expect(day).toMatchObject({ startMs: at('2024-03-30T23:00:00Z'), line: 1, kwh: 23 });
    expect(day.cost).toBe(276 - 2);
    const hourly = priceUse(hours, berlin, 'hour');
    expect(hourly.map((h) => h.cost)).toEqual([
      0,
      1,
      ...Array.from({ length: 21 }, (_, i) => i + 3),
    ]);
  });

  it('prices the 25-hour day with hour 2 twice', () => {
    const hours = hoursOfOneKwh('2024-10-26T22:00:00Z', '2024-10-27T23:00:00Z');
    expect(hours).toHaveLength(25);
    const [day] = priceUse(hours, berlin, 'day');
    expect(day).toMatchObject({ startMs: at('2024-10-26T22:00:00Z'), kwh: 25, readings: 25 });
    expect(day.cost).toBe(276 + 2);
  });

  it('sums a month of days (October 2024 in Berlin: 31 days, 745 hours) per line', () => {
    const tariff: TariffPricing = {
      tz: 'Europe/Berlin',
      rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: flat(0.25) }],
    };
    const hours = [
      ...hoursOfOneKwh('2024-09-30T22:00:00Z', '2024-10-31T23:00:00Z', 1),
      ...hoursOfOneKwh('2024-09-30T22:00:00Z', '2024-10-31T23:00:00Z', 2),
      // the first hour of November, local
      { startMs: at('2024-10-31T23:00:00Z'), line: 1, kwh: 4, resets: 1, readings: 2 },
    ];
    const months = priceUse(hours, tariff, 'month');
    expect(months).toEqual([
      {
        startMs: at('2024-09-30T22:00:00Z'),
        line: 1,
        kwh: 745,
        resets: 0,
        readings: 745,
        cost: 186.25,
        unpricedKwh: 0,
      },
      {
        startMs: at('2024-09-30T22:00:00Z'),
        line: 2,
        kwh: 745,
        resets: 0,
        readings: 745,
        cost: 186.25,
        unpricedKwh: 0,
      },
      {
        startMs: at('2024-10-31T23:00:00Z'),
        line: 1,
        kwh: 4,
        resets: 1,
        readings: 2,
        cost: 1,
        unpricedKwh: 0,
      },
    ]);
    const days = priceUse(hours, tariff, 'day');
    expect(days.filter((d) => d.line === 1)).toHaveLength(32);
    expect(days.find((d) => d.startMs === at('2024-10-26T22:00:00Z') && d.line === 2)?.kwh).toBe(
      25,
    );
  });

  it('uses the rate period of each local date, and leaves hours before the first unpriced', () => {
    const tariff: TariffPricing = {
      tz: 'Europe/Berlin',
      rates: [
        { effectiveFrom: '2024-10-02', pricePerKwh: flat(1) },
        { effectiveFrom: '2024-10-03', pricePerKwh: flat(10) },
      ],
    };
    // Local 2024-10-01 … 2024-10-03 (UTC+2)
    const hours = hoursOfOneKwh('2024-09-30T22:00:00Z', '2024-10-03T22:00:00Z');
    const days = priceUse(hours, tariff, 'day');
    expect(days.map((d) => [d.kwh, d.cost, d.unpricedKwh])).toEqual([
      [24, null, 24],
      [24, 24, 0],
      [24, 240, 0],
    ]);
    const [month] = priceUse(hours, tariff, 'month');
    expect(month).toMatchObject({ kwh: 72, cost: null, unpricedKwh: 24 });
    // The change takes effect at local midnight, 22:00Z the day before.
    const hourly = priceUse(
      hoursOfOneKwh('2024-10-02T21:00:00Z', '2024-10-02T23:00:00Z'),
      tariff,
      'hour',
    );
    expect(hourly.map((h) => h.cost)).toEqual([1, 10]);
  });

  it('follows a half-hour zone (Asia/Kolkata): local hours start at :30 UTC', () => {
    const tariff: TariffPricing = {
      tz: 'Asia/Kolkata',
      rates: [{ effectiveFrom: '2024-01-01', pricePerKwh: BY_HOUR }],
    };
    const hours = hoursOfOneKwh('2023-12-31T18:30:00Z', '2024-01-01T18:30:00Z');
    const [day] = priceUse(hours, tariff, 'day');
    expect(day).toMatchObject({ startMs: at('2023-12-31T18:30:00Z'), kwh: 24, cost: 276 });
  });

  it('returns nothing for no hours and keeps costs exact to 6 decimals', () => {
    expect(priceUse([], berlin, 'month')).toEqual([]);
    expect(roundCost(0.1 + 0.2)).toBe(0.3);
    expect(roundCost(1234.5678901)).toBe(1234.56789);
  });
});
