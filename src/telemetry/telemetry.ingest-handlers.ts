import { Injectable, OnModuleInit } from '@nestjs/common';
import { SqlRunner } from '../database/sql-runner';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';
import { LiveFeed } from '../live/live-feed.service';
import { IngestionService } from '../ingestion/ingestion.service';
import { LatestStore } from './latest-store.service';
import { PURGE_TELEMETRY } from './telemetry.sql';
import { TelemetryWriter } from './telemetry-writer.service';

/** Wires telemetry and status messages to the batch writer and the latest-state store. */
@Injectable()
export class TelemetryIngestHandlers implements OnModuleInit {
  constructor(
    private readonly ingestion: IngestionService,
    private readonly writer: TelemetryWriter,
    private readonly latest: LatestStore,
    private readonly live: LiveFeed,
    private readonly lifecycle: ConcentratorLifecycle,
    private readonly sql: SqlRunner,
  ) {}

  onModuleInit(): void {
    this.lifecycle.subscribe(async (e) => {
      // A deleted or re-registered serial's latest values must not resurface
      // (the table rows go with the cascade); stored samples go only on purge.
      if (e.change === 'deleted' || e.change === 'registered') this.latest.forget(e.sn);
      if (e.change === 'deleted' && e.detail?.purge === true) {
        await this.sql.bulk(PURGE_TELEMETRY, [e.sn]);
      }
    });
    this.ingestion.useBackpressure({
      readGate: () => this.writer.readGate.wait(),
      shedTelemetry: () => this.writer.readGate.shedding(),
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
