/**
 * No Docker engine runs on our machines, so this checks docker-compose.yml statically: every
 * component is there with a health check, builds from a Dockerfile that exists, and uses the same
 * ports and variables as the native stack.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '@switchboard/testing';
import { CONSUL_IDENTITIES, tokenVariable } from '@switchboard/consul';
import { DEFAULT_PORTS } from '../scripts/Stack';

interface ComposeService {
  build?: { context: string; target: string };
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  command?: string | string[];
  depends_on?: Record<string, unknown>;
}

const compose = YAML.parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

const DOCKERFILE = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
/** The text of one stage of ./Dockerfile (`FROM … AS <name>` up to the next FROM). */
function stage(name: string): string {
  const stages = DOCKERFILE.split(/^(?=FROM )/m);
  const found = stages.find((s) => new RegExp(`^FROM \\S+ AS ${name}\\s*$`, 'm').test(s.split('\n')[0]));
  if (!found) {
    throw new Error(`Dockerfile has no stage ${name}`);
  }
  return found;
}

/** Our services: compose name → [config.ts, port variable, native default port]. */
const APPS: Record<string, [string, string, number]> = {
  media: ['services/media/src/config.ts', 'MEDIA_GRPC_PORT', DEFAULT_PORTS.mediaGrpc],
  signaling: ['services/signaling/src/config.ts', 'SIGNALING_PORT', DEFAULT_PORTS.signaling],
  gateway: ['services/gateway/src/config.ts', 'GATEWAY_PORT', DEFAULT_PORTS.gateway],
  'log-viewer': ['log-viewer/src/config.ts', 'LOG_VIEWER_PORT', DEFAULT_PORTS.logViewer],
  events: ['services/events/src/config.ts', 'EVENTS_PORT', DEFAULT_PORTS.events],
  ui: ['ui/src/config.ts', 'UI_PORT', DEFAULT_PORTS.ui],
};

describe('docker-compose.yml', () => {
  it('has every component of the design, each with a health check', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'alertmanager',
        'consul',
        'consul-acl',
        'coturn',
        'events',
        'gateway',
        'grafana',
        'log-viewer',
        'media',
        'nginx',
        'postgres',
        'prometheus',
        'redis',
        'signaling',
        'ui',
      ].sort(),
    );
    for (const [name, service] of Object.entries(services)) {
      if (name === 'consul-acl') {
        continue; // a one-shot job: it exits 0 when the tokens are in place
      }
      expect(service.healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(0);
    }
  });

  it('builds our images from the stages of ./Dockerfile, each starting its src/server.ts', () => {
    for (const name of [...Object.keys(APPS), 'nginx']) {
      expect(services[name].build, name).toEqual({ context: '.', target: name });
      const cmd = /CMD \[.*"([^"]+\.ts)"\]/.exec(stage(name))?.[1] ?? '';
      expect(existsSync(join(REPO_ROOT, cmd)), `${name} CMD ${cmd}`).toBe(true);
    }
  });

  it('runs every image of ours as an unprivileged user', () => {
    for (const name of [...Object.keys(APPS), 'nginx']) {
      const users = [...stage(name).matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
      expect(users.at(-1), `${name}: last USER`).toBe('node');
      // The compose file does not override it.
      expect((services[name] as { user?: string }).user, `${name}: compose user`).toBeUndefined();
    }
  });

  it('uses the native ports and only variables each service reads', () => {
    const common = readFileSync(join(REPO_ROOT, 'common/config/src/index.ts'), 'utf8');
    for (const [name, [configFile, portVar, port]] of Object.entries(APPS)) {
      const env = services[name].environment ?? {};
      expect(env[portVar], `${name} ${portVar}`).toBe(String(port));
      expect(services[name].healthcheck?.test.join(' ')).toContain(
        name === 'media' ? `:${DEFAULT_PORTS.mediaMetrics}/healthz` : `:${port}/healthz`,
      );
      const config = readFileSync(join(REPO_ROOT, configFile), 'utf8');
      for (const variable of Object.keys(env)) {
        expect(
          config.includes(`${variable}:`) || common.includes(`${variable}:`),
          `${name} reads ${variable}`,
        ).toBe(true);
      }
      expect(stage(name)).toContain(`${port}`);
    }
    expect(services.media.environment?.MEDIA_METRICS_PORT).toBe(String(DEFAULT_PORTS.mediaMetrics));
    expect(services.media.environment?.MEDIA_RTC_MIN_PORT).toBe(String(DEFAULT_PORTS.rtcMin));
    expect(services.media.environment?.MEDIA_RTC_MAX_PORT).toBe(String(DEFAULT_PORTS.rtcMax));
    expect(services.media.ports).toContain(
      `${DEFAULT_PORTS.rtcMin}-${DEFAULT_PORTS.rtcMax}:${DEFAULT_PORTS.rtcMin}-${DEFAULT_PORTS.rtcMax}/udp`,
    );
    expect(services.nginx.ports).toContain(`${DEFAULT_PORTS.http}:${DEFAULT_PORTS.http}`);
    // Consul's API is never published; Prometheus and Grafana only on the host's loopback.
    expect(services.consul.ports).toBeUndefined();
    expect(services.prometheus.ports).toEqual([
      `127.0.0.1:${DEFAULT_PORTS.prometheus}:${DEFAULT_PORTS.prometheus}`,
    ]);
    expect(services.grafana.ports).toEqual(['127.0.0.1:3001:3000']);
    // The token secret has no default: compose refuses to start without one. Nor has TURN's:
    // coturn refuses to start without TURN_SECRET.
    const file = readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8');
    expect(file).toMatch(/JWT_SECRET: \$\{JWT_SECRET:\?/);
    // The media API's service secret likewise, held by media and signaling only.
    expect(file).toMatch(/SERVICE_SECRET: \$\{SERVICE_SECRET:\?/);
    expect(services.media.environment?.SERVICE_SECRET).toMatch(/^\$\{SERVICE_SECRET:\?/);
    expect(services.signaling.environment?.SERVICE_SECRET).toMatch(/^\$\{SERVICE_SECRET:\?/);
    expect(services.gateway.environment?.SERVICE_SECRET).toBeUndefined();
    expect(file).not.toMatch(/TURN_SECRET:-[^}]/);
    expect([services.coturn.command ?? ''].flat().join(' ')).toMatch(
      /\$\{#TURN_SECRET\} -ge 16 \] \|\| .*exit 78/,
    );
    // Security state in Redis survives a restart.
    expect(services.redis.command).toMatch(/--appendonly yes/);
  });

  it("turns Consul's ACLs on and gives each component its own token, made by consul-acl", () => {
    const command = String(services.consul.command);
    expect(command).toMatch(/acl \{ enabled = true default_policy = "deny"/);
    expect(command).toMatch(/master = "\$\{CONSUL_MANAGEMENT_TOKEN:\?/);
    const acl = services['consul-acl'];
    expect(acl.build).toEqual({ context: '.', target: 'consul-acl' });
    for (const identity of CONSUL_IDENTITIES) {
      const variable = tokenVariable(identity);
      // consul-acl makes it with the secret from .env; the component gets that one and no other.
      expect(acl.environment?.[variable], `consul-acl ${variable}`).toMatch(
        new RegExp(`^\\$\\{${variable}:\\?`),
      );
      const env = services[identity].environment ?? {};
      expect(env.CONSUL_HTTP_TOKEN, `${identity} token`).toBe(`\${${variable}}`);
      expect(
        Object.values(env).filter((value) => /CONSUL_(TOKEN_|MANAGEMENT)/.test(String(value))),
        `${identity} holds only its own token`,
      ).toEqual([`\${${variable}}`]);
      // Everything that talks to Consul waits for its token.
      expect(Object.keys(services[identity].depends_on ?? {}), identity).toContain(
        identity === 'nginx' ? 'gateway' : 'consul-acl',
      );
    }
    // Prometheus reads its token from the file its entrypoint writes.
    expect(readFileSync(join(REPO_ROOT, 'observability/prometheus.yml'), 'utf8')).toMatch(
      /credentials_file: \/prometheus\/consul-token/,
    );
    // secrets.sh writes every variable the file requires.
    const script = readFileSync(join(REPO_ROOT, 'scripts/compose/secrets.sh'), 'utf8');
    const required = [
      ...readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8').matchAll(/\$\{(\w+):\?/g),
    ].map((m) => m[1]);
    for (const variable of new Set(required)) {
      const made =
        script.includes(`add ${variable} `) ||
        (variable.startsWith('CONSUL_TOKEN_') && script.includes(variable.replace('CONSUL_TOKEN_', '')));
      expect(made, `secrets.sh makes ${variable}`).toBe(true);
    }
  });

  it('points every service at Consul, and Prometheus at the repository config', () => {
    for (const name of [...Object.keys(APPS), 'nginx']) {
      expect(services[name].environment?.CONSUL_HTTP_ADDR, name).toBe('consul:8500');
    }
    expect(services.prometheus.volumes).toContain(
      './observability/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    );
  });
});
