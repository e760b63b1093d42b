import { ApiV1 } from '../common/api-v1.decorator';
import {
  Body,
  Controller,
  Get,
  HttpCode,
  Ip,
  Param,
  Post,
  Query,
  UseInterceptors,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { AuditAction, AuditRefusalsInterceptor } from '../audit/audit-refusals.interceptor';
import { toCommandView } from './command-view';
import { CommandsService } from './commands.service';
import { CommandPage, CommandView, ListCommandsQuery, WaitQuery } from './dto/command.dto';
import { BulkSwitchDto, BulkSwitchView } from './dto/switch.dto';
import { SwitchService } from './switch.service';

@ApiV1('commands')
@UseInterceptors(AuditRefusalsInterceptor)
@Controller('api/v1/commands')
export class CommandsController {
  constructor(
    private readonly commands: CommandsService,
    private readonly switching: SwitchService,
  ) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: 'Commands, newest first, filtered by serial, state and type' })
  @ApiOkResponse({ type: CommandPage })
  list(@Query() q: ListCommandsQuery): Promise<CommandPage> {
    return this.commands.list(q);
  }

  @Get(':id')
  @MinRole('viewer')
  @ApiOperation({
    summary: 'One command: target, payload, state, ack',
    description: '`?wait=N` (max 30) holds the answer until the state is final or N seconds pass.',
  })
  @ApiOkResponse({ type: CommandView })
  @ApiNotFoundResponse()
  async get(@Param('id') id: string, @Query() q: WaitQuery): Promise<CommandView> {
    return toCommandView(await this.commands.waitFinal(id, q.wait ?? 0));
  }

  @Post('switch')
  @HttpCode(202)
  @MinRole('operator')
  @AuditAction('command.switch')
  @ApiOperation({
    summary: 'Switch lines on many concentrators: one command each',
    description:
      'Per-target results; offline concentrators are reported, never queued. At most BULK_SWITCH_MAX targets.',
  })
  @ApiAcceptedResponse({ type: BulkSwitchView })
  @ApiBadRequestResponse({ description: 'too many targets, duplicate serial, bad lines' })
  bulk(
    @Body() dto: BulkSwitchDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<BulkSwitchView> {
    return this.switching.bulk(dto, actor, ip);
  }
}
