import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  ValidationOptions,
} from 'class-validator';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { TARGET_STATES, TargetState } from '../entities/upgrade-target.entity';
import { CAMPAIGN_STATES } from '../entities/upgrade-campaign.entity';

export const MAX_CAMPAIGN_TARGETS = 10000;

export type UpgradeTargets = string[] | { site: string };

/** A list of 1-10000 serials, or `{ site }`. */
function IsUpgradeTargets(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isUpgradeTargets',
      validator: {
        validate: (v: unknown) => {
          if (Array.isArray(v)) {
            return (
              v.length >= 1 &&
              v.length <= MAX_CAMPAIGN_TARGETS &&
              v.every((s) => typeof s === 'string' && /^[0-9]{12}$/.test(s))
            );
          }
          if (typeof v !== 'object' || v === null) return false;
          const keys = Object.keys(v);
          const site = (v as { site?: unknown }).site;
          return (
            keys.length === 1 && typeof site === 'string' && site.length >= 1 && site.length <= 100
          );
        },
        defaultMessage: () =>
          `targets must be a list of 1-${MAX_CAMPAIGN_TARGETS} serials (12 digits each) or { "site": "<name>" }`,
      },
    },
    options,
  );
}

/**
 * Exactly one source: `firmwareId` (an uploaded image, served by this
 * backend) or an external `{url, sha256, size}`. The URL, digest, size and
 * version rules are applied by the service, so refusals are audited.
 */
export class CreateUpgradeDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'an uploaded image (GET /api/v1/firmware)' })
  @IsOptional()
  @IsUUID()
  firmwareId?: string;

  @ApiPropertyOptional({
    example: 'https://fw.example.com/rj-c8/1.5.0.bin',
    description:
      'external image: https, or http for hosts in UPGRADE_HTTP_ALLOW_HOSTS; no user info',
  })
  @IsOptional()
  @IsString()
  @MaxLength(8192)
  url?: string;

  @ApiPropertyOptional({
    description: 'external image: 64 hex digits (any case; stored lowercase)',
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  sha256?: string;

  @ApiPropertyOptional({ description: 'external image: size in bytes, a positive integer' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  size?: number;

  @ApiPropertyOptional({
    example: '1.5.0',
    description:
      'version the image installs; required with url, defaults to the image version with firmwareId',
  })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  version?: string;

  @ApiProperty({
    description: 'serials (managed concentrators), or every managed concentrator of a site',
    oneOf: [
      {
        type: 'array',
        items: { type: 'string', pattern: '^[0-9]{12}$' },
        maxItems: MAX_CAMPAIGN_TARGETS,
      },
      { type: 'object', properties: { site: { type: 'string' } }, required: ['site'] },
    ],
    example: ['202005010001', '202005010002'],
  })
  @IsUpgradeTargets()
  targets!: UpgradeTargets;

  @ApiPropertyOptional({ default: false, description: 'also install an older or the same version' })
  @IsOptional()
  @IsBoolean()
  allowDowngrade?: boolean;

  @ApiPropertyOptional({
    description:
      'hours to wait for offline targets (default UPGRADE_DEADLINE_H); fractions allowed, at least one minute',
    minimum: 1 / 60,
    maximum: 24 * 90,
  })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(1 / 60)
  @Max(24 * 90)
  deadlineH?: number;
}

export class ListUpgradesQuery extends PaginationQuery {
  @ApiPropertyOptional({ enum: CAMPAIGN_STATES })
  @IsOptional()
  @IsIn(CAMPAIGN_STATES)
  state?: 'running' | 'finished';
}

export class UpgradeLastMessage {
  @ApiProperty() state!: string;
  @ApiProperty({ nullable: true, type: Number }) progress!: number | null;
  @ApiProperty({ nullable: true, type: String }) version!: string | null;
  @ApiProperty({ nullable: true, type: String }) msg!: string | null;
  @ApiProperty() commandId!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
}

export class UpgradeTargetView {
  @ApiProperty() sn!: string;
  @ApiProperty({
    enum: TARGET_STATES,
    description:
      'queued (waiting to be sent: offline, or rate limit) → sent → acked → downloading → verifying → ' +
      'installing → done; or failed / rejected / skipped (not eligible) / expired (deadline)',
  })
  state!: TargetState;
  @ApiProperty({ nullable: true, type: Number }) progress!: number | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'version the device ran when the campaign started',
  })
  fromVersion!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'version the device reported after the upgrade',
  })
  reportedVersion!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'why skipped, failed or expired; retries',
  })
  reason!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'the latest upgrade command (GET /api/v1/commands/{id})',
  })
  commandId!: string | null;
  @ApiProperty() attempts!: number;
  @ApiProperty({ nullable: true, type: UpgradeLastMessage })
  lastMessage!: UpgradeLastMessage | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) sentAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) ackedAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) progressAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
}

export class UpgradeCampaignSummary {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) firmwareId!: string | null;
  @ApiProperty() url!: string;
  @ApiProperty() sha256!: string;
  @ApiProperty() size!: number;
  @ApiProperty() version!: string;
  @ApiProperty({ nullable: true, type: String }) model!: string | null;
  @ApiProperty() allowDowngrade!: boolean;
  @ApiProperty({ nullable: true, type: String }) site!: string | null;
  @ApiProperty({ enum: CAMPAIGN_STATES }) state!: string;
  @ApiProperty() createdBy!: string;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) deadlineAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) finishedAt!: string | null;
  @ApiProperty({
    description: 'number of targets per state (every state listed), and `total`',
    type: 'object',
    additionalProperties: { type: 'number' },
    example: {
      queued: 0,
      sent: 0,
      acked: 0,
      downloading: 1,
      done: 3,
      failed: 0,
      skipped: 1,
      total: 5,
    },
  })
  totals!: Record<TargetState | 'total', number>;
}

export class UpgradeCampaignView extends UpgradeCampaignSummary {
  @ApiProperty({ type: [UpgradeTargetView] }) targets!: UpgradeTargetView[];
}

export class UpgradeCampaignPage extends PageOf(UpgradeCampaignSummary) {}
