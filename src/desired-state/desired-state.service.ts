import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DeviceRegistry } from '../devices/device-registry.service';
import { Concentrator } from '../devices/entities/concentrator.entity';
import { IngestionService } from '../ingestion/ingestion.service';
import { TodevPublisher } from '../mqtt/todev-publisher.service';
import { newCommandId } from '../protocol/backend-messages';

/**
 * Stored desired state of a concentrator, pushed when it asks (config_request)
 * and when an operator changes it.
 */
@Injectable()
export class DesiredStateService implements OnModuleInit {
  private readonly log = new Logger('DesiredState');

  constructor(
    private readonly ingestion: IngestionService,
    private readonly registry: DeviceRegistry,
    private readonly publisher: TodevPublisher,
    @InjectRepository(Concentrator) private readonly repo: Repository<Concentrator>,
  ) {}

  onModuleInit(): void {
    this.ingestion.on('config_request', async ({ dev, msg }) => {
      await this.registry.recordConfigRequest(dev, msg);
      if (dev.state === 'managed') await this.pushAll(dev.sn);
    });
  }

  /** Sends config (then, once they exist, schedules and params) to a managed concentrator. */
  async pushAll(sn: string): Promise<void> {
    const c = await this.repo.findOneBy({ sn });
    if (!c || c.state !== 'managed') return;
    await this.pushConfig(c);
  }

  async pushConfig(c: Concentrator): Promise<string | undefined> {
    const id = newCommandId('config');
    try {
      await this.publisher.publish({
        sn: c.sn,
        type: 'config',
        id,
        ts: Math.floor(Date.now() / 1000),
        report_s: c.reportS,
        heartbeat_s: c.heartbeatS,
        delta_pct: c.deltaPct,
      });
    } catch (err) {
      this.log.warn(`config for ${c.sn} not sent: ${(err as Error).message}`);
      return undefined;
    }
    await this.repo.update({ sn: c.sn }, { configSync: 'pending', configCommandId: id, updatedAt: new Date() });
    return id;
  }
}
