"""Slack: one message per event through an incoming webhook, or with a bot token one
thread per work item (chat.postMessage), closed with a ✅ reaction."""
