import { Controller, Get, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, Repository } from 'typeorm';
import { MinRole } from '../auth/roles';
import { IngestStats } from '../ingestion/ingest-stats';
import { ListRejectionsQuery, RejectionPage } from './dto/rejections.dto';
import { Rejection } from './rejection.entity';

@ApiV1('events')
@Controller('api/v1/rejections')
export class RejectionsController {
  constructor(
    @InjectRepository(Rejection) private readonly repo: Repository<Rejection>,
    private readonly stats: IngestStats,
  ) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: 'Recent rejected device messages (newest first) and counts by reason' })
  @ApiOkResponse({ type: RejectionPage })
  async list(@Query() q: ListRejectionsQuery): Promise<RejectionPage> {
    const where: FindOptionsWhere<Rejection> = {};
    if (q.reason) where.reason = q.reason;
    if (q.sn) where.sn = q.sn;
    const [rows, total] = await this.repo.findAndCount({
      where,
      order: { id: 'DESC' },
      take: q.limit,
      skip: q.offset,
    });
    return {
      items: rows.map((r) => ({ ...r, at: r.at.toISOString() })),
      total,
      limit: q.limit,
      offset: q.offset,
      counts: Object.fromEntries(this.stats.rejected),
    };
  }
}
