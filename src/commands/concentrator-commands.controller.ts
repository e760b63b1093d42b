import { ApiV1 } from '../common/api-v1.decorator';
import {
  BadRequestException,
  Body,
  Controller,
  Headers,
  HttpCode,
  Ip,
  Param,
  Post,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { SerialPipe } from '../common/serial.pipe';
import { AuditAction, AuditRefusalsInterceptor } from '../audit/audit-refusals.interceptor';
import { toCommandView } from './command-view';
import { CommandsService } from './commands.service';
import { CommandView } from './dto/command.dto';
import { QueryDto, SwitchDto } from './dto/switch.dto';
import { SwitchService } from './switch.service';

const IDEMPOTENCY_KEY_RE = /^[\x21-\x7e]{1,128}$/;

@ApiV1('commands')
@ApiNotFoundResponse({ description: 'unknown concentrator' })
@ApiConflictResponse({ description: '`device_offline`, or the concentrator is pending' })
@ApiServiceUnavailableResponse({
  description: '`broker_unavailable`: nothing sent, nothing queued',
})
@UseInterceptors(AuditRefusalsInterceptor)
@Controller('api/v1/concentrators/:sn')
export class ConcentratorCommandsController {
  constructor(
    private readonly commands: CommandsService,
    private readonly switching: SwitchService,
  ) {}

  @Post('switch')
  @HttpCode(202)
  @MinRole('operator')
  @AuditAction('command.switch')
  @ApiOperation({
    summary: 'Switch breaker lines on or off',
    description:
      'Never queued: 409 `device_offline` when offline. 429 (Retry-After) when a line was switched less than SWITCH_COOLDOWN_S ago. ' +
      'With `Idempotency-Key`, a retry with the same body returns the first command and publishes nothing.',
  })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: '1-128 visible ASCII characters',
  })
  @ApiAcceptedResponse({ type: CommandView })
  @ApiBadRequestResponse({ description: 'invalid body, or a line beyond the line count' })
  @ApiTooManyRequestsResponse({ description: 'cooldown; see Retry-After' })
  @ApiUnprocessableEntityResponse({ description: 'Idempotency-Key reused with a different body' })
  async switch(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: SwitchDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CommandView> {
    if (key !== undefined && !IDEMPOTENCY_KEY_RE.test(key)) {
      throw new BadRequestException('Idempotency-Key must be 1-128 visible ASCII characters');
    }
    const out = await this.switching.switch(sn, dto, actor, ip, key);
    if (out.replayed) res.setHeader('Idempotent-Replayed', 'true');
    return toCommandView(out.command);
  }

  @Post('query')
  @HttpCode(202)
  @MinRole('operator')
  @AuditAction('command.query')
  @ApiOperation({ summary: 'Ask the device for its status, telemetry, schedules or params' })
  @ApiAcceptedResponse({ type: CommandView })
  async query(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: QueryDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<CommandView> {
    return toCommandView(
      await this.commands.dispatch({ sn, message: { type: 'query', what: dto.what }, actor, ip }),
    );
  }

  @Post('reboot')
  @HttpCode(202)
  @MinRole('operator')
  @AuditAction('command.reboot')
  @ApiOperation({
    summary: 'Reboot the concentrator (it acks, reconnects and sends config_request)',
  })
  @ApiAcceptedResponse({ type: CommandView })
  async reboot(
    @Param('sn', SerialPipe) sn: string,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<CommandView> {
    return toCommandView(
      await this.commands.dispatch({ sn, message: { type: 'reboot' }, actor, ip }),
    );
  }
}
