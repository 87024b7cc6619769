"""The leaderboard file (results validated with ``benchmark.results``), merge, ranking and rendering."""
