import { BadRequestException, ConflictException, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { ConcentratorSummary, ConcentratorsService } from '../concentrators/concentrators.service';
import { LineNamesService } from '../concentrators/line-names.service';
import { SqlRunner } from '../database/sql-runner';
import { ConcentratorLine } from './concentrator-line.entity';
import {
  ConcentratorLatestView,
  FleetLatestPage,
  FleetLatestQuery,
  LatestLineView,
  LineRangeQuery,
  TelemetryQuery,
  TelemetryResult,
} from './dto/telemetry.dto';
import { LatestStore } from './latest-store.service';
import { API_NAME, measurementFromApi } from '../common/measurement-names';
import { asStoredReal, roundAggregate, roundKwh } from './precision';
import { SwitchFields, applySwitch } from './switch-state';
import {
  ENERGY_PER_PERIOD,
  EnergyPeriod,
  MEASUREMENT_TYPES,
  bucketedTelemetrySql,
  rawTelemetrySql,
} from './telemetry.sql';
import { MEASUREMENTS, Measurement } from '../protocol/measurements';
import {
  EnergyQuery,
  EnergyResult,
  StatementPeriodView,
  StatementQuery,
  StatementResult,
} from './dto/energy.dto';
import { AppliedTariffView } from '../tariffs/dto/tariff.dto';
import { AppliedTariff, TariffsService, canonicalZone } from '../tariffs/tariffs.service';
import { CostPeriod, PricedUse, localTimeOf, priceUse, roundCost } from '../tariffs/tariff-pricing';

const DAY_MS = 86_400_000;
const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

const NO_NAMES: ReadonlyMap<number, string> = new Map();

/**
 * Reads for dashboards: latest per line, fleet overview, raw and bucketed
 * history. Concentrators and line names are the registry's, asked through
 * ConcentratorsService; latest values (`concentrator_lines`) and samples are
 * telemetry's own.
 */
@Injectable()
export class TelemetryQueryService implements OnModuleInit {
  constructor(
    @InjectRepository(ConcentratorLine) private readonly lines: Repository<ConcentratorLine>,
    private readonly sql: SqlRunner,
    private readonly concentrators: ConcentratorsService,
    private readonly lineNames: LineNamesService,
    private readonly latest: LatestStore,
    private readonly tariffs: TariffsService,
  ) {}

  onModuleInit(): void {
    // The registry's list of lines also counts lines that have values but no name.
    this.lineNames.useHighestKnownLine((sn) => this.highestLine(sn));
  }

  /** The highest line with stored latest values; 0 when none. */
  async highestLine(sn: string): Promise<number> {
    return (await this.lines.maximum('line', { sn })) ?? 0;
  }

  async latestOf(sn: string): Promise<ConcentratorLatestView> {
    const c = await this.concentrators.get(sn);
    const [rows, names] = await Promise.all([
      this.lines.find({ where: { sn }, order: { line: 'ASC' } }),
      this.lineNames.lineNamesOf(sn),
    ]);
    return this.latestView(c, rows, names);
  }

  async fleet(q: FleetLatestQuery): Promise<FleetLatestPage> {
    const { items: cs, total } = await this.concentrators.managedPage(q);
    const sns = cs.map((c) => c.sn);
    const [rows, names] = sns.length
      ? await Promise.all([
          this.lines.find({ where: { sn: In(sns) }, order: { sn: 'ASC', line: 'ASC' } }),
          this.lineNames.lineNamesOfMany(sns),
        ])
      : [[], new Map<string, Map<number, string>>()];
    const bySn = new Map<string, ConcentratorLine[]>();
    for (const r of rows) bySn.set(r.sn, [...(bySn.get(r.sn) ?? []), r]);
    return {
      items: cs.map((c) => this.latestView(c, bySn.get(c.sn) ?? [], names.get(c.sn) ?? NO_NAMES)),
      total,
      limit: q.limit,
      offset: q.offset,
    };
  }

  /**
   * The table, overlaid with this instance's newer in-memory values (not yet
   * flushed). Values from memory are shown as the REAL columns will give them
   * back; the switch state is merged by the same rule as the upsert, so the
   * answer does not change when the flush happens. A named line without values
   * yet is listed too, empty.
   */
  private latestView(
    c: ConcentratorSummary,
    rows: ConcentratorLine[],
    names: ReadonlyMap<number, string>,
  ): ConcentratorLatestView {
    const byLine = new Map<number, LatestLineView>();
    const empty = (line: number): LatestLineView => ({
      line,
      name: names.get(line) ?? null,
      ts: null,
      receivedAt: null,
      on: null,
      onAt: null,
      onCause: null,
    });
    // A named line without a row yet: shown as a row with no values would be.
    for (const line of names.keys()) {
      const v = empty(line);
      for (const m of MEASUREMENTS) (v as unknown as Record<string, unknown>)[API_NAME[m]] = null;
      byLine.set(line, v);
    }
    for (const r of rows) {
      const v: LatestLineView = {
        line: r.line,
        name: names.get(r.line) ?? null,
        ts: iso(r.ts),
        receivedAt: iso(r.receivedAt),
        on: r.isOn,
        onAt: iso(r.onAt),
        onCause: r.onCause,
      };
      for (const m of MEASUREMENTS)
        (v as unknown as Record<string, unknown>)[API_NAME[m]] = rowValue(r, m);
      byLine.set(r.line, v);
    }
    for (const e of this.latest.linesOf(c.sn)) {
      const v: LatestLineView = byLine.get(e.line) ?? empty(e.line);
      if (e.tsMs !== null && (v.ts === null || e.tsMs >= Date.parse(v.ts))) {
        v.ts = new Date(e.tsMs).toISOString();
        v.receivedAt = e.receivedMs !== null ? new Date(e.receivedMs).toISOString() : null;
        for (const m of MEASUREMENTS)
          (v as unknown as Record<string, unknown>)[API_NAME[m]] = memoryValue(e.values[m], m);
      }
      if (e.isOn !== null && e.onAtMs !== null) {
        const sw: SwitchFields = {
          isOn: v.on,
          onAtMs: v.onAt === null ? null : Date.parse(v.onAt),
          onCause: v.onCause,
        };
        if (applySwitch(sw, e.isOn, e.onAtMs, e.onCause)) {
          v.on = sw.isOn;
          v.onAt = sw.onAtMs === null ? null : new Date(sw.onAtMs).toISOString();
          v.onCause = sw.onCause;
        }
      }
      byLine.set(e.line, v);
    }
    return {
      sn: c.sn,
      name: c.name,
      site: c.site,
      online: c.online,
      lastSeenAt: iso(c.lastSeenAt),
      clockSkew: c.clockSkew,
      lines: [...byLine.values()].sort((a, b) => a.line - b.line),
    };
  }

  async energy(sn: string, q: EnergyQuery): Promise<EnergyResult> {
    const c = await this.concentrators.get(sn);
    if (!q.cost) return energyOf(this.sql, sn, q);
    const { applied, range, items } = await this.pricedEnergy(c, q, q.period);
    const out = items.map((i) => ({
      periodStart: new Date(i.startMs).toISOString(),
      line: i.line,
      kwh: roundKwh(i.kwh),
      resets: i.resets,
      readings: i.readings,
      cost: i.cost === null ? null : roundCost(i.cost),
    }));
    return {
      sn,
      period: q.period,
      tz: applied.tariff.tz,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      items: out,
      totalKwh: roundKwh(out.reduce((s, i) => s + i.kwh, 0)),
      tariff: appliedView(applied),
      totalCost: sumCosts(out.map((i) => i.cost)),
      unpricedKwh: roundKwh(items.reduce((s, i) => s + i.unpricedKwh, 0)),
    };
  }

  /**
   * kWh and cost per local day or month of the tariff's zone, per line and
   * for the concentrator: what the vendors' apps call a statement.
   */
  async statement(sn: string, q: StatementQuery): Promise<StatementResult> {
    const c = await this.concentrators.get(sn);
    const [{ applied, range, items }, names] = await Promise.all([
      this.pricedEnergy(c, q, q.period),
      this.lineNames.lineNamesOf(sn),
    ]);
    const tz = applied.tariff.tz;
    const periods: StatementPeriodView[] = [];
    const perLine = new Map<number, { kwh: number; costs: (number | null)[] }>();
    for (const i of items) {
      const periodStart = new Date(i.startMs).toISOString();
      let p = periods.at(-1);
      if (!p || p.periodStart !== periodStart) {
        const local = localTimeOf(i.startMs, tz);
        p = {
          label: q.period === 'day' ? local.date : local.month,
          periodStart,
          kwh: 0,
          cost: null,
          lines: [],
        };
        periods.push(p);
      }
      const line = {
        line: i.line,
        name: names.get(i.line) ?? null,
        kwh: roundKwh(i.kwh),
        cost: i.cost === null ? null : roundCost(i.cost),
      };
      p.lines.push(line);
      const l = perLine.get(i.line) ?? { kwh: 0, costs: [] };
      l.kwh += line.kwh;
      l.costs.push(line.cost);
      perLine.set(i.line, l);
    }
    for (const p of periods) {
      p.kwh = roundKwh(p.lines.reduce((s, l) => s + l.kwh, 0));
      p.cost = sumCosts(p.lines.map((l) => l.cost));
    }
    return {
      sn,
      name: c.name,
      site: c.site,
      tariff: appliedView(applied),
      currency: applied.tariff.currency,
      period: q.period,
      tz,
      from: range.from.toISOString(),
      to: range.to.toISOString(),
      periods,
      lines: [...perLine.entries()]
        .sort(([a], [b]) => a - b)
        .map(([line, l]) => ({
          line,
          name: names.get(line) ?? null,
          kwh: roundKwh(l.kwh),
          cost: sumCosts(l.costs),
        })),
      totalKwh: roundKwh(periods.reduce((s, p) => s + p.kwh, 0)),
      totalCost: sumCosts(periods.map((p) => p.cost)),
      unpricedKwh: roundKwh(items.reduce((s, i) => s + i.unpricedKwh, 0)),
    };
  }

  /**
   * The energy of each local hour of the tariff's zone (the /energy query with
   * period=hour: the same counter-reset rule), priced and summed per period.
   */
  private async pricedEnergy(
    c: ConcentratorSummary,
    q: LineRangeQuery & { tz?: string },
    period: CostPeriod,
  ): Promise<{ applied: AppliedTariff; range: { from: Date; to: Date }; items: PricedUse[] }> {
    const applied = await this.tariffs.appliedTo(c.sn, c.site);
    if (!applied) {
      throw new ConflictException({
        message:
          `no tariff applies to concentrator ${c.sn}` +
          (c.site ? ` or its site ${c.site}` : '') +
          ': assign one with PUT /api/v1/tariffs/{id}',
        code: 'no_tariff',
      });
    }
    const tz = applied.tariff.tz;
    if (q.tz !== undefined && canonicalZone(q.tz) !== tz) {
      throw new BadRequestException(
        `cost=true aligns periods to the time zone of tariff ${applied.tariff.id} (${tz}): ` +
          `omit tz or pass tz=${tz}`,
      );
    }
    const range = energyRange(q);
    const rows = await energyRows(this.sql, c.sn, range, q.line ?? null, 'hour', tz);
    const hours = rows.map((r) => ({
      startMs: r.period_start.getTime(),
      line: r.line,
      kwh: r.kwh,
      resets: r.resets,
      readings: r.readings,
    }));
    return { applied, range, items: priceUse(hours, applied.tariff, period) };
  }

  async history(sn: string, q: TelemetryQuery): Promise<TelemetryResult> {
    await this.concentrators.get(sn);
    const to = q.to ?? new Date();
    const from = q.from ?? new Date(to.getTime() - DAY_MS);
    if (from >= to) throw new BadRequestException('from must be before to');
    const fields = parseFields(q.fields);
    const line = q.line ?? null;
    if (q.bucket === 'raw') {
      const rows = await this.sql.rows(rawTelemetrySql(fields), [
        sn,
        from,
        to,
        line,
        q.limit + 1,
        q.offset,
      ]);
      const items = rows.slice(0, q.limit).map((r) => {
        const o: Record<string, unknown> = {
          ts: (r.ts as Date).toISOString(),
          receivedAt: (r.received_at as Date).toISOString(),
          line: r.line,
          on: r.is_on,
        };
        for (const f of fields) o[API_NAME[f]] = r[f];
        return o;
      });
      return result(sn, q, from, to, items, rows.length > q.limit);
    }
    const rows = await this.sql.rows(bucketedTelemetrySql(q.bucket, fields) + ' OFFSET $6', [
      sn,
      from,
      to,
      line,
      q.limit + 1,
      q.offset,
    ]);
    const items = rows.slice(0, q.limit).map((r) => {
      const o: Record<string, unknown> = {
        bucket: (r.bucket as Date).toISOString(),
        line: r.line,
        samples: r.samples,
      };
      for (const f of fields) {
        o[API_NAME[f]] = {
          min: roundAggregate(f, r[`${f}_min`] as number | null),
          avg: roundAggregate(f, r[`${f}_avg`] as number | null),
          max: roundAggregate(f, r[`${f}_max`] as number | null),
        };
      }
      return o;
    });
    return result(sn, q, from, to, items, rows.length > q.limit);
  }
}

interface EnergyRow {
  period_start: Date;
  line: number;
  kwh: number;
  resets: number;
  readings: number;
}

/** The range of an energy read: `to` default now, `from` default 7 days before; at most 400 days. */
function energyRange(q: LineRangeQuery): { from: Date; to: Date } {
  const to = q.to ?? new Date();
  const from = q.from ?? new Date(to.getTime() - 7 * DAY_MS);
  if (from >= to) throw new BadRequestException('from must be before to');
  if (to.getTime() - from.getTime() > 400 * DAY_MS) {
    throw new BadRequestException('at most 400 days per request');
  }
  return { from, to };
}

/** kWh per period and line, unrounded (ENERGY_PER_PERIOD: the one counter-reset rule). */
function energyRows(
  sql: SqlRunner,
  sn: string,
  range: { from: Date; to: Date },
  line: number | null,
  period: EnergyPeriod,
  tz: string,
): Promise<EnergyRow[]> {
  return sql.rows<EnergyRow>(ENERGY_PER_PERIOD, [sn, range.from, range.to, line, period, tz]);
}

/** kWh per period from the cumulative counter (see ENERGY_PER_PERIOD). */
export async function energyOf(sql: SqlRunner, sn: string, q: EnergyQuery): Promise<EnergyResult> {
  const range = energyRange(q);
  const tz = q.tz ?? 'UTC';
  const rows = await energyRows(sql, sn, range, q.line ?? null, q.period, tz);
  const items = rows.map((r) => ({
    periodStart: r.period_start.toISOString(),
    line: r.line,
    kwh: roundKwh(r.kwh),
    resets: r.resets,
    readings: r.readings,
  }));
  return {
    sn,
    period: q.period,
    tz,
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    items,
    totalKwh: roundKwh(items.reduce((s, i) => s + i.kwh, 0)),
  };
}

function appliedView(a: AppliedTariff): AppliedTariffView {
  const t = a.tariff;
  return { id: t.id, name: t.name, currency: t.currency, tz: t.tz, via: a.via };
}

/** The sum of rounded costs, rounded; null when one of them is null (some energy has no price). */
function sumCosts(costs: readonly (number | null)[]): number | null {
  let sum = 0;
  for (const c of costs) {
    if (c === null) return null;
    sum += c;
  }
  return roundCost(sum);
}

function result(
  sn: string,
  q: TelemetryQuery,
  from: Date,
  to: Date,
  items: Record<string, unknown>[],
  more: boolean,
): TelemetryResult {
  return {
    sn,
    bucket: q.bucket,
    from: from.toISOString(),
    to: to.toISOString(),
    items,
    nextOffset: more ? q.offset + q.limit : null,
  };
}

function memoryValue(x: number | null | undefined, m: Measurement): number | null {
  if (x === null || x === undefined) return null;
  return MEASUREMENT_TYPES[m] === 'float4' ? asStoredReal(x) : x;
}

function rowValue(r: ConcentratorLine, m: Measurement): number | null {
  const key = API_NAME[m] as keyof ConcentratorLine;
  return (r[key] as number | null) ?? null;
}

function parseFields(fields: string | undefined): Measurement[] {
  if (!fields) return [...MEASUREMENTS];
  const out: Measurement[] = [];
  for (const name of fields
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = measurementFromApi(name);
    if (!m) throw new BadRequestException(`unknown field ${name.slice(0, 32)}`);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}
