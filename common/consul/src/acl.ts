/**
 * Consul ACLs: the agent denies by default, and each component gets a token that allows what it
 * does and nothing more: register its own service (and its health check), read the services it
 * connects to. A service cannot register as another (a rogue `gateway` registration would be an
 * NGINX upstream) or deregister one. Who may do what is listed here, in one place.
 */
import type { ConsulClient } from './ConsulClient';

/** Components that talk to Consul with a token of their own. */
export const CONSUL_IDENTITIES = [
  'media',
  'signaling',
  'gateway',
  'ui',
  'log-viewer',
  'events',
  'nginx',
  'prometheus',
] as const;
export type ConsulIdentity = (typeof CONSUL_IDENTITIES)[number];

const write = (service: string) => `service "${service}" { policy = "write" }`;
const read = (service: string) => `service "${service}" { policy = "read" }`;
const READ_ALL = 'service_prefix "" { policy = "read" }';
/** Health queries name the node each instance runs on. */
const NODES = 'node_prefix "" { policy = "read" }';

export const CONSUL_RULES: Record<ConsulIdentity, string[]> = {
  media: [write('media'), NODES],
  // Finds media nodes (placement, failover).
  signaling: [write('signaling'), read('media'), NODES],
  // /api/health reports every service; join tokens carry the TURN servers.
  gateway: [write('gateway'), READ_ALL, NODES],
  ui: [write('ui'), NODES],
  'log-viewer': [write('log-viewer'), NODES],
  events: [write('events'), NODES],
  // Its upstreams.
  nginx: [read('ui'), read('gateway'), read('signaling'), read('log-viewer'), NODES],
  // Scrapes whatever registers.
  prometheus: [READ_ALL, NODES],
};

export const policyName = (identity: ConsulIdentity) => `switchboard-${identity}`;

/** The variable that holds a component's token secret in Compose's .env (CONSUL_TOKEN_LOG_VIEWER). */
export const tokenVariable = (identity: ConsulIdentity) =>
  `CONSUL_TOKEN_${identity.toUpperCase().replace(/-/g, '_')}`;

/**
 * Writes every component's policy and makes a token for each of `identities`; returns their
 * secrets. `admin` needs a token with acl = "write" (the management token). With `secrets` (the
 * operator's, e.g. Compose's .env), each token gets that secret, and a second run updates the
 * same tokens instead of making new ones.
 */
export async function createServiceTokens(
  admin: ConsulClient,
  identities: readonly ConsulIdentity[] = CONSUL_IDENTITIES,
  secrets: Partial<Record<ConsulIdentity, string>> = {},
  /** How long to wait for Consul to answer and know the management token (it may be starting). */
  readyTimeoutMs = 15_000,
): Promise<Record<ConsulIdentity, string>> {
  // The ACL system comes up a moment after the leader is elected.
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await admin.tokenReady())) {
    if (Date.now() > deadline) {
      throw new Error('consul does not know the management token (are ACLs on, with this token?)');
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const tokens: Partial<Record<ConsulIdentity, string>> = {};
  for (const identity of identities) {
    await admin.upsertPolicy(
      policyName(identity),
      CONSUL_RULES[identity].join('\n'),
      `Switchboard ${identity}: what it needs from Consul`,
    );
    const secret = secrets[identity];
    if (secret) {
      await admin.upsertToken(secret, `switchboard ${identity}`, [policyName(identity)]);
      tokens[identity] = secret;
    } else {
      tokens[identity] = await admin.createToken(`switchboard ${identity}`, [policyName(identity)]);
    }
  }
  return tokens as Record<ConsulIdentity, string>;
}

/** The agent configuration that turns ACLs on, default deny, with this management token. */
export function aclAgentConfig(managementToken: string): Record<string, unknown> {
  return {
    acl: {
      enabled: true,
      default_policy: 'deny',
      // A service keeps what it could read while the servers are briefly unreachable.
      down_policy: 'extend-cache',
      enable_token_persistence: false,
      // `master` (renamed initial_management in Consul 1.11, which still reads the old name): the
      // Consul binary the native run fetches is 1.8.
      tokens: { master: managementToken, agent: managementToken },
    },
  };
}
