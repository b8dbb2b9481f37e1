/**
 * A small client for the Consul agent's HTTP API: register/deregister this instance with a real
 * health check, and find healthy instances of a service (with blocking queries for watchers).
 */
import { PermissionDeniedError, UnavailableError } from '@switchboard/errors';

export interface ServiceCheck {
  /** gRPC health check target "host:port" (grpc.health.v1). */
  grpc?: string;
  /** HTTP health check URL (2xx passes). */
  http?: string;
  /** TCP health check "host:port" (passes while it accepts connections). */
  tcp?: string;
  interval?: string;
  timeout?: string;
  deregisterCriticalServiceAfter?: string;
}

export interface ServiceRegistration {
  id: string;
  name: string;
  address: string;
  port: number;
  tags?: string[];
  meta?: Record<string, string>;
  check: ServiceCheck;
}

export interface ServiceInstance {
  id: string;
  name: string;
  address: string;
  port: number;
  meta: Record<string, string>;
  /** "passing", "warning" or "critical" (the worst of the instance's checks). */
  status: 'passing' | 'warning' | 'critical';
  checks: { name: string; status: string; output: string }[];
}

interface HealthEntry {
  Node: { Node: string; Address: string };
  Service: {
    ID: string;
    Service: string;
    Address: string;
    Port: number;
    Meta: Record<string, string> | null;
  };
  Checks: { Name: string; Status: string; Output: string; ServiceID: string }[];
}

const STATUS_RANK = { passing: 0, warning: 1, critical: 2 } as const;

export function consulBaseUrl(addr: string): string {
  const withScheme = /^https?:\/\//.test(addr) ? addr : `http://${addr}`;
  return withScheme.replace(/\/+$/, '');
}

export class ConsulClient {
  readonly baseUrl: string;
  readonly #timeoutMs: number;
  /** The ACL token sent with every request (X-Consul-Token); none: the agent's anonymous token. */
  readonly #token?: string;

  constructor(addr: string, options: { timeoutMs?: number; token?: string } = {}) {
    this.baseUrl = consulBaseUrl(addr);
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#token = options.token || undefined;
  }

  async #request(
    method: string,
    path: string,
    body?: unknown,
    signal?: AbortSignal,
    timeoutMs = this.#timeoutMs,
  ): Promise<Response> {
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (signal) {
      signals.push(signal);
    }
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(this.#token ? { 'x-consul-token': this.#token } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      if (signal?.aborted) {
        throw error;
      }
      throw new UnavailableError(`consul at ${this.baseUrl} is unreachable (${method} ${path})`, {
        cause: error,
      });
    }
    if (!response.ok) {
      const text = (await response.text().catch(() => '')).trim();
      if (response.status === 403) {
        throw new PermissionDeniedError(
          `consul refused ${method} ${path} (${text || 'permission denied'}): ${
            this.#token ? 'this token does not allow it' : 'no token given (set CONSUL_HTTP_TOKEN)'
          }`,
        );
      }
      throw new UnavailableError(`consul ${method} ${path} failed: ${response.status} ${text}`);
    }
    return response;
  }

  /** Creates or updates an ACL policy (needs a token with acl = "write"). */
  async upsertPolicy(name: string, rules: string, description: string): Promise<void> {
    const policies = (await (await this.#request('GET', '/v1/acl/policies')).json()) as {
      ID: string;
      Name: string;
    }[];
    const found = policies.find((policy) => policy.Name === name);
    const body = { Name: name, Rules: rules, Description: description };
    await (found
      ? this.#request('PUT', `/v1/acl/policy/${found.ID}`, body)
      : this.#request('PUT', '/v1/acl/policy', body));
  }

  /** Whether this client's token is known to the agent yet (ACLs start just after the leader). */
  async tokenReady(): Promise<boolean> {
    try {
      await this.#request('GET', '/v1/acl/token/self');
      return true;
    } catch {
      return false;
    }
  }

  /** A new ACL token holding these policies; returns its secret (needs acl = "write"). */
  async createToken(description: string, policies: string[]): Promise<string> {
    const body = { Description: description, Policies: policies.map((Name) => ({ Name })) };
    const created = (await (await this.#request('PUT', '/v1/acl/token', body)).json()) as {
      SecretID: string;
    };
    return created.SecretID;
  }

  /**
   * Makes (or brings up to date) the token whose secret is `secretId`, chosen by the operator:
   * running it again with the same secret changes the existing token's policies, not a second one.
   */
  async upsertToken(secretId: string, description: string, policies: string[]): Promise<void> {
    const body = { Description: description, Policies: policies.map((Name) => ({ Name })) };
    const existing = await new ConsulClient(this.baseUrl, { token: secretId, timeoutMs: this.#timeoutMs })
      .#request('GET', '/v1/acl/token/self')
      .then((response) => response.json() as Promise<{ AccessorID: string }>)
      .catch((error: unknown) => {
        if (error instanceof PermissionDeniedError) {
          return undefined; // no such token yet
        }
        throw error;
      });
    await (existing
      ? this.#request('PUT', `/v1/acl/token/${existing.AccessorID}`, body)
      : this.#request('PUT', '/v1/acl/token', { ...body, SecretID: secretId }));
  }

  async register(registration: ServiceRegistration): Promise<void> {
    const { check } = registration;
    await this.#request('PUT', '/v1/agent/service/register', {
      ID: registration.id,
      Name: registration.name,
      Address: registration.address,
      Port: registration.port,
      Tags: registration.tags ?? [],
      Meta: registration.meta ?? {},
      Check: {
        Name: `${registration.name} health`,
        GRPC: check.grpc,
        HTTP: check.http,
        TCP: check.tcp,
        Interval: check.interval ?? '2s',
        Timeout: check.timeout ?? '2s',
        DeregisterCriticalServiceAfter: check.deregisterCriticalServiceAfter ?? '1m',
      },
    });
  }

  async deregister(id: string): Promise<void> {
    await this.#request('PUT', `/v1/agent/service/deregister/${encodeURIComponent(id)}`);
  }

  /** Every registered instance of a service with its health (passing or not). */
  async instances(name: string, options: { passingOnly?: boolean } = {}): Promise<ServiceInstance[]> {
    const query = options.passingOnly ? '?passing=true' : '';
    const response = await this.#request('GET', `/v1/health/service/${encodeURIComponent(name)}${query}`);
    return ((await response.json()) as HealthEntry[]).map(toInstance);
  }

  /**
   * A blocking query: resolves when the passing instances of `name` change after `index` (or after
   * `wait`). Returns the instances and the index to pass next time.
   */
  async watchPassing(
    name: string,
    index: string | undefined,
    options: { wait?: string; signal?: AbortSignal } = {},
  ): Promise<{ instances: ServiceInstance[]; index: string }> {
    const wait = options.wait ?? '30s';
    const params = new URLSearchParams({ passing: 'true', wait });
    if (index) {
      params.set('index', index);
    }
    const response = await this.#request(
      'GET',
      `/v1/health/service/${encodeURIComponent(name)}?${params}`,
      undefined,
      options.signal,
      parseDurationMs(wait) + 10_000,
    );
    const instances = ((await response.json()) as HealthEntry[]).map(toInstance);
    return { instances, index: response.headers.get('x-consul-index') ?? '0' };
  }

  /** Names of every service in the catalog. */
  /** Whether this agent holds a registration with this id (an agent restarted in dev mode has none). */
  async isRegistered(id: string): Promise<boolean> {
    const response = await this.#request('GET', '/v1/agent/services');
    return Object.hasOwn((await response.json()) as Record<string, unknown>, id);
  }

  async services(): Promise<string[]> {
    const response = await this.#request('GET', '/v1/catalog/services');
    return Object.keys((await response.json()) as Record<string, unknown>).filter(
      (name) => name !== 'consul',
    );
  }

  /** The agent's leader, to tell whether Consul is up. */
  async leader(): Promise<string> {
    const response = await this.#request('GET', '/v1/status/leader');
    return (await response.json()) as string;
  }
}

function toInstance(entry: HealthEntry): ServiceInstance {
  const checks = entry.Checks.filter(
    (check) => check.ServiceID === entry.Service.ID || check.ServiceID === '',
  );
  let status: ServiceInstance['status'] = 'passing';
  for (const check of checks) {
    const checkStatus = (
      check.Status in STATUS_RANK ? check.Status : 'critical'
    ) as ServiceInstance['status'];
    if (STATUS_RANK[checkStatus] > STATUS_RANK[status]) {
      status = checkStatus;
    }
  }
  return {
    id: entry.Service.ID,
    name: entry.Service.Service,
    address: entry.Service.Address || entry.Node.Address,
    port: entry.Service.Port,
    meta: entry.Service.Meta ?? {},
    status,
    checks: checks.map((check) => ({ name: check.Name, status: check.Status, output: check.Output })),
  };
}

function parseDurationMs(duration: string): number {
  const match = /^(\d+)(ms|s|m)$/.exec(duration);
  if (!match) {
    return 30_000;
  }
  const value = Number(match[1]);
  return match[2] === 'ms' ? value : match[2] === 's' ? value * 1000 : value * 60_000;
}
