import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiNegotiated } from '../common/accept-negotiation';
import { JSON_OR_CSV, flatten, toCsv, wantsCsv } from '../common/csv';
import { EnergyQuery, EnergyResult, StatementQuery, StatementResult } from './dto/energy.dto';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { MinRole } from '../identity/roles';
import { SerialPipe } from '../common/serial.pipe';
import {
  ConcentratorLatestView,
  FleetLatestPage,
  FleetLatestQuery,
  TelemetryQuery,
  TelemetryResult,
} from './dto/telemetry.dto';
import { API_FIELDS } from '../common/measurement-names';
import { TelemetryQueryService } from './telemetry-query.service';

const LATEST_CSV =
  'Answers text/csv for `Accept: text/csv`: one row per line, the concentrator repeated on ' +
  'each (a concentrator without lines yet gets one row with empty line columns).';

const NO_TARIFF =
  '`no_tariff` (with cost=true, and for statements): no tariff is assigned to the ' +
  'concentrator or to its site';

@ApiV1('telemetry')
@MinRole('viewer')
@Controller('api/v1')
export class TelemetryController {
  constructor(private readonly service: TelemetryQueryService) {}

  @Get('concentrators/:sn/latest')
  @ApiOperation({ summary: 'Latest values and switch state per line', description: LATEST_CSV })
  @ApiNegotiated(...JSON_OR_CSV)
  @ApiOkResponse({ type: ConcentratorLatestView })
  @ApiNotFoundResponse()
  async latest(
    @Param('sn', SerialPipe) sn: string,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ConcentratorLatestView | string> {
    const view = await this.service.latestOf(sn);
    if (!wantsCsv(accept)) return view;
    return csv(res, `${sn}-latest.csv`, latestRows([view]), LATEST_COLUMNS);
  }

  @Get('latest')
  @ApiOperation({
    summary: 'Latest state of many managed concentrators (overview), paginated',
    description: `${LATEST_CSV} The CSV holds the requested page; the total is in \`X-Total-Count\`.`,
  })
  @ApiNegotiated(...JSON_OR_CSV)
  @ApiOkResponse({ type: FleetLatestPage })
  async fleet(
    @Query() q: FleetLatestQuery,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<FleetLatestPage | string> {
    const page = await this.service.fleet(q);
    if (!wantsCsv(accept)) return page;
    res.setHeader('X-Total-Count', String(page.total));
    return csv(res, 'latest.csv', latestRows(page.items), LATEST_COLUMNS);
  }

  @Get('concentrators/:sn/telemetry')
  @ApiOperation({
    summary: 'Raw samples, or min/avg/max per time bucket (buckets aligned to UTC)',
    description:
      'Aggregates of REAL measurements are given to 7 significant digits, those of ' +
      '`energyKwh` to 6 decimals (1 mWh); raw samples as stored. ' +
      'Answers text/csv (one row per item) for `Accept: text/csv`.',
  })
  @ApiNegotiated(...JSON_OR_CSV)
  @ApiOkResponse({ type: TelemetryResult })
  @ApiNotFoundResponse()
  async history(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: TelemetryQuery,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TelemetryResult | string> {
    const result = await this.service.history(sn, q);
    if (!wantsCsv(accept)) return result;
    const columns = q.bucket === 'raw' ? ['ts', 'receivedAt', 'line', 'on'] : ['bucket', 'line'];
    return csv(res, `${sn}-telemetry.csv`, result.items.map(flatten), columns);
  }

  @Get('concentrators/:sn/energy')
  @ApiOperation({
    summary: 'kWh used per hour/day/month from the cumulative counter, aligned to a time zone',
    description:
      'Counter resets (a swapped breaker) are handled; kWh are given to 6 decimals (1 mWh); ' +
      'answers text/csv for `Accept: text/csv`. With `cost=true` each item also carries its ' +
      "cost, priced with the concentrator's tariff (its own, else its site's; see " +
      "`PUT /api/v1/tariffs/{id}`), and periods are aligned to the tariff's zone; the CSV " +
      'then has `cost` and `currency` columns. For kWh and cost per day or month per line ' +
      'and per concentrator see `…/statement`.',
  })
  @ApiNegotiated(...JSON_OR_CSV)
  @ApiOkResponse({ type: EnergyResult })
  @ApiBadRequestResponse({
    description: "bad range, period or zone (with cost=true: a zone other than the tariff's)",
  })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: NO_TARIFF })
  async energy(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: EnergyQuery,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EnergyResult | string> {
    const result = await this.service.energy(sn, q);
    if (!wantsCsv(accept)) return result;
    const currency = result.tariff?.currency;
    const rows = result.items.map((i) => (currency ? { ...i, currency } : { ...i }));
    return csv(res, `${sn}-energy.csv`, rows, [
      'periodStart',
      'line',
      'kwh',
      'resets',
      'readings',
      ...(currency ? ['cost', 'currency'] : []),
    ]);
  }

  @Get('concentrators/:sn/statement')
  @ApiOperation({
    summary: 'Energy statement: kWh and cost per local day or month, per line and in total',
    description:
      "Priced with the concentrator's tariff (its own, else its site's; see " +
      "`PUT /api/v1/tariffs/{id}`); days and months are those of the tariff's zone (DST " +
      'days have 23 or 25 hours). The same numbers as `…/energy?period=day|month&cost=true`, ' +
      'grouped per period with the concentrator total, line names and per-line totals. ' +
      'Choose `from`/`to` at local midnights for whole days. Answers text/csv for ' +
      '`Accept: text/csv`: per period, one row per line, then the concentrator total (the ' +
      'row with an empty `line`).',
  })
  @ApiNegotiated(...JSON_OR_CSV)
  @ApiOkResponse({ type: StatementResult })
  @ApiBadRequestResponse({ description: 'bad range or period' })
  @ApiNotFoundResponse()
  @ApiConflictResponse({ description: NO_TARIFF })
  async statement(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: StatementQuery,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<StatementResult | string> {
    const st = await this.service.statement(sn, q);
    if (!wantsCsv(accept)) return st;
    const rows = st.periods.flatMap((p) => {
      const base = { [q.period]: p.label, periodStart: p.periodStart, currency: st.currency };
      return [
        ...p.lines.map((l) => ({
          ...base,
          line: l.line,
          lineName: l.name,
          kwh: l.kwh,
          cost: l.cost,
        })),
        { ...base, line: null, lineName: null, kwh: p.kwh, cost: p.cost },
      ];
    });
    return csv(res, `${sn}-statement-${q.period}.csv`, rows, [
      q.period,
      'periodStart',
      'line',
      'lineName',
      'kwh',
      'cost',
      'currency',
    ]);
  }
}

/** The concentrator's columns, then the line's (its name as lineName: `name` is the concentrator's). */
const LATEST_COLUMNS = [
  'sn',
  'name',
  'site',
  'online',
  'lastSeenAt',
  'clockSkew',
  'line',
  'lineName',
  'ts',
  'receivedAt',
  'on',
  'onAt',
  'onCause',
  ...API_FIELDS,
];

function latestRows(views: readonly ConcentratorLatestView[]): Record<string, unknown>[] {
  return views.flatMap((v) => {
    const { lines, ...concentrator } = v;
    if (!lines.length) return [concentrator];
    return lines.map(({ name, ...line }) => ({ ...concentrator, lineName: name, ...line }));
  });
}

/** CSV answer; the columns are the rows' keys, or `base` when there are no rows. */
function csv(
  res: Response,
  filename: string,
  rows: Record<string, unknown>[],
  base: readonly string[],
): string {
  const columns = [...new Set([...base, ...rows.flatMap((r) => Object.keys(r))])];
  res.type('text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  return toCsv(columns, rows);
}
