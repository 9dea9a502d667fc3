"""The generic webhook kind: any receiver that takes a JSON POST (n8n, Zapier, Make)."""
