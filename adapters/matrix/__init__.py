"""The Matrix adapter (matrix-nio with end-to-end encryption); nio is imported only here."""
