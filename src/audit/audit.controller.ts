import { Controller, Get, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { MinRole } from '../identity/roles';
import { AuditService } from './audit.service';
import { AuditPage, ListAuditQuery } from './dto/audit.dto';

@ApiV1('events')
@Controller('api/v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @MinRole('admin')
  @ApiOperation({ summary: 'Audit trail, newest first: who did what, including refused attempts' })
  @ApiOkResponse({ type: AuditPage })
  list(@Query() q: ListAuditQuery): Promise<AuditPage> {
    return this.audit.list(q);
  }
}
