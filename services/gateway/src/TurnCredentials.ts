/**
 * Short-lived TURN credentials in the TURN REST API scheme coturn's `use-auth-secret` checks:
 * username `<expiry unix seconds>:<subject>`, password base64(HMAC-SHA1(secret, username)). The
 * TURN servers are the `turn` instances passing in Consul, so a browser is only sent to one that
 * is up.
 */
import { createHmac } from 'node:crypto';
import type { ConsulClient, ServiceInstance } from '@switchboard/consul';
import type { Logger } from '@switchboard/logger';
import type { IceServer } from '@switchboard/protocol';

/** How long the list of TURN servers from Consul is reused (ms). */
const DISCOVERY_CACHE_MS = 5000;

export class TurnCredentials {
  readonly #consul: ConsulClient;
  readonly #secret: string;
  readonly #ttlSeconds: number;
  readonly #logger: Logger;
  #cached?: { at: number; instances: ServiceInstance[] };

  constructor(opts: { consul: ConsulClient; secret: string; ttlSeconds: number; logger: Logger }) {
    this.#consul = opts.consul;
    this.#secret = opts.secret;
    this.#ttlSeconds = opts.ttlSeconds;
    this.#logger = opts.logger;
  }

  /** ICE servers for `subject` (one entry with UDP and TCP URLs per TURN server); [] when none is up. */
  async iceServers(subject: string, now = Date.now()): Promise<IceServer[]> {
    const instances = await this.#instances(now);
    if (instances.length === 0) {
      return [];
    }
    const username = `${Math.floor(now / 1000) + this.#ttlSeconds}:${subject}`;
    const credential = createHmac('sha1', this.#secret).update(username).digest('base64');
    return instances.map((instance) => ({
      urls: ['udp', 'tcp'].map(
        (transport) => `turn:${hostForUrl(instance.address)}:${instance.port}?transport=${transport}`,
      ),
      username,
      credential,
    }));
  }

  async #instances(now: number): Promise<ServiceInstance[]> {
    if (this.#cached && now - this.#cached.at < DISCOVERY_CACHE_MS) {
      return this.#cached.instances;
    }
    try {
      const instances = await this.#consul.instances('turn', { passingOnly: true });
      this.#cached = { at: now, instances };
      return instances;
    } catch (error) {
      // Calls still work without TURN on most networks: join without it rather than fail.
      this.#logger.warn({ err: error }, 'could not look up TURN servers in Consul; joining without TURN');
      return this.#cached?.instances ?? [];
    }
  }
}

/** IPv6 addresses go in brackets in a URL. */
function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
