import { PageOf } from '../../common/pagination.dto';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { MODEL_RE, MODEL_RULE, VERSION_RE, VERSION_RULE } from '../firmware-rules';

/** The text fields of the multipart upload (the file part is `file`). */
export class UploadFirmwareDto {
  @ApiProperty({ example: '1.5.0', description: VERSION_RULE })
  @IsString()
  @Matches(VERSION_RE, { message: VERSION_RULE })
  version!: string;

  @ApiPropertyOptional({
    example: 'RJ-C8',
    description: 'concentrator model the image is for; omitted = any',
  })
  @IsOptional()
  @IsString()
  @Matches(MODEL_RE, { message: MODEL_RULE })
  model?: string;
}

/** Swagger only: the whole multipart form. */
export class UploadFirmwareForm extends UploadFirmwareDto {
  @ApiProperty({
    type: 'string',
    format: 'binary',
    description: 'the image (size cap FIRMWARE_MAX_BYTES)',
  })
  file!: unknown;
}

export class FirmwareView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: '1.5.0' }) version!: string;
  @ApiProperty({ nullable: true, type: String }) model!: string | null;
  @ApiProperty({ description: 'lowercase hex' }) sha256!: string;
  @ApiProperty({ description: 'bytes' }) size!: number;
  @ApiProperty({ nullable: true, type: String, description: 'original file name as uploaded' })
  filename!: string | null;
  @ApiProperty() uploadedBy!: string;
  @ApiProperty({ format: 'date-time' }) uploadedAt!: string;
  @ApiProperty({
    example: '/firmware/<sha256>',
    description: 'download path on this server (no token)',
  })
  path!: string;
  @ApiProperty({
    nullable: true,
    type: String,
    description:
      'the URL put in upgrade commands: PUBLIC_BASE_URL + path; null while PUBLIC_BASE_URL is unset',
  })
  url!: string | null;
}

export class FirmwarePage extends PageOf(FirmwareView) {}
