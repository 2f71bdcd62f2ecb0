"""Task handlers: echo and sleep (every worker), llm (when a provider is configured)."""
