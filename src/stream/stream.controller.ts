import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiBadRequestResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { AuthedRequest } from '../identity/authed-request';
import { MinRole } from '../identity/roles';
import { StreamQuery, StreamStatsView } from './dto/stream.dto';
import { StreamHub, StreamLimitReached } from './stream-hub.service';

@ApiV1('events')
@Controller('api/v1/stream')
export class StreamController {
  constructor(private readonly hub: StreamHub) {}

  @Get()
  @MinRole('viewer')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary: 'Live events as Server-Sent Events',
    description:
      'Frames: `id:` (increasing per server process), `event:` = kind (telemetry, status, alarm, ' +
      'command, connectivity, upgrade), `data:` = JSON. A `: heartbeat` comment every SSE_HEARTBEAT_S ' +
      'seconds. A client that reads too slowly loses its oldest queued events (queue of ' +
      'SSE_CLIENT_QUEUE) and then receives `event: dropped` with `{count, total}`. No replay: ' +
      'Last-Event-ID is ignored; reload state through the REST reads after reconnecting. ' +
      'Open streams are capped per token (SSE_MAX_PER_TOKEN) and per instance (SSE_MAX_TOTAL); ' +
      'a stream frees its slot when its connection closes.',
  })
  @ApiOkResponse({ description: 'an endless text/event-stream' })
  @ApiBadRequestResponse({ description: 'bad sn or kinds filter' })
  @ApiTooManyRequestsResponse({
    description:
      'this token already holds SSE_MAX_PER_TOKEN open streams (or a rate limit); Retry-After in seconds',
  })
  @ApiServiceUnavailableResponse({
    description: 'the instance serves SSE_MAX_TOTAL streams; Retry-After in seconds',
  })
  stream(@Query() q: StreamQuery, @Req() req: AuthedRequest, @Res() res: Response): void {
    const actor = req.actor;
    // Token-less actors (the bootstrap admin) share one slot pool under their name.
    const owner = actor?.tokenId ?? `actor:${actor?.name ?? 'anonymous'}`;
    let close: () => void;
    try {
      close = this.hub.open(
        res,
        {
          sns: q.sn ? new Set(q.sn) : undefined,
          kinds: q.kinds ? new Set(q.kinds) : undefined,
        },
        owner,
      );
    } catch (err) {
      if (err instanceof StreamLimitReached) res.setHeader('Retry-After', String(err.retryAfterS));
      throw err;
    }
    res.on('close', close);
    // A client gone before this point never emits 'close' again: free its slot now.
    if (res.destroyed || req.socket.destroyed) {
      close();
      return;
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Reverse proxies (nginx) must not buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    res.flushHeaders();
    res.write('retry: 3000\n: stream open\n\n');
  }

  @Get('stats')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Stream clients, queued and dropped events (this instance)' })
  @ApiOkResponse({ type: StreamStatsView })
  stats(): StreamStatsView {
    return this.hub.stats();
  }
}
