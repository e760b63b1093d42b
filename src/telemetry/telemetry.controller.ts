import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiNotFoundResponse, ApiOkResponse, ApiOperation } from '@nestjs/swagger';
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
  @ApiOperation({ summary: 'Raw samples, or min/avg/max per time bucket (buckets aligned to UTC)' })
  @ApiOkResponse({ type: TelemetryResult })
  @ApiNotFoundResponse()
  history(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: TelemetryQuery,
  ): Promise<TelemetryResult> {
    return this.service.history(sn, q);
  }
}
