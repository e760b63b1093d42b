import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { DeviceEvent, DeviceEventKind } from './entities/device-event.entity';

export interface DeviceEventInput {
  sn: string;
  kind: DeviceEventKind;
  line?: number | null;
  at?: Date;
  detail?: Record<string, unknown> | null;
}

type Listener = (e: Required<Omit<DeviceEventInput, 'line' | 'detail'>> & DeviceEventInput) => void;

/** Connectivity, discovery and registry history; also fanned out to live listeners. */
@Injectable()
export class DeviceEventsService {
  private readonly log = new Logger('DeviceEvents');
  private readonly listeners = new Set<Listener>();

  constructor(@InjectRepository(DeviceEvent) private readonly repo: Repository<DeviceEvent>) {}

  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Never throws: losing the history row must not break the message that caused it. */
  async add(e: DeviceEventInput): Promise<void> {
    const at = e.at ?? new Date();
    for (const l of this.listeners) l({ ...e, at });
    try {
      await this.repo.save(
        this.repo.create({
          sn: e.sn,
          kind: e.kind,
          line: e.line ?? null,
          at,
          detail: e.detail ?? null,
        }),
        { reload: false },
      );
    } catch (err) {
      this.log.error(`could not record ${e.kind} for ${e.sn}: ${(err as Error).message}`);
    }
  }
}
