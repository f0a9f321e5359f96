"""The real-time hub of one web process: connections, channels, fan-out, replay."""
