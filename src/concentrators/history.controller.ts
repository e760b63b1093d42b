import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { MinRole } from '../identity/roles';
import { SerialPipe } from '../common/serial.pipe';
import { DeviceHistory } from './device-history.service';
import { DeviceEventPage, ListDeviceEventsQuery } from './dto/history.dto';

@ApiV1('events')
@Controller('api/v1/concentrators')
export class HistoryController {
  constructor(private readonly history: DeviceHistory) {}

  @Get(':sn/events')
  @MinRole('viewer')
  @ApiOperation({
    summary: 'History of one concentrator, newest first',
    description:
      'Connectivity (online/offline with reason), switch changes with cause (status), clock skew, ' +
      'registry changes. History outlives the registry entry: a deleted serial still answers. ' +
      'Identical events a device repeats within DEVICE_EVENTS_COALESCE_S share one row: `at` is ' +
      'the first, `lastAt` the last, `count` how many. Rows older than DEVICE_EVENTS_KEEP_DAYS ' +
      'are deleted.',
  })
  @ApiOkResponse({ type: DeviceEventPage })
  @ApiBadRequestResponse({ description: 'bad serial or kind' })
  @ApiNotFoundResponse({ description: 'serial neither registered nor in the history' })
  list(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: ListDeviceEventsQuery,
  ): Promise<DeviceEventPage> {
    return this.history.list(sn, q);
  }
}
