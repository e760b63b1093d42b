import { Body, Controller, Get, Ip, Param, Put, Query } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
} from '@nestjs/swagger';
import { ApiV1 } from '../common/api-v1.decorator';
import { CurrentActor } from '../identity/actor.decorator';
import { Actor, MinRole } from '../identity/roles';
import { ListTariffsQuery, PutTariffDto, TariffPage, TariffView } from './dto/tariff.dto';
import { TariffIdPipe } from './tariff-id.pipe';
import { TariffsService } from './tariffs.service';

const ID_PARAM = {
  name: 'id',
  example: 'residential-tou',
  description:
    'a slug: 1 to 64 lowercase letters, digits and hyphens, starting with a letter or digit',
};

@ApiV1('tariffs')
@Controller('api/v1/tariffs')
export class TariffsController {
  constructor(private readonly service: TariffsService) {}

  @Get()
  @MinRole('viewer')
  @ApiOperation({ summary: 'List tariffs with their assignments, by id, paginated' })
  @ApiOkResponse({ type: TariffPage })
  list(@Query() q: ListTariffsQuery): Promise<TariffPage> {
    return this.service.list(q);
  }

  @Get(':id')
  @MinRole('viewer')
  @ApiOperation({
    summary: 'One tariff: currency, zone, rate periods, assigned concentrators and sites',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: TariffView })
  @ApiBadRequestResponse({ description: 'the id is not a slug' })
  @ApiNotFoundResponse({ description: 'no such tariff' })
  get(@Param('id', TariffIdPipe) id: string): Promise<TariffView> {
    return this.service.get(id);
  }

  @Put(':id')
  @MinRole('operator')
  @ApiOperation({
    summary: 'Create or replace a tariff and its assignments (idempotent)',
    description:
      'A time-of-use tariff: a price per kWh for each local hour 0–23 of its IANA time ' +
      'zone, in rate periods that take effect at local midnight of their `effectiveFrom` ' +
      'date. It prices the energy of the concentrators listed in `concentrators` and of ' +
      "every concentrator whose `site` is listed in `sites`; a concentrator's own tariff " +
      "wins over its site's. The body replaces the whole tariff, assignment lists " +
      'included (omitted lists mean none). Audited as `tariff.put`. Used by ' +
      '`GET …/concentrators/{sn}/energy?cost=true` and `…/statement`.',
  })
  @ApiParam(ID_PARAM)
  @ApiOkResponse({ type: TariffView, description: 'the tariff as stored (created or replaced)' })
  @ApiBadRequestResponse({
    description:
      'a bad id, currency, zone, date or price; not 24 prices; two rate periods on one ' +
      'date; an unknown field',
  })
  @ApiConflictResponse({
    description: 'a listed concentrator or site is assigned to another tariff',
  })
  put(
    @Param('id', TariffIdPipe) id: string,
    @Body() dto: PutTariffDto,
    @CurrentActor() actor: Actor | null,
    @Ip() ip: string,
  ): Promise<TariffView> {
    return this.service.put(id, dto, actor, ip);
  }
}
