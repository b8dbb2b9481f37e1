/**
 * Compose's one-shot `consul-acl` service: with Consul's management token, writes each
 * component's policy (common/consul/src/acl.ts) and makes its token with the secret the operator
 * chose in .env (scripts/compose/secrets.sh writes them), so every container gets only its own
 * token through its environment. Running it again updates the same tokens. Exits 0 when done.
 *
 * Environment: CONSUL_HTTP_ADDR, CONSUL_MANAGEMENT_TOKEN, and CONSUL_TOKEN_<COMPONENT> for each
 * of media, signaling, gateway, ui, log-viewer, nginx, prometheus (LOG_VIEWER for log-viewer).
 */
import { z } from 'zod';
import { loadConfig } from '@switchboard/config';
import { CONSUL_IDENTITIES, ConsulClient, createServiceTokens, tokenVariable } from '@switchboard/consul';
import { createLogger } from '@switchboard/logger';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const uuid = (what: string) =>
  z
    .string({ error: `${what} is required (scripts/compose/secrets.sh writes one to .env)` })
    .regex(
      UUID,
      `${what} must be a UUID, as Consul's token secrets are (e.g. from \`cat /proc/sys/kernel/random/uuid\`)`,
    );

const schema = z.object({
  CONSUL_HTTP_ADDR: z.string().default('127.0.0.1:8500'),
  CONSUL_MANAGEMENT_TOKEN: uuid('CONSUL_MANAGEMENT_TOKEN'),
  ...Object.fromEntries(CONSUL_IDENTITIES.map((id) => [tokenVariable(id), uuid(tokenVariable(id))])),
});

async function main(): Promise<void> {
  const env = loadConfig('consul-acl', schema) as Record<string, string>;
  const log = createLogger({ service: 'consul-acl' }).logger;
  const admin = new ConsulClient(env.CONSUL_HTTP_ADDR, { token: env.CONSUL_MANAGEMENT_TOKEN });
  const secrets = Object.fromEntries(CONSUL_IDENTITIES.map((id) => [id, env[tokenVariable(id)]]));
  // Consul may still be starting (Compose starts this next to it): wait up to a minute for it.
  await createServiceTokens(admin, CONSUL_IDENTITIES, secrets, 60_000);
  log.info({ components: CONSUL_IDENTITIES }, 'consul ACL policies and tokens are in place');
}

main().catch((error: unknown) => {
  process.stderr.write(`consul-acl: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
