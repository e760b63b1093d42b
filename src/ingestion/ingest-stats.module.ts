import { Module } from '@nestjs/common';
import { IngestStats } from './ingest-stats';

/** Counters shared by ingestion, rejections, telemetry, health and metrics. */
@Module({ providers: [IngestStats], exports: [IngestStats] })
export class IngestStatsModule {}
