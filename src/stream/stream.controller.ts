import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import { ApiBadRequestResponse, ApiOkResponse, ApiOperation, ApiProduces } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { MinRole } from '../auth/roles';
import { StreamQuery, StreamStatsView } from './dto/stream.dto';
import { StreamHub } from './stream-hub.service';

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
      'Last-Event-ID is ignored; reload state through the REST reads after reconnecting.',
  })
  @ApiOkResponse({ description: 'an endless text/event-stream' })
  @ApiBadRequestResponse({ description: 'bad sn or kinds filter' })
  stream(@Query() q: StreamQuery, @Req() req: Request, @Res() res: Response): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // Reverse proxies (nginx) must not buffer the stream.
    res.setHeader('X-Accel-Buffering', 'no');
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    const close = this.hub.open(res, {
      sns: q.sn ? new Set(q.sn) : undefined,
      kinds: q.kinds ? new Set(q.kinds) : undefined,
    });
    res.on('close', close);
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
