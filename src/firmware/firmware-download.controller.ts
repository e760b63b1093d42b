import {
  BadRequestException,
  Controller,
  Get,
  HttpException,
  NotFoundException,
  Param,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { isCanonicalSha256 } from './firmware-rules';
import { FirmwareService } from './firmware.service';

/**
 * Where devices download images: no token (a concentrator has none), the
 * digest is the name. Content-addressed bytes never change, so they are
 * cacheable for good and the ETag is the digest itself.
 */
@ApiTags('firmware')
@Controller('firmware')
export class FirmwareDownloadController {
  constructor(private readonly service: FirmwareService) {}

  @Get(':sha256')
  @ApiOperation({
    summary:
      'Download an uploaded image (devices; no token). Supports Range (206/416) and If-None-Match.',
  })
  @ApiParam({ name: 'sha256', description: '64 lowercase hex digits' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({ description: 'the image' })
  @ApiResponse({ status: 206, description: 'the requested byte range' })
  @ApiResponse({ status: 416, description: 'range not satisfiable' })
  @ApiBadRequestResponse({ description: 'not a lowercase sha256' })
  @ApiNotFoundResponse({ description: 'no uploaded image has this digest' })
  async download(@Param('sha256') sha256: string, @Res() res: Response): Promise<void> {
    if (!isCanonicalSha256(sha256))
      throw new BadRequestException('sha256 must be 64 lowercase hex digits');
    if (!(await this.service.servable(sha256))) throw new NotFoundException('firmware not found');
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('ETag', `"${sha256}"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Disposition', `attachment; filename="${sha256}.bin"`);
    await new Promise<void>((resolve, reject) => {
      res.sendFile(
        sha256,
        {
          root: this.service.blobDir,
          dotfiles: 'deny',
          // Our own strong ETag (set above) is what conditional and If-Range requests compare with.
          etag: false,
          lastModified: true,
          acceptRanges: true,
          maxAge: 365 * 86400 * 1000,
          immutable: true,
        },
        (err?: Error & { code?: string; status?: number }) => {
          if (!err || res.headersSent) return resolve();
          // The error goes out as JSON: drop what described the file.
          for (const h of [
            'ETag',
            'Content-Disposition',
            'Cache-Control',
            'Last-Modified',
            'Accept-Ranges',
          ]) {
            res.removeHeader(h);
          }
          const status = err.code === 'ENOENT' ? 404 : (err.status ?? 500);
          if (status === 404) reject(new NotFoundException('firmware not found'));
          else if (status === 416) reject(new HttpException('range not satisfiable', 416));
          else if (status >= 400 && status < 500) reject(new HttpException(err.message, status));
          else reject(err);
        },
      );
    });
  }
}
