import { Controller } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { FROMDEV_EVENT, FromdevPacket } from '../mqtt/raw-fromdev.deserializer';
import { IngestionService } from './ingestion.service';

/** Entry of `<root>/+/fromdev` messages from the Nest MQTT transport. */
@ApiExcludeController()
@Controller()
export class IngestionController {
  constructor(private readonly ingestion: IngestionService) {}

  @EventPattern(FROMDEV_EVENT)
  handle(@Payload() packet: FromdevPacket): Promise<void> {
    return this.ingestion.ingest(packet);
  }
}
