import { Controller, Param, Post } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiCreatedResponse, ApiNotFoundResponse, ApiOperation } from '@nestjs/swagger';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { SerialPipe } from '../common/serial.pipe';
import { CredentialsService } from './credentials.service';
import { CredentialsView } from './dto/credentials.dto';

@ApiV1('concentrators')
@Controller('api/v1/concentrators')
export class CredentialsController {
  constructor(private readonly credentials: CredentialsService) {}

  @Post(':sn/credentials')
  @MinRole('admin')
  @ApiOperation({
    summary: 'New MQTT password for a concentrator (shown once)',
    description:
      'The old password stops working at once; on the embedded broker a connected device is ' +
      'disconnected. External brokers: re-export the mosquitto files (and SIGHUP) — EMQX asks live.',
  })
  @ApiCreatedResponse({ type: CredentialsView })
  @ApiNotFoundResponse()
  async rotate(
    @Param('sn', SerialPipe) sn: string,
    @CurrentActor() actor: Actor | null,
  ): Promise<CredentialsView> {
    const c = await this.credentials.rotate(sn, actor);
    return { sn: c.sn, mqttPassword: c.mqttPassword, issuedAt: c.issuedAt.toISOString() };
  }
}
