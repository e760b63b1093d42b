import { Controller, Get, NotFoundException, Param, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { InjectRepository } from '@nestjs/typeorm';
import { FindOptionsWhere, In, Repository } from 'typeorm';
import { MinRole } from '../identity/roles';
import { SerialPipe } from '../common/serial.pipe';
import { ConcentratorRegistry } from './concentrator-registry.service';
import { DeviceEvent, DeviceEventKind } from './entities/device-event.entity';
import { DeviceEventPage, ListDeviceEventsQuery } from './dto/history.dto';

@ApiV1('events')
@Controller('api/v1/concentrators')
export class HistoryController {
  constructor(
    @InjectRepository(DeviceEvent) private readonly repo: Repository<DeviceEvent>,
    private readonly registry: ConcentratorRegistry,
  ) {}

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
  async list(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: ListDeviceEventsQuery,
  ): Promise<DeviceEventPage> {
    const where: FindOptionsWhere<DeviceEvent> = { sn };
    if (q.kind) where.kind = In(q.kind.split(',') as DeviceEventKind[]);
    const [rows, total] = await this.repo.findAndCount({
      where,
      order: { at: 'DESC', id: 'DESC' },
      take: q.limit,
      skip: q.offset,
    });
    if (total === 0 && !this.registry.get(sn) && !(await this.repo.existsBy({ sn }))) {
      throw new NotFoundException(`concentrator ${sn} not found`);
    }
    return {
      items: rows.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        count: r.occurrences,
        lastAt: (r.lastAt ?? r.at).toISOString(),
        kind: r.kind,
        line: r.line,
        detail: r.detail,
      })),
      total,
      limit: q.limit,
      offset: q.offset,
    };
  }
}
