# Consul agent configuration for the native stack (the launcher adds -dev, ports and data dir).
# A single dev agent: server and client in one, in memory, UI enabled on the HTTP port.
ui = true
log_level = "warn"
# Services deregister themselves on SIGTERM; a crashed one goes after its check's
# DeregisterCriticalServiceAfter (1 minute).
