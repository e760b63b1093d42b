import { ApiV1 } from '../common/api-v1.decorator';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { AuditService } from '../audit/audit.service';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { AlarmIdPipe } from './alarm-id.pipe';
import { AlarmsService, toAlarmView } from './alarms.service';
import { AckAlarmDto, AlarmPage, AlarmView, ListAlarmsQuery } from './dto/alarm.dto';

@ApiV1('events')
@Controller('api/v1/alarms')
export class AlarmsController {
  constructor(
    private readonly alarms: AlarmsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({
    summary: 'Alarms, newest first; filter by open/cleared, acknowledged, serial, code, line',
  })
  @ApiOkResponse({ type: AlarmPage })
  list(@Query() q: ListAlarmsQuery): Promise<AlarmPage> {
    return this.alarms.list(q);
  }

  @Get(':id')
  @MinRole('viewer')
  @ApiOperation({ summary: 'One alarm' })
  @ApiOkResponse({ type: AlarmView })
  @ApiNotFoundResponse()
  async get(@Param('id', AlarmIdPipe) id: string): Promise<AlarmView> {
    return toAlarmView(await this.alarms.get(id));
  }

  @Post(':id/ack')
  @HttpCode(200)
  @MinRole('operator')
  @ApiOperation({
    summary: 'Acknowledge an alarm (open or cleared)',
    description:
      'Records who and when. Idempotent: a second ack keeps the first one and answers 200.',
  })
  @ApiBody({ type: AckAlarmDto, required: false })
  @ApiOkResponse({ type: AlarmView })
  @ApiBadRequestResponse({ description: 'bad id or body' })
  @ApiNotFoundResponse({ description: 'unknown alarm id' })
  async ack(
    @Param('id', AlarmIdPipe) id: string,
    // Must stay the bare class: a union type would hide it from the ValidationPipe.
    @Body() body: AckAlarmDto,
    @CurrentActor() actor: Actor | null,
    @Req() req: Request,
  ): Promise<AlarmView> {
    try {
      const { alarm, first } = await this.alarms.ack(id, actor, body?.note);
      await this.audit.record({
        actor,
        action: 'alarm.ack',
        target: alarm.sn,
        outcome: 'ok',
        statusCode: 200,
        detail: {
          alarmId: id,
          line: alarm.line,
          code: alarm.code,
          note: body?.note ?? null,
          alreadyAcked: !first,
        },
        ip: req.ip,
      });
      return toAlarmView(alarm);
    } catch (err) {
      const notFound = err instanceof NotFoundException;
      await this.audit.record({
        actor,
        action: 'alarm.ack',
        target: null,
        outcome: notFound ? 'refused' : 'failed',
        statusCode: notFound ? 404 : 500,
        detail: { alarmId: id },
        ip: req.ip,
      });
      throw err;
    }
  }
}
