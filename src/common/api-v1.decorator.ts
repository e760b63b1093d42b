import { applyDecorators } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiForbiddenResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';

/** Swagger metadata every bearer-protected /api/v1 controller shares. */
export const ApiV1 = (tag: string) =>
  applyDecorators(
    ApiTags(tag),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'missing or invalid token' }),
    ApiForbiddenResponse({ description: 'role too low' }),
    // Tokens other than the bootstrap one are looked up in the database, so any route can say so.
    ApiServiceUnavailableResponse({
      description:
        '`database_unavailable`: the database is down or did not answer in time (token ' +
        'lookup included); retry after `Retry-After` seconds',
      headers: { 'Retry-After': { description: 'seconds to wait', schema: { type: 'integer' } } },
      example: {
        statusCode: 503,
        error: 'Service Unavailable',
        message: 'database unavailable: it cannot be reached; retry later',
        code: 'database_unavailable',
      },
    }),
  );
