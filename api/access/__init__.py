"""Access: keys, browser sessions, rate and size limits, and the policy of who may do what."""
