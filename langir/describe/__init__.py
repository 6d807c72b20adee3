"""Describe infrared images in words: VLM providers (openai, anthropic, gemini, any OpenAI-compatible
server) and the offline template provider, with a resumable ledger of every paid answer."""
