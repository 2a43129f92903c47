"""The console adapter: the embedded default, and the in-process test harness."""
