import { Injectable, OnModuleInit } from '@nestjs/common';
import { DeviceHistory } from '../concentrators/device-history.service';
import { LiveFeed } from '../live/live-feed.service';
import { IngestionService } from '../ingestion/ingestion.service';
import { LatestStore } from './latest-store.service';
import { TelemetryWriter } from './telemetry-writer.service';

/** Wires telemetry and status messages to the batch writer and the latest-state store. */
@Injectable()
export class TelemetryIngestHandlers implements OnModuleInit {
  constructor(
    private readonly ingestion: IngestionService,
    private readonly writer: TelemetryWriter,
    private readonly latest: LatestStore,
    private readonly live: LiveFeed,
    private readonly deviceEvents: DeviceHistory,
  ) {}

  onModuleInit(): void {
    // A deleted concentrator's in-memory latest values must not resurface if
    // the serial is registered again (the table rows go with the cascade).
    this.deviceEvents.onEvent((e) => {
      if (e.kind === 'deleted') this.latest.forget(e.sn);
    });
    this.ingestion.on('telemetry', ({ dev, msg, at, receivedAt, drop }) => {
      const tsMs = at.getTime();
      if (!this.writer.enqueue(dev.sn, tsMs, receivedAt.getTime(), msg.seq, msg.lines)) {
        drop('buffer_full');
        return;
      }
      this.latest.applyTelemetry(dev.sn, tsMs, receivedAt.getTime(), msg.lines);
      if (this.live.listenerCount > 0) {
        this.live.emit({ kind: 'telemetry', sn: dev.sn, at: at.toISOString(), lines: msg.lines });
      }
    });
    this.ingestion.on('status', ({ dev, msg, at }) => {
      this.latest.applyStatus(dev.sn, at.getTime(), msg.lines);
      this.live.emit({ kind: 'status', sn: dev.sn, at: at.toISOString(), lines: msg.lines });
    });
  }
}
