"""Signal links: signal-to-signal statements, dangling until their target arrives."""
