"""Zulip: a topic per work item in one channel (stream), its first message marked ✅ when the
work item closes; status commands from the channel are parsed in `inbound`."""
