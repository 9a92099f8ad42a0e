"""SQLAlchemy models, repositories, the vault for credentials, backups and Alembic migrations.
Repositories read and write; transactions belong to the service that calls them.

Layering: imports nothing of ours and never aiogram; everything else may import it
(tests/test_layering.py).
"""
