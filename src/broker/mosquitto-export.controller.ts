import { Controller, Get, Header } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiOkResponse, ApiOperation, ApiProduces } from '@nestjs/swagger';
import { MinRole } from '../identity/roles';
import { MosquittoExportService } from './mosquitto-export.service';

const TEXT = 'text/plain; charset=utf-8';

@ApiV1('broker')
@Controller('api/v1/broker/mosquitto')
export class MosquittoExportController {
  constructor(private readonly files: MosquittoExportService) {}

  @Get('passwd')
  @MinRole('admin')
  @Header('Content-Type', TEXT)
  @Header('Cache-Control', 'no-store')
  @ApiProduces('text/plain')
  @ApiOperation({
    summary: "mosquitto password_file: managed devices' hashes plus the backend user",
    description:
      'mosquitto 2 `$7$` (PBKDF2-SHA512) lines. Save as the password_file, then `kill -HUP` mosquitto.',
  })
  @ApiOkResponse({ schema: { type: 'string' } })
  passwd(): Promise<string> {
    return this.files.passwd();
  }

  @Get('aclfile')
  @MinRole('admin')
  @Header('Content-Type', TEXT)
  @Header('Cache-Control', 'no-store')
  @ApiProduces('text/plain')
  @ApiOperation({
    summary: 'mosquitto acl_file: each device its own fromdev/todev, the backend all of them',
  })
  @ApiOkResponse({ schema: { type: 'string' } })
  aclfile(): Promise<string> {
    return this.files.aclfile();
  }
}
