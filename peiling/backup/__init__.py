"""Back-up and restore: `flask backup` and `flask restore`, for SQLite and PostgreSQL."""
