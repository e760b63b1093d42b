import { Injectable, OnModuleInit } from '@nestjs/common';
import { IngestionService } from '../ingestion/ingestion.service';
import { DesiredStateService } from './desired-state.service';

/**
 * config_request → the desired state of a managed device (what the request
 * says about the device itself the registry records in ingestion);
 * schedules / params reports → what the device runs now.
 */
@Injectable()
export class DesiredStateIngestHandlers implements OnModuleInit {
  constructor(
    private readonly ingestion: IngestionService,
    private readonly desired: DesiredStateService,
  ) {}

  onModuleInit(): void {
    this.ingestion.on('config_request', async ({ dev }) => {
      if (dev.state === 'managed') await this.desired.pushAll(dev.sn);
    });
    this.ingestion.on('schedules', ({ dev, msg, at }) =>
      this.desired.storeReport(dev.sn, 'schedules', msg.items, at, msg.id),
    );
    this.ingestion.on('params', ({ dev, msg, at }) =>
      this.desired.storeReport(dev.sn, 'params', msg.lines, at, msg.id),
    );
  }
}
