import { ApiV1 } from '../common/api-v1.decorator';
import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
  UploadedFile,
  UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import {
  ApiBody,
  ApiConflictResponse,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { PaginationQuery } from '../common/pagination.dto';
import {
  FirmwarePage,
  FirmwareView,
  UploadFirmwareDto,
  UploadFirmwareForm,
} from './dto/firmware.dto';
import { IncomingImage } from './firmware-blob-store';
import { FirmwareService } from './firmware.service';
import { UploadGuardInterceptor } from './upload-guard.interceptor';

@ApiV1('firmware')
@Controller('api/v1/firmware')
export class FirmwareController {
  constructor(private readonly service: FirmwareService) {}

  @Post()
  @MinRole('admin')
  @UseInterceptors(UploadGuardInterceptor, FileInterceptor('file'))
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadFirmwareForm })
  @ApiOperation({
    summary: 'Upload a firmware image (multipart: file, version, model?)',
    description:
      'Streams the image to disk while hashing it; stored content-addressed and served to devices at ' +
      '`GET /firmware/{sha256}`. 201 for a new record; 200 with the existing record when the same ' +
      'bytes were already uploaded with the same version and model; 409 when the bytes are stored ' +
      'under another version, or the version (and model) already names other bytes.',
  })
  @ApiCreatedResponse({ type: FirmwareView })
  @ApiOkResponse({ type: FirmwareView, description: 'identical upload: the existing record' })
  @ApiConflictResponse()
  @ApiPayloadTooLargeResponse({ description: 'larger than FIRMWARE_MAX_BYTES' })
  async upload(
    @UploadedFile() file: IncomingImage | undefined,
    @Body() dto: UploadFirmwareDto,
    @CurrentActor() actor: Actor | null,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ): Promise<FirmwareView> {
    if (!file) throw new BadRequestException('multipart field "file" with the image is required');
    const r = await this.service.register(file, dto, actor, req.ip);
    res.status(r.created ? 201 : 200);
    return this.service.toView(r.firmware);
  }

  @Get()
  @MinRole('admin')
  @ApiOperation({ summary: 'Uploaded firmware images, newest first' })
  @ApiOkResponse({ type: FirmwarePage })
  list(@Query() q: PaginationQuery): Promise<FirmwarePage> {
    return this.service.list(q);
  }

  @Get(':id')
  @MinRole('admin')
  @ApiOperation({ summary: 'One uploaded image' })
  @ApiOkResponse({ type: FirmwareView })
  @ApiNotFoundResponse()
  async get(@Param('id', new ParseUUIDPipe()) id: string): Promise<FirmwareView> {
    return this.service.toView(await this.service.get(id));
  }

  @Delete(':id')
  @HttpCode(204)
  @MinRole('admin')
  @ApiOperation({
    summary: 'Delete an image record (the bytes go when no record names them)',
    description: '409 while a running campaign installs it.',
  })
  @ApiNoContentResponse()
  @ApiConflictResponse()
  async remove(
    @Param('id', new ParseUUIDPipe()) id: string,
    @CurrentActor() actor: Actor | null,
    @Req() req: Request,
  ): Promise<void> {
    await this.service.remove(id, actor, req.ip);
  }
}
