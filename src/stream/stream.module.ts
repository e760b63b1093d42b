import { Module } from '@nestjs/common';
import { StreamController } from './stream.controller';
import { StreamHub } from './stream-hub.service';
import { MetricsModule } from '../metrics/metrics.module';
import { LiveModule } from '../live/live.module';

/** `GET /api/v1/stream`: the live event bus as Server-Sent Events. */
@Module({
  imports: [MetricsModule, LiveModule],
  controllers: [StreamController],
  providers: [StreamHub],
  exports: [StreamHub],
})
export class StreamModule {}
