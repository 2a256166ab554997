"""Database plumbing: engines, error translation, migrations and administration."""
