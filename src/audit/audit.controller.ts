import { Controller, Get, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, Repository } from 'typeorm';
import { MinRole } from '../auth/roles';
import { AuditEntry } from './audit-entry.entity';
import { AuditPage, ListAuditQuery } from './dto/audit.dto';

@ApiTags('events')
@ApiBearerAuth()
@ApiUnauthorizedResponse({ description: 'missing or invalid token' })
@ApiForbiddenResponse({ description: 'role too low' })
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
