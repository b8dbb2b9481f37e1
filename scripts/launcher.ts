/**
 * `npm start` (after scripts/prepare.sh): runs the whole native stack until Ctrl-C.
 * Ports and URLs come from the environment (README, "Configuration"); defaults in stack.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_PORTS, Stack, StackError, type StackPorts } from './Stack';

const ENV_PORTS: Record<string, keyof StackPorts> = {
  SWITCHBOARD_HTTP_PORT: 'http',
  SWITCHBOARD_HTTPS_PORT: 'https',
  CONSUL_HTTP_PORT: 'consulHttp',
  CONSUL_DNS_PORT: 'consulDns',
  CONSUL_SERF_LAN_PORT: 'consulSerfLan',
  CONSUL_SERVER_PORT: 'consulServer',
  CONSUL_GRPC_PORT: 'consulGrpc',
  UI_PORT: 'ui',
  GATEWAY_PORT: 'gateway',
  SIGNALING_PORT: 'signaling',
  SIGNALING_API_PORT: 'signalingApi',
  LOG_VIEWER_PORT: 'logViewer',
  EVENTS_PORT: 'events',
  MEDIA_GRPC_PORT: 'mediaGrpc',
  MEDIA_METRICS_PORT: 'mediaMetrics',
  MEDIA_RTC_MIN_PORT: 'rtcMin',
  MEDIA_RTC_MAX_PORT: 'rtcMax',
  PROMETHEUS_PORT: 'prometheus',
  ALERTMANAGER_PORT: 'alertmanager',
  GRAFANA_PORT: 'grafana',
  TURN_PORT: 'turn',
  TURN_RELAY_MIN_PORT: 'turnRelayMin',
  TURN_RELAY_MAX_PORT: 'turnRelayMax',
};

const ports: Partial<StackPorts> = {};
for (const [name, key] of Object.entries(ENV_PORTS)) {
  const value = process.env[name];
  if (value !== undefined && value !== '') {
    const port = Number(value);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      process.stderr.write(`error: ${name}=${value} is not a port (1-65535)\n`);
      process.exit(78);
    }
    ports[key] = port;
  }
}

/** A small positive count from the environment (instances to run). */
function count(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') {
    return undefined;
  }
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 16) {
    process.stderr.write(`error: ${name}=${value} must be a whole number from 1 to 16\n`);
    process.exit(78);
  }
  return n;
}

let stack: Stack | undefined;
let stopping = false;

async function stop(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    process.stdout.write('\n==> stopping everything\n');
    await stack?.stop();
    process.stdout.write('    stopped\n');
  }
  process.exit(code);
}

process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  stack = await Stack.start({
    ports,
    runDir: process.env.SWITCHBOARD_RUN_DIR || undefined,
    databaseUrl: process.env.DATABASE_URL || undefined,
    redisUrl: process.env.REDIS_URL || undefined,
    mediaWorkers: process.env.MEDIA_NUM_WORKERS ? Number(process.env.MEDIA_NUM_WORKERS) : undefined,
    mediaNodes: count('MEDIA_NODES'),
    signalingInstances: count('SIGNALING_INSTANCES'),
    logLevel: process.env.LOG_LEVEL || undefined,
    tls: {
      certificate: process.env.SWITCHBOARD_TLS_CERT || undefined,
      key: process.env.SWITCHBOARD_TLS_KEY || undefined,
    },
    restart: true,
  });
} catch (error) {
  process.stderr.write(`\nerror: ${error instanceof StackError ? error.message : String(error)}\n`);
  await stop(1);
}

stack!.onUnexpectedExit((name, code, output) => {
  process.stderr.write(
    `\nerror: ${name} exited unexpectedly (code ${code}) and was not restarted. Last lines:\n${output}\n`,
  );
  void stop(1);
});

const p = { ...DEFAULT_PORTS, ...ports };
// While no account is an operator, the gateway wrote a one-time setup code.
const setupCode = existsSync(stack!.setupCodeFile) ? readFileSync(stack!.setupCodeFile, 'utf8').trim() : '';
const setup = setupCode
  ? `  operator    no operator yet: create an account, then open (once)\n              ${stack!.url}/setup?code=${setupCode}\n`
  : '';
process.stdout.write(`
Switchboard is running: ${stack!.url}
  HTTPS       ${stack!.httpsUrl}${stack!.tls?.selfSigned ? `  (self-signed certificate: ${stack!.tls.certificate})` : ''}
${setup}  logs        ${stack!.url}/logs/  (operators only)
  API health  ${stack!.url}/api/health
  consul      http://127.0.0.1:${p.consulHttp}/ui  (ACL token: ${stack!.runDir}/consul-management-token)
  log files   ${stack!.logDir}
Press Ctrl-C to stop.
`);
