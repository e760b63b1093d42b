import { Body, Controller, Get, Ip, Param, Put, UseInterceptors } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { Actor, MinRole } from '../identity/roles';
import { AuditAction, AuditRefusalsInterceptor } from '../audit/audit-refusals.interceptor';
import { CurrentActor } from '../identity/actor.decorator';
import { SerialPipe } from '../common/serial.pipe';
import { DesiredStateService } from './desired-state.service';
import {
  ConfigDto,
  ConfigView,
  ParamsDto,
  ParamsView,
  SchedulesDto,
  SchedulesView,
} from './dto/desired-state.dto';

const PUT_DESCRIPTION =
  'Validated, stored, and pushed at once when the concentrator is online (else on its next config_request). ' +
  '`sync` stays pending until the device acks the command that carried the value.';

@ApiV1('desired state')
@ApiNotFoundResponse({ description: 'unknown concentrator' })
@UseInterceptors(AuditRefusalsInterceptor)
@Controller('api/v1/concentrators/:sn')
export class DesiredStateController {
  constructor(private readonly service: DesiredStateService) {}

  @Get('config')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Desired config and its sync state' })
  @ApiOkResponse({ type: ConfigView })
  getConfig(@Param('sn', SerialPipe) sn: string): Promise<ConfigView> {
    return this.service.getConfig(sn);
  }

  @Put('config')
  @MinRole('operator')
  @AuditAction('desired.config')
  @ApiOperation({
    summary: 'Set report / heartbeat periods and change threshold',
    description: PUT_DESCRIPTION,
  })
  @ApiOkResponse({ type: ConfigView })
  @ApiBadRequestResponse({ description: 'out of the protocol ranges' })
  @ApiConflictResponse({ description: 'the concentrator is pending' })
  putConfig(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: ConfigDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<ConfigView> {
    return this.service.putConfig(sn, dto, { actor, ip });
  }

  @Get('schedules')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Desired and reported schedule table, sync state, drift' })
  @ApiOkResponse({ type: SchedulesView })
  getSchedules(@Param('sn', SerialPipe) sn: string): Promise<SchedulesView> {
    return this.service.getSchedules(sn);
  }

  @Put('schedules')
  @MinRole('operator')
  @AuditAction('desired.schedules')
  @ApiOperation({
    summary: 'Replace the schedule table (at most 24 slots)',
    description: PUT_DESCRIPTION,
  })
  @ApiOkResponse({ type: SchedulesView })
  @ApiBadRequestResponse({ description: 'bad slot, time, days, or a line beyond the line count' })
  @ApiConflictResponse({ description: 'the concentrator is pending' })
  putSchedules(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: SchedulesDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<SchedulesView> {
    return this.service.putSchedules(sn, dto, { actor, ip });
  }

  @Get('params')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Desired and reported protection thresholds, sync state, drift' })
  @ApiOkResponse({ type: ParamsView })
  getParams(@Param('sn', SerialPipe) sn: string): Promise<ParamsView> {
    return this.service.getParams(sn);
  }

  @Put('params')
  @MinRole('operator')
  @AuditAction('desired.params')
  @ApiOperation({ summary: 'Set protection thresholds per line', description: PUT_DESCRIPTION })
  @ApiOkResponse({ type: ParamsView })
  @ApiBadRequestResponse({
    description: 'out of range, min not below max, or a line beyond the line count',
  })
  @ApiConflictResponse({ description: 'the concentrator is pending' })
  putParams(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: ParamsDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<ParamsView> {
    return this.service.putParams(sn, dto, { actor, ip });
  }
}
