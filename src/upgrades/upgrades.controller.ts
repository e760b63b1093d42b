import { Body, Controller, Get, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import {
  CreateUpgradeDto,
  ListUpgradesQuery,
  UpgradeCampaignPage,
  UpgradeCampaignView,
} from './dto/upgrade.dto';
import { UpgradesService } from './upgrades.service';

@ApiV1('firmware')
@Controller('api/v1/upgrades')
export class UpgradesController {
  constructor(private readonly service: UpgradesService) {}

  @Post()
  @MinRole('admin')
  @ApiOperation({
    summary: 'Start an upgrade campaign',
    description:
      'Exactly one of `firmwareId` (uploaded image; needs PUBLIC_BASE_URL) or `{url, sha256, size}`. ' +
      'Online targets get the `upgrade` command at most UPGRADE_RATE_PER_MIN devices per minute; offline ' +
      'ones when they connect, until the deadline. Targets that would be downgraded (or reinstalled), ' +
      'whose model differs from the image, or that are in another running campaign are kept as `skipped` ' +
      'with the reason; 409 when no target is eligible.',
  })
  @ApiCreatedResponse({ type: UpgradeCampaignView })
  @ApiBadRequestResponse({
    description: 'bad source (URL, sha256, size, version), unknown or pending targets',
  })
  @ApiConflictResponse({
    description: 'no eligible target; the body lists each target with its reason',
  })
  create(
    @Body() dto: CreateUpgradeDto,
    @CurrentActor() actor: Actor | null,
    @Req() req: Request,
  ): Promise<UpgradeCampaignView> {
    return this.service.create(dto, actor, req.ip);
  }

  @Get()
  @MinRole('admin')
  @ApiOperation({ summary: 'Upgrade campaigns, newest first, with totals per target state' })
  @ApiOkResponse({ type: UpgradeCampaignPage })
  list(@Query() q: ListUpgradesQuery): Promise<UpgradeCampaignPage> {
    return this.service.list(q);
  }

  @Get(':id')
  @MinRole('admin')
  @ApiOperation({
    summary: 'One campaign: every target with state, progress, times and last report',
  })
  @ApiOkResponse({ type: UpgradeCampaignView })
  @ApiNotFoundResponse()
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<UpgradeCampaignView> {
    return this.service.get(id);
  }
}
