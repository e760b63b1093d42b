import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { Actor, MinRole } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { LinePipe } from '../common/line.pipe';
import { SerialPipe } from '../common/serial.pipe';
import { ConcentratorsService } from './concentrators.service';
import { LineNamesService } from './line-names.service';
import {
  AdoptConcentratorDto,
  ConcentratorCreatedView,
  ConcentratorPage,
  ConcentratorView,
  CreateConcentratorDto,
  DeleteConcentratorQuery,
  LineView,
  ListConcentratorsQuery,
  RenameLineDto,
  UpdateConcentratorDto,
} from './dto/concentrator.dto';

@ApiV1('concentrators')
@Controller('api/v1/concentrators')
export class ConcentratorsController {
  constructor(
    private readonly service: ConcentratorsService,
    private readonly lineNames: LineNamesService,
  ) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: 'List concentrators (managed and pending)' })
  @ApiOkResponse({ type: ConcentratorPage })
  list(@Query() q: ListConcentratorsQuery): Promise<ConcentratorPage> {
    return this.service.list(q);
  }

  @Post()
  @MinRole('admin')
  @ApiOperation({ summary: 'Register a concentrator as managed' })
  @ApiCreatedResponse({ type: ConcentratorCreatedView })
  @ApiConflictResponse({ description: 'serial exists' })
  async create(
    @Body() dto: CreateConcentratorDto,
    @CurrentActor() actor: Actor | null,
  ): Promise<ConcentratorCreatedView> {
    const { concentrator, mqttPassword } = await this.service.create(dto, actor);
    return { ...(await this.service.view(concentrator)), mqttPassword };
  }

  @Get(':sn')
  @MinRole('viewer')
  @ApiOperation({
    summary: 'One concentrator: state, connectivity, firmware, clock flag, sync state',
  })
  @ApiOkResponse({ type: ConcentratorView })
  @ApiNotFoundResponse()
  async get(@Param('sn', SerialPipe) sn: string): Promise<ConcentratorView> {
    return this.service.view(await this.service.get(sn));
  }

  @Patch(':sn')
  @MinRole('admin')
  @ApiOperation({ summary: 'Rename or move a concentrator to another site' })
  @ApiOkResponse({ type: ConcentratorView })
  async update(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: UpdateConcentratorDto,
    @CurrentActor() actor: Actor | null,
  ): Promise<ConcentratorView> {
    return this.service.view(await this.service.update(sn, dto, actor));
  }

  @Post(':sn/adopt')
  @HttpCode(200)
  @MinRole('admin')
  @ApiOperation({
    summary: 'Adopt a pending concentrator (pending → managed)',
    description:
      'When the device has no MQTT password yet (discovered under open enrollment), one is ' +
      'generated and returned once as mqttPassword; a device that has one keeps it.',
  })
  @ApiOkResponse({ type: ConcentratorCreatedView })
  @ApiConflictResponse({ description: 'already managed' })
  async adopt(
    @Param('sn', SerialPipe) sn: string,
    @Body() dto: AdoptConcentratorDto,
    @CurrentActor() actor: Actor | null,
  ): Promise<ConcentratorCreatedView> {
    const { concentrator, mqttPassword } = await this.service.adopt(sn, dto, actor);
    const view = await this.service.view(concentrator);
    return mqttPassword ? { ...view, mqttPassword } : view;
  }

  @Post(':sn/release')
  @HttpCode(200)
  @MinRole('admin')
  @ApiOperation({ summary: 'Release a managed concentrator (managed → pending)' })
  @ApiOkResponse({ type: ConcentratorView })
  async release(
    @Param('sn', SerialPipe) sn: string,
    @CurrentActor() actor: Actor | null,
  ): Promise<ConcentratorView> {
    return this.service.view(await this.service.release(sn, actor));
  }

  @Delete(':sn')
  @HttpCode(204)
  @MinRole('admin')
  @ApiOperation({ summary: 'Delete a pending concentrator; telemetry kept unless purge=true' })
  @ApiNoContentResponse()
  @ApiConflictResponse({ description: 'managed: release it first' })
  async remove(
    @Param('sn', SerialPipe) sn: string,
    @Query() q: DeleteConcentratorQuery,
    @CurrentActor() actor: Actor | null,
  ): Promise<void> {
    await this.service.remove(sn, q.purge ?? false, actor);
  }

  @Get(':sn/lines')
  @MinRole('viewer')
  @ApiOperation({ summary: 'Breaker lines and their names' })
  @ApiOkResponse({ type: [LineView] })
  lines(@Param('sn', SerialPipe) sn: string): Promise<LineView[]> {
    return this.lineNames.listLines(sn);
  }

  @Patch(':sn/lines/:line')
  @MinRole('operator')
  @ApiOperation({ summary: 'Name a breaker line' })
  @ApiOkResponse({ type: LineView })
  renameLine(
    @Param('sn', SerialPipe) sn: string,
    @Param('line', LinePipe) line: number,
    @Body() dto: RenameLineDto,
    @CurrentActor() actor: Actor | null,
  ): Promise<LineView> {
    return this.lineNames.renameLine(sn, line, dto.name, actor);
  }
}
