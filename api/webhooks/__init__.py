"""Webhooks: subscriptions, the event outbox written with each change, and its dispatcher."""
