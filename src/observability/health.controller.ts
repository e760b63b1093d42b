import { Controller, Get, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthService } from './health.service';

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(private readonly service: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Database and broker connection state (no token)' })
  @ApiResponse({
    status: 200,
    description: 'all parts up; status "warning" and `warnings` when a certificate nears expiry',
  })
  @ApiResponse({
    status: 503,
    description:
      'a part is down; `down` names it (`database`, `broker`), `database.downSince` and ' +
      '`database.error` say since when and why; answers within about 2 s whatever the database does',
  })
  async health(@Res() res: Response): Promise<void> {
    const { statusCode, body } = await this.service.report();
    res.status(statusCode).json(body);
  }
}
