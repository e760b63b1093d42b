/**
 * Time-of-use pricing, pure: which rate period is in effect on a local date,
 * which local hour an instant falls in (DST included: a day of 23 or 25
 * hours), and the cost of hourly energy summed per hour, day or month of the
 * tariff's zone. No Nest, no database: telemetry feeds it the kWh per hour.
 */

export const HOURS_PER_DAY = 24;
/** A sanity bound per kWh, in any currency (far above any real tariff; catches unit slips like 1e9). */
export const MAX_PRICE_PER_KWH = 1_000_000;
/** Rate periods one tariff may hold (a price change a month for 8 years). */
export const MAX_RATE_PERIODS = 100;
/** Decimals of computed costs, like kWh (precision.ts): 10^-6 of the currency unit. */
export const COST_DECIMALS = 6;

/** One price schedule: from `effectiveFrom` (a date in the tariff's zone) until the next one. */
export interface RatePeriod {
  /** YYYY-MM-DD, the first local day the prices apply. */
  effectiveFrom: string;
  /** Price per kWh for local hours 0 … 23 (index = hour). */
  pricePerKwh: number[];
}

export interface TariffPricing {
  /** IANA zone the hours and dates are local to. */
  tz: string;
  /** Sorted by effectiveFrom, ascending, no two on one date (see checkRates). */
  rates: readonly RatePeriod[];
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A real calendar date in YYYY-MM-DD form, years 2000 … 2099 (the API's timestamp range). */
export function isLocalDate(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  const m = DATE_RE.exec(v);
  if (!m) return false;
  const [y, mo, d] = m.slice(1).map(Number);
  if (y < 2000 || y > 2099 || mo < 1 || mo > 12 || d < 1) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

/**
 * What is wrong with a list of rate periods, one message each; empty when
 * fine. Field-level rules (24 finite prices ≥ 0, the date form) are the DTO's;
 * this adds what spans entries.
 */
export function checkRates(rates: readonly RatePeriod[]): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const r of rates) {
    if (seen.has(r.effectiveFrom)) {
      errors.push(`rates: effectiveFrom ${r.effectiveFrom} appears more than once`);
    }
    seen.add(r.effectiveFrom);
  }
  return errors;
}

/** The periods sorted by effectiveFrom (dates in YYYY-MM-DD sort as text), prices copied. */
export function sortedRates(rates: readonly RatePeriod[]): RatePeriod[] {
  return [...rates]
    .sort((a, b) =>
      a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : 0,
    )
    .map((r) => ({ effectiveFrom: r.effectiveFrom, pricePerKwh: [...r.pricePerKwh] }));
}

/** The period in effect on a local date: the latest one starting on or before it; none before the first. */
export function rateOn(rates: readonly RatePeriod[], localDate: string): RatePeriod | undefined {
  let found: RatePeriod | undefined;
  for (const r of rates) {
    if (r.effectiveFrom <= localDate) found = r;
    else break;
  }
  return found;
}

/** Where an instant falls on the wall clock of a zone. */
export interface LocalTime {
  /** YYYY-MM-DD */
  date: string;
  /** YYYY-MM */
  month: string;
  /** 0 … 23 */
  hour: number;
  /** The wall-clock reading as if it were UTC, in ms (offset = wallMs − instant). */
  wallMs: number;
}

const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = FORMATTERS.get(tz);
  if (!f) {
    // Few zones are ever used; the bound only keeps a hostile caller from growing it.
    if (FORMATTERS.size >= 1000) FORMATTERS.clear();
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    FORMATTERS.set(tz, f);
  }
  return f;
}

/** The local date, month and hour of an instant in `tz` (throws RangeError for an unknown zone). */
export function localTimeOf(ms: number, tz: string): LocalTime {
  const p: Record<string, string> = {};
  for (const part of formatter(tz).formatToParts(new Date(ms))) p[part.type] = part.value;
  const [y, mo, d, h, mi, s] = [p.year, p.month, p.day, p.hour, p.minute, p.second].map(Number);
  const date = `${p.year.padStart(4, '0')}-${p.month}-${p.day}`;
  const sub = ((ms % 1000) + 1000) % 1000;
  return {
    date,
    month: date.slice(0, 7),
    hour: h,
    wallMs: Date.UTC(y, mo - 1, d, h, mi, s) + sub,
  };
}

/** The zone's UTC offset at an instant, in ms (Berlin in summer: +7,200,000). */
export function offsetMsAt(ms: number, tz: string): number {
  return localTimeOf(ms, tz).wallMs - ms;
}

const DAY_MS = 86_400_000;

/**
 * The instant local midnight of `date` (YYYY-MM-DD) starts in `tz`, read the
 * way PostgreSQL reads `timestamp AT TIME ZONE tz` (which /energy's
 * periodStart comes from): a wall time that occurs twice is the later
 * instant, one that does not occur (a DST gap at midnight) is read with the
 * offset before the gap — the later of the two readings as well.
 */
export function zonedMidnight(date: string, tz: string): number {
  const m = DATE_RE.exec(date);
  if (!m) throw new RangeError(`not a date: ${date}`);
  const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  // The offsets in force a day either side cover any transition near the instant (offsets are < 1 day).
  const offsets = new Set([wall - DAY_MS, wall, wall + DAY_MS].map((t) => offsetMsAt(t, tz)));
  const candidates = [...offsets].map((o) => wall - o);
  const exact = candidates.filter((c) => localTimeOf(c, tz).wallMs === wall);
  return Math.max(...(exact.length ? exact : candidates));
}

/** Energy of one hour of the tariff's zone and one line, as the energy query gives it. */
export interface HourlyUse {
  /** Start of the local hour (UTC ms). */
  startMs: number;
  line: number;
  kwh: number;
  resets: number;
  readings: number;
}

export type CostPeriod = 'hour' | 'day' | 'month';

/** Energy and its cost per period and line (unrounded). */
export interface PricedUse extends HourlyUse {
  /** kWh × price summed over the period's hours; null when some hour has no rate in effect. */
  cost: number | null;
  /** kWh of the hours without a rate in effect (before the first effectiveFrom). */
  unpricedKwh: number;
}

/**
 * Prices each hour (kWh × the price of its local hour in the rate period in
 * effect on its local date) and sums hours into periods of the tariff's
 * zone: a day holds its 23, 24 or 25 hours, a month its days. The hours'
 * start instants must be local hour starts of `tariff.tz` (the energy query
 * with period=hour in that zone); a day's or month's periodStart is its local
 * midnight (zonedMidnight). Sorted by periodStart, then line.
 */
export function priceUse(
  hours: readonly HourlyUse[],
  tariff: TariffPricing,
  period: CostPeriod,
): PricedUse[] {
  const localOf = new Map<number, LocalTime>();
  const startOf = new Map<string, number>();
  const out = new Map<string, PricedUse>();
  for (const h of hours) {
    let local = localOf.get(h.startMs);
    if (!local) localOf.set(h.startMs, (local = localTimeOf(h.startMs, tariff.tz)));
    const price = rateOn(tariff.rates, local.date)?.pricePerKwh[local.hour];
    const cost = price === undefined ? null : h.kwh * price;
    let startMs = h.startMs;
    if (period !== 'hour') {
      const first = period === 'day' ? local.date : `${local.month}-01`;
      let s = startOf.get(first);
      if (s === undefined) startOf.set(first, (s = zonedMidnight(first, tariff.tz)));
      startMs = s;
    }
    const key = `${startMs}:${h.line}`;
    const acc = out.get(key);
    if (!acc) {
      out.set(key, {
        startMs,
        line: h.line,
        kwh: h.kwh,
        resets: h.resets,
        readings: h.readings,
        cost,
        unpricedKwh: cost === null ? h.kwh : 0,
      });
      continue;
    }
    acc.kwh += h.kwh;
    acc.resets += h.resets;
    acc.readings += h.readings;
    if (cost === null) acc.unpricedKwh += h.kwh;
    acc.cost = acc.cost === null || cost === null ? null : acc.cost + cost;
  }
  return [...out.values()].sort((a, b) => a.startMs - b.startMs || a.line - b.line);
}

/** A computed cost to COST_DECIMALS decimals (binary noise of sums and products dropped). */
export function roundCost(x: number): number {
  return Number.isFinite(x) && Math.abs(x) < 1e21 ? Number(x.toFixed(COST_DECIMALS)) : x;
}
