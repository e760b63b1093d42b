import { Body, Controller, Headers, HttpCode, Post, UseFilters } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  EmqxAuthnRequest,
  EmqxAuthnResponse,
  EmqxAuthzRequest,
  EmqxAuthzResponse,
} from './dto/emqx.dto';
import { EmqxDenyFilter } from './emqx-deny.filter';
import { EmqxAuthnResult, EmqxAuthzResult, EmqxHooksService } from './emqx-hooks.service';

export const HOOK_SECRET_HEADER = 'x-broker-hook-secret';

const secretHeader = {
  name: HOOK_SECRET_HEADER,
  required: true,
  description: 'BROKER_HOOK_SECRET; when unset on the server the hooks deny everything',
};

// Bodies are `unknown` on purpose: the global ValidationPipe skips them, so
// unknown or missing fields become a deny rather than a 400.
@ApiTags('broker')
@UseFilters(EmqxDenyFilter)
@Controller('broker/emqx')
export class EmqxHooksController {
  constructor(private readonly hooks: EmqxHooksService) {}

  @Post('authn')
  @HttpCode(200)
  @ApiOperation({
    summary: 'EMQX 5 HTTP authenticator (no bearer token; shared secret header)',
    description: 'Always 200 with {"result":"allow"|"deny","is_superuser":false}.',
  })
  @ApiHeader(secretHeader)
  @ApiBody({ type: EmqxAuthnRequest })
  @ApiOkResponse({ type: EmqxAuthnResponse })
  authn(
    @Body() body: unknown,
    @Headers(HOOK_SECRET_HEADER) secret: string | undefined,
  ): Promise<EmqxAuthnResult> {
    return this.hooks.authn(body, secret);
  }

  @Post('authz')
  @HttpCode(200)
  @ApiOperation({
    summary: 'EMQX 5 HTTP authorizer (no bearer token; shared secret header)',
    description: 'Always 200 with {"result":"allow"|"deny"}.',
  })
  @ApiHeader(secretHeader)
  @ApiBody({ type: EmqxAuthzRequest })
  @ApiOkResponse({ type: EmqxAuthzResponse })
  authz(
    @Body() body: unknown,
    @Headers(HOOK_SECRET_HEADER) secret: string | undefined,
  ): Promise<EmqxAuthzResult> {
    return this.hooks.authz(body, secret);
  }
}
