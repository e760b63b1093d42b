import { Controller, Get, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation } from '@nestjs/swagger';
import { MinRole } from '../identity/roles';
import { ListRejectionsQuery, RejectionPage } from './dto/rejections.dto';
import { RejectionsService } from './rejections.service';

@ApiV1('events')
@Controller('api/v1/rejections')
export class RejectionsController {
  constructor(private readonly rejections: RejectionsService) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: 'Recent rejected device messages (newest first) and counts by reason' })
  @ApiOkResponse({ type: RejectionPage })
  list(@Query() q: ListRejectionsQuery): Promise<RejectionPage> {
    return this.rejections.list(q);
  }
}
