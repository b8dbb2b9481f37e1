/**
 * The native stack: starts Consul, the services, NGINX (and Prometheus when installed) as child
 * processes in dependency order, waits for each to pass its Consul health check, and stops
 * everything it started. Used by the launcher (`npm start`), the end-to-end tests and the
 * benchmarks. Postgres and Redis are used where DATABASE_URL / REDIS_URL point (or the local
 * defaults), started locally when they are installed but not running.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import {
  aclAgentConfig,
  ConsulClient,
  createServiceTokens,
  registerService,
  type ConsulIdentity,
  type Registration,
} from '@switchboard/consul';
import { createLogger } from '@switchboard/logger';
import YAML from 'yaml';
import { preparePrefix, renderNginxConfig } from '../nginx/render';
import { tlsFiles, type TlsFiles } from '../nginx/tls';
import { coturnArgs } from './coturn';
import { ensurePostgres, ensureRedis, portOpen, StackError, until, which } from './backends';

export { StackError };

export const ROOT = resolve(import.meta.dirname, '..');

export interface StackPorts {
  http: number;
  /** NGINX's HTTPS port (the same site over TLS). */
  https: number;
  consulHttp: number;
  consulDns: number;
  consulSerfLan: number;
  consulServer: number;
  consulGrpc: number;
  ui: number;
  gateway: number;
  signaling: number;
  /** Signaling's server API over gRPC (RoomService); instance i on this + i. */
  signalingApi: number;
  logViewer: number;
  /** The events service's health and metrics. */
  events: number;
  mediaGrpc: number;
  mediaMetrics: number;
  rtcMin: number;
  rtcMax: number;
  prometheus: number;
  /** Alertmanager (with Prometheus, when installed). */
  alertmanager: number;
  /** Grafana (with Prometheus, when installed: it is not in Debian). */
  grafana: number;
  /** coturn's listening port (UDP and TCP) and the range it relays media from. */
  turn: number;
  turnRelayMin: number;
  turnRelayMax: number;
}

/** Defaults of the native stack; the README's ports table lists the same. */
export const DEFAULT_PORTS: StackPorts = {
  http: 8080,
  https: 8443,
  consulHttp: 8500,
  consulDns: 8600,
  consulSerfLan: 8301,
  consulServer: 8300,
  consulGrpc: 8502,
  ui: 3000,
  gateway: 4000,
  signaling: 4100,
  signalingApi: 4150,
  logViewer: 4200,
  events: 4300,
  mediaGrpc: 50051,
  mediaMetrics: 9101,
  rtcMin: 40000,
  rtcMax: 40100,
  prometheus: 9090,
  alertmanager: 9093,
  grafana: 3001,
  turn: 3478,
  turnRelayMin: 40200,
  turnRelayMax: 40299,
};

export interface StackOptions {
  ports?: Partial<StackPorts>;
  /** Where logs, NGINX prefix, Consul data and the secret live (default <repo>/.run). */
  runDir?: string;
  databaseUrl?: string;
  redisUrl?: string;
  /** Media workers per node (default: one per core). */
  mediaWorkers?: number;
  /**
   * Media nodes to run (default 1). Node i listens on the base ports + i and gets its own slice of
   * the RTC port range; all register as `media` in Consul.
   */
  mediaNodes?: number;
  /** Signaling instances (default 1), on the signaling port + i, joined through Redis. */
  signalingInstances?: number;
  logLevel?: string;
  /**
   * NGINX's HTTPS certificate and key files; without them a self-signed certificate for localhost
   * is made on first start in `<run dir>/tls`.
   */
  tls?: { certificate?: string; key?: string };
  /** Start Prometheus, Alertmanager and Grafana when their binaries are installed (default true). */
  prometheus?: boolean;
  /** Progress lines (default: stdout). */
  log?: (line: string) => void;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /**
   * Restart a service (media, signaling, gateway, ui, log-viewer) that exits while the stack runs,
   * up to 3 times in 5 minutes (default false: report it through onUnexpectedExit).
   */
  restart?: boolean;
}

const RESTART_BUDGET = { count: 3, windowMs: 5 * 60_000 };

interface Child {
  name: string;
  process: ChildProcess;
  outFile: string;
  /** Stop gracefully: the signal to send. */
  stopSignal: NodeJS.Signals;
  exited: Promise<number | null>;
}

function tail(file: string, lines = 20): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no output)';
  }
}

/** `media`, `media-2`, `media-3`, … */
function instanceName(service: string, index: number): string {
  return index === 0 ? service : `${service}-${index + 1}`;
}

export class Stack {
  readonly ports: StackPorts;
  readonly runDir: string;
  /** Where the gateway writes the one-time operator setup code while no account is an operator. */
  get setupCodeFile(): string {
    return join(this.runDir, 'operator-setup-code');
  }
  readonly logDir: string;
  readonly url: string;
  /** The same site over TLS. */
  readonly httpsUrl: string;
  /** NGINX's certificate (self-signed unless StackOptions.tls gave one); set once NGINX starts. */
  tls?: TlsFiles;
  readonly consul: ConsulClient;
  readonly #options: StackOptions;
  readonly #log: (line: string) => void;
  readonly #children: Child[] = [];
  #nginxUpstreams = '';
  #consulTokens?: Partial<Record<ConsulIdentity, string>>;
  /** coturn's Consul registration (the stack registers it: coturn cannot). */
  #turnRegistration?: Registration;
  /** Consul registrations the NGINX renderer refused (reported once each). */
  readonly #rejectedUpstreams = new Set<string>();
  #watchTimer?: NodeJS.Timeout;
  #targetsTimer?: NodeJS.Timeout;
  #stopping = false;
  #running = false;
  /** How each service was started, to start it again. */
  readonly #services = new Map<
    string,
    { service: string; port: number; entry: string; env: Record<string, string> }
  >();
  readonly #restarts = new Map<string, number[]>();
  #onUnexpectedExit?: (name: string, code: number | null, output: string) => void;

  private constructor(options: StackOptions) {
    this.#options = options;
    this.ports = { ...DEFAULT_PORTS, ...options.ports };
    this.runDir = resolve(ROOT, options.runDir ?? '.run');
    this.logDir = join(this.runDir, 'logs');
    this.url = `http://localhost:${this.ports.http}`;
    this.httpsUrl = `https://localhost:${this.ports.https}`;
    this.consul = new ConsulClient(`127.0.0.1:${this.ports.consulHttp}`, {
      timeoutMs: 2000,
      token: this.consulManagementToken,
    });
    this.#log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  }

  /** Starts everything; on failure stops what it started and throws a StackError that says why. */
  static async start(options: StackOptions = {}): Promise<Stack> {
    const stack = new Stack(options);
    try {
      await stack.#start();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** Called when a component exits on its own while the stack runs. */
  onUnexpectedExit(handler: (name: string, code: number | null, output: string) => void): void {
    this.#onUnexpectedExit = handler;
  }

  get databaseUrl(): string {
    return this.#options.databaseUrl ?? 'postgres://postgres@127.0.0.1:5432/switchboard';
  }

  get redisUrl(): string {
    return this.#options.redisUrl ?? 'redis://127.0.0.1:6379';
  }

  async #start(): Promise<void> {
    const started = Date.now();
    mkdirSync(this.logDir, { recursive: true });
    await this.#checkPortsFree();
    await this.#ensurePostgres();
    await this.#ensureRedis();
    await this.#startConsul();
    const secret = this.#secret('jwt-secret');
    const turnSecret = this.#secret('turn-secret');
    const serviceSecret = this.serviceSecret;
    await this.#startTurn(turnSecret);
    const common: Record<string, string> = {
      CONSUL_HTTP_ADDR: `127.0.0.1:${this.ports.consulHttp}`,
      LOG_DIR: this.logDir,
      LOG_LEVEL: this.#options.logLevel ?? 'info',
      DATABASE_URL: this.databaseUrl,
      REDIS_URL: this.redisUrl,
      JWT_SECRET: secret,
      NEXT_TELEMETRY_DISABLED: '1',
      ...this.#options.env,
    };
    // Media first (signaling needs it), then the rest side by side.
    const mediaNodes = this.#options.mediaNodes ?? 1;
    const rtcSlice = Math.floor((this.ports.rtcMax - this.ports.rtcMin + 1) / mediaNodes);
    await Promise.all(
      Array.from({ length: mediaNodes }, (_, i) =>
        this.#startService(
          instanceName('media', i),
          'media',
          this.ports.mediaGrpc + i,
          'services/media/src/server.ts',
          {
            ...common,
            CONSUL_HTTP_TOKEN: this.#consulToken('media'),
            SERVICE_SECRET: serviceSecret,
            MEDIA_GRPC_PORT: String(this.ports.mediaGrpc + i),
            MEDIA_METRICS_PORT: String(this.ports.mediaMetrics + i),
            MEDIA_RTC_MIN_PORT: String(this.ports.rtcMin + i * rtcSlice),
            MEDIA_RTC_MAX_PORT: String(this.ports.rtcMin + (i + 1) * rtcSlice - 1),
            ...(this.#options.mediaWorkers ? { MEDIA_NUM_WORKERS: String(this.#options.mediaWorkers) } : {}),
          },
        ),
      ),
    );
    await Promise.all([
      ...Array.from({ length: this.#options.signalingInstances ?? 1 }, (_, i) =>
        this.#startService(
          instanceName('signaling', i),
          'signaling',
          this.ports.signaling + i,
          'services/signaling/src/server.ts',
          {
            ...common,
            CONSUL_HTTP_TOKEN: this.#consulToken('signaling'),
            SERVICE_SECRET: serviceSecret,
            SIGNALING_PORT: String(this.ports.signaling + i),
            SIGNALING_API_PORT: String(this.ports.signalingApi + i),
          },
        ),
      ),
      this.#startService('gateway', 'gateway', this.ports.gateway, 'services/gateway/src/server.ts', {
        ...common,
        CONSUL_HTTP_TOKEN: this.#consulToken('gateway'),
        GATEWAY_PORT: String(this.ports.gateway),
        TURN_SECRET: turnSecret,
        SWITCHBOARD_SETUP_CODE_FILE: this.setupCodeFile,
      }),
      this.#startService('log-viewer', 'log-viewer', this.ports.logViewer, 'log-viewer/src/server.ts', {
        ...common,
        CONSUL_HTTP_TOKEN: this.#consulToken('log-viewer'),
        LOG_VIEWER_PORT: String(this.ports.logViewer),
        LOG_VIEWER_DIR: this.logDir,
      }),
      this.#startService('events', 'events', this.ports.events, 'services/events/src/server.ts', {
        ...common,
        CONSUL_HTTP_TOKEN: this.#consulToken('events'),
        EVENTS_PORT: String(this.ports.events),
      }),
      this.#startService('ui', 'ui', this.ports.ui, 'ui/src/server.ts', {
        ...common,
        CONSUL_HTTP_TOKEN: this.#consulToken('ui'),
        UI_PORT: String(this.ports.ui),
      }),
    ]);
    await this.#startNginx();
    if (this.#options.prometheus !== false) {
      await this.#startPrometheus();
    }
    this.#running = true;
    this.#log(`    all components healthy in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }

  async #checkPortsFree(): Promise<void> {
    const named: [string, number][] = [
      ['NGINX (HTTP)', this.ports.http],
      ['NGINX (HTTPS)', this.ports.https],
      ['Consul HTTP', this.ports.consulHttp],
      ['Consul serf', this.ports.consulSerfLan],
      ['Consul server', this.ports.consulServer],
      ['ui', this.ports.ui],
      ['gateway', this.ports.gateway],
      ['signaling', this.ports.signaling],
      ['log-viewer', this.ports.logViewer],
      ['events', this.ports.events],
      ['media gRPC', this.ports.mediaGrpc],
      ['media metrics', this.ports.mediaMetrics],
      ['TURN', this.ports.turn],
    ];
    for (let i = 1; i < (this.#options.mediaNodes ?? 1); i++) {
      named.push(
        [`media-${i + 1} gRPC`, this.ports.mediaGrpc + i],
        [`media-${i + 1} metrics`, this.ports.mediaMetrics + i],
      );
    }
    for (let i = 1; i < (this.#options.signalingInstances ?? 1); i++) {
      named.push([`signaling-${i + 1}`, this.ports.signaling + i]);
    }
    const taken: string[] = [];
    for (const [name, port] of named) {
      if (await portOpen(port)) {
        taken.push(`${name} port ${port}`);
      }
    }
    if (taken.length > 0) {
      throw new StackError(
        `already in use: ${taken.join(', ')}. Stop whatever holds them (another \`npm start\`?) or set other ports (see README, "Ports").`,
      );
    }
  }

  async #ensurePostgres(): Promise<void> {
    await ensurePostgres(this.databaseUrl, { explicit: !!this.#options.databaseUrl, log: this.#log });
  }

  async #ensureRedis(): Promise<void> {
    await ensureRedis(this.redisUrl, { explicit: !!this.#options.redisUrl, log: this.#log });
  }

  /**
   * The media gRPC API's service secret (signaling signs tokens with it, media nodes verify them),
   * kept in `<run dir>/service-secret`; only media and signaling get it.
   */
  get serviceSecret(): string {
    return this.#secret('service-secret');
  }

  /**
   * Consul's management token (ACLs are on, default deny), kept in `<run dir>/consul-management-token`:
   * the launcher uses it to make each component's token; operators use it for Consul's UI and CLI.
   */
  get consulManagementToken(): string {
    return this.#secret('consul-management-token', randomUUID);
  }

  /** A secret kept in the run directory (made on first start). */
  #secret(name: string, make: () => string = () => randomBytes(32).toString('hex')): string {
    const file = join(this.runDir, name);
    if (!existsSync(file)) {
      mkdirSync(this.runDir, { recursive: true });
      writeFileSync(file, make(), { mode: 0o600 });
    }
    return readFileSync(file, 'utf8').trim();
  }

  #spawn(
    name: string,
    command: string,
    args: string[],
    env: Record<string, string>,
    stopSignal: NodeJS.Signals = 'SIGTERM',
  ): Child {
    const outFile = join(this.logDir, `${name}.out`);
    const fd = openSync(outFile, 'a');
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const entry: Child = { name, process: child, outFile, stopSignal, exited };
    this.#children.push(entry);
    void exited.then((code) => {
      if (this.#stopping) {
        return;
      }
      if (this.#running && this.#options.restart && this.#services.has(name)) {
        void this.#restartService(name, code);
      } else {
        this.#onUnexpectedExit?.(name, code, tail(outFile));
      }
    });
    return entry;
  }

  async #startConsul(): Promise<void> {
    const consul = which(
      'consul',
      [process.env.CONSUL_BIN ?? '', join(ROOT, '.tools/consul/consul')].filter(Boolean),
    );
    if (!consul) {
      throw new StackError(
        'no consul binary: run `bash scripts/fetch-consul.sh` (npm start does it for you)',
      );
    }
    const dataDir = join(this.runDir, 'consul-data');
    rmSync(dataDir, { recursive: true, force: true });
    mkdirSync(dataDir, { recursive: true });
    // ACLs on, default deny; the management token stays in a file (not on a command line).
    const aclConfig = join(this.runDir, 'consul-acl.json');
    writeFileSync(aclConfig, JSON.stringify(aclAgentConfig(this.consulManagementToken)), { mode: 0o600 });
    this.#log(`==> starting consul (http://127.0.0.1:${this.ports.consulHttp}/ui)`);
    const child = this.#spawn(
      'consul',
      consul,
      [
        'agent',
        '-dev',
        '-client=127.0.0.1',
        '-bind=127.0.0.1',
        '-node=switchboard',
        `-config-file=${join(ROOT, 'consul/dev.hcl')}`,
        `-config-file=${aclConfig}`,
        `-data-dir=${dataDir}`,
        `-http-port=${this.ports.consulHttp}`,
        `-dns-port=${this.ports.consulDns}`,
        `-serf-lan-port=${this.ports.consulSerfLan}`,
        `-server-port=${this.ports.consulServer}`,
        `-grpc-port=${this.ports.consulGrpc}`,
        '-hcl=ports { serf_wan = -1 }',
      ],
      {},
      'SIGINT',
    );
    await this.#waitFor(child, 'consul leader', 30_000, async () => (await this.consul.leader()) !== '');
    // One token per component, allowing what it does and nothing more (common/consul/src/acl.ts).
    this.#consulTokens = await createServiceTokens(this.consul, [
      'media',
      'signaling',
      'gateway',
      'ui',
      'log-viewer',
      'events',
    ]).catch((error: unknown) => {
      throw new StackError(`consul ACLs: ${(error as Error).message}`);
    });
  }

  /** A component's Consul token (made at start). */
  #consulToken(identity: ConsulIdentity): string {
    const token = this.#consulTokens?.[identity];
    if (!token) {
      throw new StackError(`no consul token for ${identity}`);
    }
    return token;
  }

  async #waitFor(
    child: Child,
    what: string,
    timeoutMs: number,
    check: () => Promise<boolean>,
  ): Promise<void> {
    let exitCode: number | null | undefined;
    void child.exited.then((code) => {
      exitCode = code;
    });
    try {
      await until(what, timeoutMs, async () => {
        if (exitCode !== undefined) {
          throw new StackError(`${child.name} exited with code ${exitCode} while starting`);
        }
        return check();
      });
    } catch (error) {
      const reason =
        exitCode !== undefined ? `${child.name} exited with code ${exitCode}` : (error as Error).message;
      throw new StackError(
        `${child.name} failed to start: ${reason}. Last lines of ${child.outFile}:\n${tail(child.outFile)}`,
      );
    }
  }

  /** Starts a crashed service again within the restart budget; past it, reports the exit. */
  async #restartService(name: string, code: number | null): Promise<void> {
    const now = Date.now();
    const recent = (this.#restarts.get(name) ?? []).filter((t) => now - t < RESTART_BUDGET.windowMs);
    const outFile = join(this.logDir, `${name}.out`);
    const spec = this.#services.get(name);
    if (!spec || recent.length >= RESTART_BUDGET.count) {
      this.#onUnexpectedExit?.(name, code, tail(outFile));
      return;
    }
    recent.push(now);
    this.#restarts.set(name, recent);
    this.#log(
      `    ${name} exited unexpectedly (code ${code}); restarting (${recent.length}/${RESTART_BUDGET.count} in 5 min). Last lines:\n${tail(outFile, 5)}`,
    );
    try {
      await this.#startService(name, spec.service, spec.port, spec.entry, spec.env);
    } catch (error) {
      this.#onUnexpectedExit?.(name, code, (error as Error).message);
    }
  }

  /** The pid of a component's current process. */
  pid(name: string): number | undefined {
    return [...this.#children].reverse().find((c) => c.name === name && c.process.exitCode === null)?.process
      .pid;
  }

  /** Restarts done by the restart policy, per service (for tests and status). */
  restartCount(name: string): number {
    return this.#restarts.get(name)?.length ?? 0;
  }

  /** Starts one instance of `service` and waits until Consul reports it (its port) passing. */
  async #startService(
    name: string,
    service: string,
    port: number,
    entry: string,
    env: Record<string, string>,
  ): Promise<void> {
    this.#services.set(name, { service, port, entry, env });
    const t0 = Date.now();
    this.#log(`==> starting ${name}`);
    const child = this.#spawn(name, process.execPath, ['--import', 'tsx', entry], env);
    await this.#waitFor(child, `${name} to pass its Consul health check`, 90_000, async () => {
      const instances = await this.consul.instances(service, { passingOnly: true });
      return instances.some((instance) => instance.port === port);
    });
    this.#log(`    ${name} healthy (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  }

  #renderNginx(tls: TlsFiles): Promise<string> {
    return renderNginxConfig(this.consul, {
      prefix: join(this.runDir, 'nginx'),
      listen: String(this.ports.http),
      tls: { listen: String(this.ports.https), certificate: tls.certificate, key: tls.key },
      onRejected: (service, address, port) => {
        const key = `${service} ${address}:${port}`;
        if (!this.#rejectedUpstreams.has(key)) {
          this.#rejectedUpstreams.add(key);
          this.#log(
            `    nginx: ignoring a ${service} registration at ${JSON.stringify(address)}:${port} (not a plain host/IP and port)`,
          );
        }
      },
    });
  }

  /**
   * coturn with TURN REST API credentials (`use-auth-secret`: the gateway signs short-lived
   * credentials with the same secret), registered in Consul as `turn` with a TCP check. It relays
   * UDP only, and only to the address media nodes announce (loopback here: allowed for that).
   */
  async #startTurn(secret: string): Promise<void> {
    const turnserver = which('turnserver', ['/usr/bin/turnserver']);
    if (!turnserver) {
      throw new StackError(
        'coturn is not installed: run `npm start` as root once (it installs it) or `apt-get install coturn`',
      );
    }
    const dir = join(this.runDir, 'turn');
    mkdirSync(dir, { recursive: true });
    const host = this.#turnHost;
    const { turn: port, turnRelayMin, turnRelayMax } = this.ports;
    this.#log(`==> starting coturn (turn:${host}:${port}, relay ports ${turnRelayMin}-${turnRelayMax})`);
    const child = this.#spawn(
      'turn',
      turnserver,
      coturnArgs({
        host,
        port,
        relayMin: turnRelayMin,
        relayMax: turnRelayMax,
        secret,
        peer: host,
        dir,
      }),
      {},
    );
    // Kept like the services' own registrations: made again if the agent forgets it.
    const registration = await registerService(
      this.consul,
      {
        id: `turn-${host}-${port}`,
        name: 'turn',
        address: host,
        port,
        tags: ['turn', 'switchboard'],
        meta: { relay_ports: `${turnRelayMin}-${turnRelayMax}` },
        check: { tcp: `${host}:${port}`, interval: '5s', deregisterCriticalServiceAfter: '1m' },
      },
      createLogger({ service: 'launcher', level: 'warn', stdout: false }).logger,
    );
    this.#turnRegistration = registration;
    await this.#waitFor(child, 'coturn to pass its Consul check', 30_000, async () =>
      (await this.consul.instances('turn', { passingOnly: true })).some((i) => i.id === registration.id),
    );
  }

  /** Where browsers reach TURN (and media): TURN_ADVERTISE_HOST, else loopback. */
  get #turnHost(): string {
    return this.#options.env?.TURN_ADVERTISE_HOST ?? process.env.TURN_ADVERTISE_HOST ?? '127.0.0.1';
  }

  async #startNginx(): Promise<void> {
    const nginx = which('nginx', ['/usr/sbin/nginx']);
    if (!nginx) {
      throw new StackError(
        'nginx is not installed: run `npm start` as root once (it installs it) or `apt-get install nginx`',
      );
    }
    const prefix = join(this.runDir, 'nginx');
    preparePrefix(prefix);
    let tls: TlsFiles;
    try {
      tls = tlsFiles(join(this.runDir, 'tls'), this.#options.tls);
    } catch (error) {
      throw new StackError((error as Error).message);
    }
    this.tls = tls;
    const config = await this.#renderNginx(tls);
    this.#nginxUpstreams = config;
    writeFileSync(join(prefix, 'nginx.conf'), config);
    const test = spawnSync(nginx, ['-t', '-q', '-p', prefix, '-c', join(prefix, 'nginx.conf')], {
      encoding: 'utf8',
    });
    if (test.status !== 0) {
      throw new StackError(`nginx configuration is invalid:\n${test.stderr}`);
    }
    this.#log(
      `==> starting nginx on ${this.url} and ${this.httpsUrl}${tls.selfSigned ? ` (self-signed: ${tls.certificate})` : ''}`,
    );
    const child = this.#spawn(
      'nginx',
      nginx,
      ['-p', prefix, '-c', join(prefix, 'nginx.conf')],
      {},
      'SIGQUIT',
    );
    await this.#waitFor(child, 'nginx to answer', 15_000, async () => {
      const response = await fetch(`${this.url}/nginx-health`);
      return response.ok;
    });
    // Follow Consul: re-render and reload when the set of passing instances changes.
    this.#watchTimer = setInterval(() => {
      void this.#renderNginx(tls)
        .then((next) => {
          if (next !== this.#nginxUpstreams && !this.#stopping) {
            this.#nginxUpstreams = next;
            writeFileSync(join(prefix, 'nginx.conf'), next);
            child.process.kill('SIGHUP');
            this.#log('    nginx upstreams changed in Consul; reloaded');
          }
        })
        .catch(() => {});
    }, 3000);
  }

  /**
   * Debian's Prometheus is built without consul_sd_configs, so the native stack turns the
   * repository's Consul discovery into file discovery: the same Consul query (services tagged
   * `switchboard`, scraped at their `metrics_port` meta), written to a targets file every 3 s.
   */
  async #writePrometheusTargets(file: string): Promise<void> {
    const names = await this.consul.services();
    const groups = [];
    for (const name of names) {
      for (const instance of await this.consul.instances(name)) {
        if (instance.meta.metrics_port) {
          groups.push({
            targets: [`${instance.address}:${instance.meta.metrics_port}`],
            labels: { job: name, instance: instance.id },
          });
        }
      }
    }
    const next = JSON.stringify(groups, null, 2);
    if (!existsSync(file) || readFileSync(file, 'utf8') !== next) {
      writeFileSync(`${file}.tmp`, next);
      renameSync(`${file}.tmp`, file);
    }
  }

  /**
   * The repository's prometheus.yml with Consul discovery replaced by the targets file, and its
   * alerts sent to the native Alertmanager (`alertmanager`: host:port; none: no alerting).
   */
  static nativePrometheusConfig(targetsFile: string, alertmanager?: string): string {
    const config = YAML.parse(readFileSync(join(ROOT, 'observability/prometheus.yml'), 'utf8')) as {
      rule_files: string[];
      scrape_configs: Record<string, unknown>[];
      alerting?: unknown;
    };
    config.rule_files = config.rule_files.map((f) => join(ROOT, 'observability', f));
    config.scrape_configs = config.scrape_configs.map((job) => {
      const { consul_sd_configs: _consul, relabel_configs: _relabel, ...rest } = job;
      return { ...rest, file_sd_configs: [{ files: [targetsFile], refresh_interval: '5s' }] };
    });
    if (alertmanager) {
      config.alerting = { alertmanagers: [{ static_configs: [{ targets: [alertmanager] }] }] };
    } else {
      delete config.alerting;
    }
    return YAML.stringify(config);
  }

  /** The repository's Grafana provisioning with its datasource pointed at the native Prometheus. */
  static nativeGrafanaProvisioning(dir: string, prometheusUrl: string): void {
    const from = join(ROOT, 'observability/grafana/provisioning');
    mkdirSync(join(dir, 'datasources'), { recursive: true });
    mkdirSync(join(dir, 'dashboards'), { recursive: true });
    const datasources = YAML.parse(readFileSync(join(from, 'datasources/prometheus.yml'), 'utf8')) as {
      datasources: { url: string }[];
    };
    datasources.datasources = datasources.datasources.map((d) => ({ ...d, url: prometheusUrl }));
    writeFileSync(join(dir, 'datasources/prometheus.yml'), YAML.stringify(datasources));
    const dashboards = YAML.parse(readFileSync(join(from, 'dashboards/switchboard.yml'), 'utf8')) as {
      providers: { options: { path: string } }[];
    };
    dashboards.providers = dashboards.providers.map((p) => ({
      ...p,
      options: { ...p.options, path: join(ROOT, 'observability/grafana/dashboards') },
    }));
    writeFileSync(join(dir, 'dashboards/switchboard.yml'), YAML.stringify(dashboards));
  }

  async #startPrometheus(): Promise<void> {
    const prometheus = which('prometheus');
    if (!prometheus) {
      this.#log('    prometheus not installed; skipping (metrics are still served at each /metrics)');
      return;
    }
    const alertmanager = await this.#startAlertmanager();
    const dir = join(this.runDir, 'prometheus');
    mkdirSync(dir, { recursive: true });
    const targets = join(dir, 'targets.json');
    await this.#writePrometheusTargets(targets);
    writeFileSync(join(dir, 'prometheus.yml'), Stack.nativePrometheusConfig(targets, alertmanager));
    this.#log(`==> starting prometheus (http://127.0.0.1:${this.ports.prometheus})`);
    const child = this.#spawn(
      'prometheus',
      prometheus,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${this.ports.prometheus}`,
        '--storage.tsdb.retention.time=2d',
      ],
      {},
    );
    await this.#waitFor(child, 'prometheus to be ready', 30_000, async () => {
      const response = await fetch(`http://127.0.0.1:${this.ports.prometheus}/-/ready`);
      return response.ok;
    });
    this.#targetsTimer = setInterval(() => void this.#writePrometheusTargets(targets).catch(() => {}), 3000);
    await this.#startGrafana();
  }

  /** Alertmanager with observability/alertmanager.yml; its host:port, or undefined when not installed. */
  async #startAlertmanager(): Promise<string | undefined> {
    const binary = which('prometheus-alertmanager') ?? which('alertmanager');
    if (!binary) {
      this.#log('    alertmanager not installed; skipping (Prometheus still evaluates the alert rules)');
      return undefined;
    }
    const address = `127.0.0.1:${this.ports.alertmanager}`;
    this.#log(`==> starting alertmanager (http://${address})`);
    const child = this.#spawn(
      'alertmanager',
      binary,
      [
        `--config.file=${join(ROOT, 'observability/alertmanager.yml')}`,
        `--storage.path=${join(this.runDir, 'alertmanager')}`,
        `--web.listen-address=${address}`,
        // One Alertmanager, no gossip cluster (its default would listen on 0.0.0.0:9094).
        '--cluster.listen-address=',
      ],
      {},
    );
    await this.#waitFor(child, 'alertmanager to be ready', 30_000, async () => {
      const response = await fetch(`http://${address}/-/ready`);
      return response.ok;
    });
    return address;
  }

  /**
   * Grafana with the repository's dashboards, when `grafana-server` (or `grafana`) is installed:
   * it is not in Debian, so `npm start` cannot install it (Grafana's own apt repository can).
   */
  async #startGrafana(): Promise<void> {
    const server = which('grafana-server');
    const cli = server ? undefined : which('grafana');
    if (!server && !cli) {
      this.#log(
        '    grafana not installed (not in Debian; see the README); skipping. Prometheus has the same queries',
      );
      return;
    }
    const dir = join(this.runDir, 'grafana');
    Stack.nativeGrafanaProvisioning(join(dir, 'provisioning'), `http://127.0.0.1:${this.ports.prometheus}`);
    this.#log(`==> starting grafana (http://127.0.0.1:${this.ports.grafana})`);
    const homepath = existsSync('/usr/share/grafana') ? ['--homepath', '/usr/share/grafana'] : [];
    const child = this.#spawn(
      'grafana',
      (server ?? cli) as string,
      [...(cli ? ['server'] : []), ...homepath],
      {
        GF_PATHS_PROVISIONING: join(dir, 'provisioning'),
        GF_PATHS_DATA: join(dir, 'data'),
        GF_PATHS_LOGS: join(dir, 'logs'),
        GF_SERVER_HTTP_ADDR: '127.0.0.1',
        GF_SERVER_HTTP_PORT: String(this.ports.grafana),
        GF_AUTH_ANONYMOUS_ENABLED: 'true',
        GF_AUTH_ANONYMOUS_ORG_ROLE: 'Viewer',
        GF_ANALYTICS_REPORTING_ENABLED: 'false',
      },
    );
    await this.#waitFor(child, 'grafana to be ready', 60_000, async () => {
      const response = await fetch(`http://127.0.0.1:${this.ports.grafana}/api/health`);
      return response.ok;
    });
  }

  /** Stops everything in reverse order: SIGTERM (services deregister), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.#stopping) {
      return;
    }
    this.#stopping = true;
    clearInterval(this.#watchTimer);
    clearInterval(this.#targetsTimer);
    await this.#turnRegistration?.deregister();
    for (const child of [...this.#children].reverse()) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        continue;
      }
      child.process.kill(child.stopSignal);
      const timer = setTimeout(() => child.process.kill('SIGKILL'), 10_000);
      await child.exited;
      clearTimeout(timer);
    }
  }
}
