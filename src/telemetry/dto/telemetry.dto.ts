import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional, IsString } from 'class-validator';
import { IsIntInRange, MAX_OFFSET } from '../../common/int-param';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';
import { IsTimestamp, TIMESTAMP_RULE } from '../../common/timestamp';
import { API_FIELDS } from '../../common/measurement-names';
import { BUCKETS } from '../telemetry.sql';

/** `raw` and the aggregation buckets of telemetry.sql.ts. */
const BUCKET_NAMES = ['raw', ...Object.keys(BUCKETS)];

/** A line and a time window: what the history reads (telemetry, energy) share. */
export class LineRangeQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 64 })
  @IsOptional()
  @IsIntInRange(1, 64)
  line?: number;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: `default: 24 h (telemetry) or 7 days (energy) before \`to\`; ${TIMESTAMP_RULE}`,
  })
  @IsOptional()
  @IsTimestamp()
  from?: Date;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    description: `default: now; ${TIMESTAMP_RULE}`,
  })
  @IsOptional()
  @IsTimestamp()
  to?: Date;
}

export class TelemetryQuery extends LineRangeQuery {
  @ApiPropertyOptional({ enum: BUCKET_NAMES, default: 'raw' })
  @IsOptional()
  @IsIn(BUCKET_NAMES)
  bucket: 'raw' | '1m' | '5m' | '15m' | '1h' | '1d' = 'raw';

  @ApiPropertyOptional({
    description: `comma-separated subset of ${API_FIELDS.join(', ')}`,
    example: 'voltageV,powerW',
  })
  @IsOptional()
  @IsString()
  fields?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 1000 })
  @IsOptional()
  @IsIntInRange(1, 1000)
  limit: number = 1000;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: MAX_OFFSET, default: 0 })
  @IsOptional()
  @IsIntInRange(0, MAX_OFFSET)
  offset: number = 0;
}

export class FleetLatestQuery extends PaginationQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  site?: string;
}

export class LatestLineView {
  @ApiProperty() line!: number;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description: 'time of the values',
  })
  ts!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) receivedAt!: string | null;
  @ApiProperty({ nullable: true, type: Boolean, description: 'switch state' }) on!: boolean | null;
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'when the switch last changed to its current state (telemetry repeating the state does not move it)',
  })
  onAt!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'cause of that change from the status message (protocol causes); null when only telemetry showed it',
  })
  onCause!: string | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) voltageV?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) currentA?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) powerW?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) reactiveVar?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) pf?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) freqHz?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) energyKwh?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) leakageMa?: number | null;
  @ApiPropertyOptional({ nullable: true, type: Number }) tempC?: number | null;
}

export class ConcentratorLatestView {
  @ApiProperty() sn!: string;
  @ApiProperty({ nullable: true, type: String }) name!: string | null;
  @ApiProperty({ nullable: true, type: String }) site!: string | null;
  @ApiProperty() online!: boolean;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastSeenAt!: string | null;
  @ApiProperty() clockSkew!: boolean;
  @ApiProperty({ type: [LatestLineView] }) lines!: LatestLineView[];
}

export class FleetLatestPage extends PageOf(ConcentratorLatestView) {}

export class TelemetryResult {
  @ApiProperty() sn!: string;
  @ApiProperty({ enum: BUCKET_NAMES }) bucket!: string;
  @ApiProperty({ format: 'date-time' }) from!: string;
  @ApiProperty({ format: 'date-time' }) to!: string;
  @ApiProperty({
    description:
      'raw: {ts, receivedAt, line, on, <fields>} as stored; bucketed: {bucket, line, samples, ' +
      '<field>: {min, avg, max}}, rounded to the precision of the stored type: 7 significant ' +
      'digits for the REAL measurements (229.65, not 229.6499989827474), 6 decimals (1 mWh) ' +
      'for energyKwh (a float8 counter)',
    type: 'array',
    items: { type: 'object' },
  })
  items!: Record<string, unknown>[];
  @ApiProperty({
    nullable: true,
    type: Number,
    description: 'offset of the next page, null at the end',
  })
  nextOffset!: number | null;
}
