import { Controller, Get, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { MinRole } from '../identity/roles';
import { newestFirstPage } from '../common/newest-first-page';
import { IngestStats } from './ingest-stats';
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
    const page = await newestFirstPage(this.repo, q, ['reason', 'sn']);
    return { ...page, counts: Object.fromEntries(this.stats.rejected) };
  }
}
