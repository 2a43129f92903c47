"""The partnership map: organisations named in answers, and the map drawn from them."""
