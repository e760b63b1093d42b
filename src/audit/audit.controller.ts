import { Controller, Get, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { MinRole } from '../identity/roles';
import { newestFirstPage } from '../common/newest-first-page';
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
  list(@Query() q: ListAuditQuery): Promise<AuditPage> {
    return newestFirstPage(this.repo, q, ['action', 'target', 'actor', 'outcome']);
  }
}
