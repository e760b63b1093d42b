import { Controller, Get, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, Repository } from 'typeorm';
import { MinRole } from '../auth/roles';
import { AuditEntry } from './audit-entry.entity';
import { AuditPage, ListAuditQuery } from './dto/audit.dto';

@ApiV1('events')
@Controller('api/v1/audit')
export class AuditController {
  constructor(@InjectRepository(AuditEntry) private readonly repo: Repository<AuditEntry>) {}

  @Get()
  @MinRole('admin')
  @ApiOperation({ summary: 'Audit trail, newest first: who did what, including refused attempts' })
  @ApiOkResponse({ type: AuditPage })
  async list(@Query() q: ListAuditQuery): Promise<AuditPage> {
    const where: FindOptionsWhere<AuditEntry> = {};
    if (q.action) where.action = q.action;
    if (q.target) where.target = q.target;
    if (q.actor) where.actor = q.actor;
    if (q.outcome) where.outcome = q.outcome;
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
    };
  }
}
