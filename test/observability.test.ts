/**
 * Prometheus configuration and alert rules are valid for the real promtool, and discovery goes
 * through Consul (the repository file) or a targets file fed from Consul (the native stack).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { REPO_ROOT } from '@switchboard/testing';
import { Stack } from '../scripts/Stack';

const OBS = join(REPO_ROOT, 'observability');

describe('observability files', () => {
  it("discovers scrape targets from Consul using each service's metrics_port meta", () => {
    const config = YAML.parse(readFileSync(join(OBS, 'prometheus.yml'), 'utf8'));
    const job = config.scrape_configs[0];
    expect(job.consul_sd_configs[0]).toMatchObject({ server: 'consul:8500', tags: ['switchboard'] });
    const address = job.relabel_configs.find(
      (r: { target_label: string }) => r.target_label === '__address__',
    );
    expect(address.source_labels).toEqual([
      '__meta_consul_service_address',
      '__meta_consul_service_metadata_metrics_port',
    ]);
  });

  it('has alert rules that promtool accepts', () => {
    for (const file of readdirSync(join(OBS, 'rules'))) {
      const out = execFileSync('promtool', ['check', 'rules', join(OBS, 'rules', file)], {
        encoding: 'utf8',
      });
      expect(out).toMatch(/SUCCESS: \d+ rules found/);
    }
  });

  it('computes the SLOs of docs/slo.md and fires their burn-rate alerts as the promtool tests expect', () => {
    const out = execFileSync('promtool', ['test', 'rules', join(OBS, 'tests/slo.test.yml')], {
      encoding: 'utf8',
    });
    expect(out).toContain('SUCCESS');
  });

  it('has an Alertmanager configuration amtool accepts, routing every alert to a receiver it defines', () => {
    const checked = execFileSync('amtool', ['check-config', join(OBS, 'alertmanager.yml')], {
      encoding: 'utf8',
    });
    expect(checked).toContain('SUCCESS');
    const config = YAML.parse(readFileSync(join(OBS, 'alertmanager.yml'), 'utf8'));
    const receivers = config.receivers.map((r: { name: string }) => r.name);
    expect(receivers).toContain(config.route.receiver);
    for (const route of config.route.routes ?? []) {
      expect(receivers).toContain(route.receiver);
    }
  });

  it('renders a native Grafana provisioning that reads the native Prometheus and the repository dashboards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-grafana-'));
    Stack.nativeGrafanaProvisioning(dir, 'http://127.0.0.1:9999');
    const datasources = YAML.parse(readFileSync(join(dir, 'datasources/prometheus.yml'), 'utf8'));
    expect(datasources.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://127.0.0.1:9999' });
    const dashboards = YAML.parse(readFileSync(join(dir, 'dashboards/switchboard.yml'), 'utf8'));
    expect(readdirSync(dashboards.providers[0].options.path)).toContain('switchboard-overview.json');
  });

  it('renders a native config promtool accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-prom-'));
    const targets = join(dir, 'targets.json');
    writeFileSync(targets, '[]');
    writeFileSync(join(dir, 'prometheus.yml'), Stack.nativePrometheusConfig(targets, '127.0.0.1:9093'));
    expect(readFileSync(join(dir, 'prometheus.yml'), 'utf8')).toContain('127.0.0.1:9093');
    const out = execFileSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], {
      encoding: 'utf8',
    });
    expect(out).toContain('SUCCESS');
  });

  it('ships Grafana dashboards that use the provisioned Prometheus datasource', () => {
    const datasource = YAML.parse(
      readFileSync(join(OBS, 'grafana/provisioning/datasources/prometheus.yml'), 'utf8'),
    );
    const uid = datasource.datasources[0].uid;
    for (const file of readdirSync(join(OBS, 'grafana/dashboards'))) {
      const dashboard = JSON.parse(readFileSync(join(OBS, 'grafana/dashboards', file), 'utf8'));
      expect(dashboard.panels.length).toBeGreaterThan(0);
      for (const panel of dashboard.panels) {
        expect(panel.datasource.uid, `${file}: ${panel.title}`).toBe(uid);
        expect(panel.targets[0].expr).toMatch(/switchboard_|process_/);
      }
    }
  });
});
