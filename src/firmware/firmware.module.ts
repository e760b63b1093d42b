import { Module } from '@nestjs/common';
import { MulterModule } from '@nestjs/platform-express';
import { TypeOrmModule } from '@nestjs/typeorm';
import { join } from 'node:path';
import { APP_CONFIG, AppConfig } from '../config/app-config';
import { FirmwareBlobStore } from './firmware-blob-store';
import { FirmwareDownloadController } from './firmware-download.controller';
import { FirmwareController } from './firmware.controller';
import { Firmware } from './firmware.entity';
import { FirmwareService } from './firmware.service';
import { UploadGuardInterceptor } from './upload-guard.interceptor';
import { AuditModule } from '../audit/audit.module';

const blobDir = (config: AppConfig) => join(config.dataDir, 'firmware');

@Module({
  imports: [
    TypeOrmModule.forFeature([Firmware]),
    MulterModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        storage: new FirmwareBlobStore(blobDir(config)).storageEngine(),
        limits: {
          fileSize: config.firmware.maxBytes,
          files: 1,
          fields: 8,
          fieldSize: 1024,
          parts: 10,
        },
      }),
    }),
    AuditModule,
  ],
  controllers: [FirmwareController, FirmwareDownloadController],
  providers: [
    {
      provide: FirmwareBlobStore,
      inject: [APP_CONFIG],
      useFactory: (c: AppConfig) => new FirmwareBlobStore(blobDir(c)),
    },
    FirmwareService,
    UploadGuardInterceptor,
  ],
  exports: [FirmwareService],
})
export class FirmwareModule {}
