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
import { DEFAULT_PORTS } from '../scripts/Stack';

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  command?: string | string[];
}

const compose = YAML.parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;

/** Our services: compose name → [config.ts, port variable, native default port]. */
const APPS: Record<string, [string, string, number]> = {
  media: ['services/media/src/config.ts', 'MEDIA_GRPC_PORT', DEFAULT_PORTS.mediaGrpc],
  signaling: ['services/signaling/src/config.ts', 'SIGNALING_PORT', DEFAULT_PORTS.signaling],
  gateway: ['services/gateway/src/config.ts', 'GATEWAY_PORT', DEFAULT_PORTS.gateway],
  'log-viewer': ['log-viewer/src/config.ts', 'LOG_VIEWER_PORT', DEFAULT_PORTS.logViewer],
  ui: ['ui/src/config.ts', 'UI_PORT', DEFAULT_PORTS.ui],
};

describe('docker-compose.yml', () => {
  it('has every component of the design, each with a health check', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'consul',
        'coturn',
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
      expect(service.healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(0);
    }
  });

  it('builds our images from Dockerfiles that exist and start src/server.ts', () => {
    for (const name of [...Object.keys(APPS), 'nginx']) {
      const dockerfile = services[name].build?.dockerfile ?? '';
      expect(existsSync(join(REPO_ROOT, dockerfile)), `${name}: ${dockerfile}`).toBe(true);
      const cmd =
        /CMD \[.*"([^"]+\.ts)"\]/.exec(readFileSync(join(REPO_ROOT, dockerfile), 'utf8'))?.[1] ?? '';
      expect(existsSync(join(REPO_ROOT, cmd)), `${name} CMD ${cmd}`).toBe(true);
    }
  });

  it('runs every image of ours as an unprivileged user', () => {
    for (const name of [...Object.keys(APPS), 'nginx']) {
      const dockerfile = readFileSync(join(REPO_ROOT, services[name].build?.dockerfile ?? ''), 'utf8');
      const users = [...dockerfile.matchAll(/^USER\s+(\S+)/gm)].map((m) => m[1]);
      expect(users.at(-1), `${name}: last USER`).toBe('node');
      // Nothing after it switches back, and the compose file does not override it.
      expect(dockerfile.slice(dockerfile.lastIndexOf('USER node'))).not.toMatch(/^USER\s+(root|0)\b/m);
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
      expect(readFileSync(join(REPO_ROOT, services[name].build!.dockerfile), 'utf8')).toContain(`${port}`);
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

  it('points every service at Consul, and Prometheus at the repository config', () => {
    for (const name of [...Object.keys(APPS), 'nginx']) {
      expect(services[name].environment?.CONSUL_HTTP_ADDR, name).toBe('consul:8500');
    }
    expect(services.prometheus.volumes).toContain(
      './observability/prometheus.yml:/etc/prometheus/prometheus.yml:ro',
    );
  });
});
