import { Injectable, OnModuleInit } from '@nestjs/common';
import { DeviceHistory } from '../concentrators/device-history.service';
import { IngestionService } from '../ingestion/ingestion.service';
import { AlarmsService } from './alarms.service';
import { StatusChangeTracker } from './status-change-tracker';
import { ConcentratorLifecycle } from '../lifecycle/concentrator-lifecycle';

/**
 * Alarm messages → alarm episodes; status messages → one `status` device
 * event per changed line with its cause (the switch state itself is kept by
 * the telemetry module's latest store).
 */
@Injectable()
export class AlarmsIngestHandlers implements OnModuleInit {
  private readonly statusChanges = new StatusChangeTracker();

  constructor(
    private readonly ingestion: IngestionService,
    private readonly alarms: AlarmsService,
    private readonly events: DeviceHistory,
    private readonly lifecycle: ConcentratorLifecycle,
  ) {}

  onModuleInit(): void {
    // A deleted or re-registered serial's first status is a change again.
    this.lifecycle.subscribe((e) => {
      if (e.change === 'deleted' || e.change === 'registered') this.statusChanges.forget(e.sn);
    });
    this.ingestion.on('alarm', async ({ dev, msg, at }) => {
      await this.alarms.apply(dev.sn, msg, at);
    });
    this.ingestion.on('status', async ({ dev, msg, at }) => {
      const changed = this.statusChanges.changes(dev.sn, at.getTime(), msg.lines);
      await Promise.all(
        changed.map((l) =>
          this.events.add({
            sn: dev.sn,
            kind: 'status',
            line: l.line,
            at,
            detail: { on: l.on, cause: l.cause ?? 'unknown' },
          }),
        ),
      );
    });
  }
}
