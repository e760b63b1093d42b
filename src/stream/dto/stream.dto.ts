import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsOptional, Matches } from 'class-validator';
import type { LiveEventKind } from '../../live/live-feed.service';

export const LIVE_EVENT_KINDS: readonly LiveEventKind[] = [
  'telemetry',
  'status',
  'alarm',
  'command',
  'connectivity',
  'upgrade',
];

/** `?x=a,b`, `?x=a&x=b` and a mix of both all mean [a, b]. */
const commaList = ({ value }: { value: unknown }) =>
  (Array.isArray(value) ? (value as unknown[]) : [value])
    .flatMap((v) => (typeof v === 'string' ? v.split(',') : [v]))
    .map((v) => (typeof v === 'string' ? v.trim() : v))
    .filter((v) => v !== '');

export class StreamQuery {
  @ApiPropertyOptional({
    description: 'only these concentrators: one serial or a comma list (max 1000)',
    example: '202005010001,202005010002',
    type: String,
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(1000)
  @Matches(/^[0-9]{12}$/, { each: true, message: 'sn must be 12-digit serials' })
  sn?: string[];

  @ApiPropertyOptional({
    description: `only these event kinds, comma list of ${LIVE_EVENT_KINDS.join(', ')}`,
    example: 'telemetry,alarm',
    type: String,
  })
  @IsOptional()
  @Transform(commaList)
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(LIVE_EVENT_KINDS, { each: true })
  kinds?: LiveEventKind[];
}

export class StreamStatsView {
  @ApiProperty({ description: 'connected stream clients (this instance)' }) clients!: number;
  @ApiProperty({ description: 'events dropped for slow clients since start' })
  droppedTotal!: number;
  @ApiProperty({ description: 'events waiting in client queues now' }) queued!: number;
  @ApiProperty({
    description:
      'streams refused since start: per_token (429, SSE_MAX_PER_TOKEN) and total (503, SSE_MAX_TOTAL)',
    example: { per_token: 0, total: 0 },
  })
  refused!: { per_token: number; total: number };
}
