/** The gateway's configuration in tests: the real Consul, Postgres and Redis, an ephemeral port. */
import { testDatabaseUrl, testRedisUrl } from '@switchboard/testing';
import { readConfig, type GatewayConfig } from '../src/config';

export function testGatewayConfig(
  consulAddr: string,
  secret: string,
  extra: Record<string, string> = {},
): GatewayConfig {
  return readConfig({
    CONSUL_HTTP_ADDR: consulAddr,
    GATEWAY_PORT: '0',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: testRedisUrl(),
    JWT_SECRET: secret,
    ...extra,
  });
}
