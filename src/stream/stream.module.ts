import { Module } from '@nestjs/common';
import { StreamController } from './stream.controller';
import { StreamHub } from './stream-hub.service';

/** `GET /api/v1/stream`: the live event bus as Server-Sent Events. */
@Module({ controllers: [StreamController], providers: [StreamHub], exports: [StreamHub] })
export class StreamModule {}
