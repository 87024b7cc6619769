"""The results schema, the leaderboard file, its validation, merge, ranking and rendering."""
