"""The Slack adapter (bolt): the only place slack_bolt and slack_sdk are imported."""
