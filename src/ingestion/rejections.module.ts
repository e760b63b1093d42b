import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { JobsModule } from '../jobs/jobs.module';
import { Rejection } from './rejection.entity';
import { RejectionsController } from './rejections.controller';
import { RejectionsService } from './rejections.service';
import { IngestStatsModule } from './ingest-stats.module';

@Module({
  imports: [TypeOrmModule.forFeature([Rejection]), IngestStatsModule, JobsModule],
  controllers: [RejectionsController],
  providers: [RejectionsService],
  exports: [RejectionsService],
})
export class RejectionsModule {}
