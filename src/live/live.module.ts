import { Global, Module } from '@nestjs/common';
import { LiveFeed } from './live-feed.service';

@Global()
@Module({ providers: [LiveFeed], exports: [LiveFeed] })
export class LiveModule {}
