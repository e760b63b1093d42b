import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { flatten, toCsv, wantsCsv } from '../common/csv';
import { EnergyQuery, EnergyResult } from './dto/energy.dto';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiProduces } from '@nestjs/swagger';
import { MinRole } from '../auth/roles';
import { SerialPipe } from '../common/serial.pipe';
import {
  ConcentratorLatestView,
  FleetLatestPage,
  FleetLatestQuery,
  TelemetryQuery,
  TelemetryResult,
} from './dto/telemetry.dto';
import { TelemetryQueryService } from './telemetry-query.service';

@ApiV1('telemetry')
@MinRole('viewer')
@Controller('api/v1')
export class TelemetryController {
  constructor(private readonly service: TelemetryQueryService) {}

  @Get('concentrators/:sn/latest')
  @ApiOperation({ summary: 'Latest values and switch state per line' })
  @ApiOkResponse({ type: ConcentratorLatestView })
  @ApiNotFoundResponse()
  latest(@Param('sn', SerialPipe) sn: string): Promise<ConcentratorLatestView> {
    return this.service.latestOf(sn);
  }

  @Get('latest')
  @ApiOperation({ summary: 'Latest state of many managed concentrators (overview), paginated' })
  @ApiOkResponse({ type: FleetLatestPage })
  fleet(@Query() q: FleetLatestQuery): Promise<FleetLatestPage> {
    return this.service.fleet(q);
  }

  @Get('concentrators/:sn/telemetry')
  @ApiOperation({
    summary: 'Raw samples, or min/avg/max per time bucket (buckets aligned to UTC)',
    description: 'Answers text/csv (one row per item) for `Accept: text/csv`.',
  })
  @ApiProduces('application/json', 'text/csv')
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
      'Counter resets (a swapped breaker) are handled; answers text/csv for `Accept: text/csv`.',
  })
  @ApiProduces('application/json', 'text/csv')
  @ApiOkResponse({ type: EnergyResult })
  @ApiNotFoundResponse()
  async energy(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: EnergyQuery,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<EnergyResult | string> {
    const result = await this.service.energy(sn, q);
    if (!wantsCsv(accept)) return result;
    return csv(res, `${sn}-energy.csv`, result.items as unknown as Record<string, unknown>[], [
      'periodStart',
      'line',
      'kwh',
      'resets',
      'readings',
    ]);
  }
}

/** CSV answer; the columns are the rows' keys, or `base` when there are no rows. */
function csv(
  res: Response,
  filename: string,
  rows: Record<string, unknown>[],
  base: string[],
): string {
  const columns = [...new Set([...base, ...rows.flatMap((r) => Object.keys(r))])];
  res.type('text/csv; charset=utf-8');
  res.setHeader('Content-Disposition', `attachment; filename="${filename}"`);
  return toCsv(columns, rows);
}
