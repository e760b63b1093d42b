/**
 * Whether PostgreSQL knows a time zone ($1): the energy query aligns hours
 * with `AT TIME ZONE`, so a zone the API's validator (ICU) accepts but the
 * database does not would fail every cost query later. Error 22023 when unknown.
 */
export const CHECK_TIME_ZONE = `SELECT now() AT TIME ZONE $1::text AS local`;
