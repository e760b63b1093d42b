import { Body, Controller, Delete, Get, HttpCode, Ip, Param, Post, Query } from '@nestjs/common';
import { ApiV1 } from '../common/api-v1.decorator';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
} from '@nestjs/swagger';
import { MinRole } from '../identity/roles';
import type { Actor } from '../identity/roles';
import { CurrentActor } from '../identity/actor.decorator';
import { CreateTokenDto, ListTokensQuery, TokenCreatedView, TokenPage } from './dto/token.dto';
import { TokensService } from './tokens.service';

@ApiV1('tokens')
@Controller('api/v1/tokens')
export class TokensController {
  constructor(private readonly service: TokensService) {}

  @Post()
  @MinRole('admin')
  @ApiOperation({ summary: 'Issue an API token; the secret is in this response only' })
  @ApiCreatedResponse({ type: TokenCreatedView })
  create(
    @Body() dto: CreateTokenDto,
    @CurrentActor() actor: Actor,
    @Ip() ip: string,
  ): Promise<TokenCreatedView> {
    return this.service.create(dto, actor, ip);
  }

  @Get()
  @MinRole('admin')
  @ApiOperation({
    summary: 'API tokens, newest first (no secrets): role, expiry, last use, revocation',
  })
  @ApiOkResponse({ type: TokenPage })
  list(@Query() q: ListTokensQuery): Promise<TokenPage> {
    return this.service.list(q);
  }

  @Delete(':id')
  @HttpCode(204)
  @MinRole('admin')
  @ApiOperation({ summary: 'Revoke a token: refused (401) from the next request on' })
  @ApiNoContentResponse()
  @ApiNotFoundResponse({ description: 'unknown token id' })
  async revoke(
    @Param('id') id: string,
    @CurrentActor() actor: Actor,
    @Ip() ip: string,
  ): Promise<void> {
    await this.service.revoke(id, actor, ip);
  }
}
