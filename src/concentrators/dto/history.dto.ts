import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { PaginationQuery, PageOf } from '../../common/pagination.dto';

export const KNOWN_EVENT_KINDS = [
  'status',
  'online',
  'offline',
  'clock_skew',
  'clock_ok',
  'serial_mismatch',
  'discovered',
  'created',
  'adopted',
  'released',
  'deleted',
];

export class ListDeviceEventsQuery extends PaginationQuery {
  @ApiPropertyOptional({
    description: `one kind or a comma list, e.g. \`status\` or \`online,offline\`. Kinds recorded: ${KNOWN_EVENT_KINDS.join(', ')}`,
    example: 'online,offline',
  })
  @IsOptional()
  // Not a closed enum: other features add kinds, and an unknown one simply matches nothing.
  @Matches(/^[a-z_]{1,32}(,[a-z_]{1,32}){0,19}$/, {
    message: 'kind must be a comma list of event kinds (lowercase letters and _)',
  })
  kind?: string;
}

export class DeviceEventView {
  @ApiProperty() id!: string;
  @ApiProperty({
    format: 'date-time',
    description:
      'when it happened (the first of `count` identical events): device time when trusted, else server time',
  })
  at!: string;
  @ApiProperty({
    example: 1,
    description:
      'identical events this row stands for: a device repeating the same event (flapping ' +
      'online/offline, clock flags, serial mismatches, switch changes) within ' +
      'DEVICE_EVENTS_COALESCE_S of the first adds to one row instead of writing one per message',
  })
  count!: number;
  @ApiProperty({
    format: 'date-time',
    description: 'time of the last of them (equals `at` when `count` is 1)',
  })
  lastAt!: string;
  @ApiProperty({ example: 'status' }) kind!: string;
  @ApiProperty({ nullable: true, type: Number }) line!: number | null;
  @ApiProperty({
    nullable: true,
    type: Object,
    description: 'e.g. {on, cause} for status, {reason} for online/offline',
  })
  detail!: Record<string, unknown> | null;
}

export class DeviceEventPage extends PageOf(DeviceEventView) {}
