import type { StackPorts } from '../../scripts/Stack';

/** Ports of the stack the e2e tests and benchmarks start, apart from a developer's `npm start`. */
export const E2E_PORTS: StackPorts = {
  http: 18080,
  https: 16443,
  consulHttp: 18500,
  consulDns: 18600,
  consulSerfLan: 18301,
  consulServer: 18300,
  consulGrpc: 18502,
  ui: 13000,
  gateway: 14000,
  signaling: 14100,
  signalingApi: 14150,
  logViewer: 14200,
  events: 14300,
  mediaGrpc: 15051,
  mediaMetrics: 19101,
  // RTC ports below the ephemeral range (32768+): a worker's WebRTC port is fixed, and an outgoing
  // connection of the test run could hold it there.
  rtcMin: 28000,
  rtcMax: 28100,
  prometheus: 19090,
  alertmanager: 19093,
  grafana: 13001,
  turn: 13478,
  // Below the ephemeral range, so a relayed address is told apart from a browser's own port.
  turnRelayMin: 19400,
  turnRelayMax: 19450,
};

/** The scale-out end-to-end stack: every port 1000 above E2E_PORTS, its own RTC range. */
export const SCALE_PORTS: StackPorts = {
  ...(Object.fromEntries(Object.entries(E2E_PORTS).map(([k, v]) => [k, v + 1000])) as StackPorts),
  rtcMin: 28200,
  rtcMax: 28399,
};

/** The operator console's stack (two media nodes to drain between). */
export const CONSOLE_PORTS: StackPorts = {
  ...(Object.fromEntries(Object.entries(E2E_PORTS).map(([k, v]) => [k, v + 2000])) as StackPorts),
};
