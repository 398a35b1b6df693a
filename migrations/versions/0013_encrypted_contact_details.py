"""Volunteers' contact details encrypted at rest (peiling.crypto).

The name, email and phone columns become text wide enough for a Fernet token, and the
rows stored before are encrypted with the deployment's key (PEILING_ENCRYPTION_KEY, or
instance/encryption_key). The downgrade decrypts them again.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 01:45:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = (("name", 200), ("email", 254), ("phone", 32))


def _rewrite(change):
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT id, name, email, phone FROM volunteer")).all()
    for id_, name, email, phone in rows:
        conn.execute(
            sa.text("UPDATE volunteer SET name = :n, email = :e, phone = :p WHERE id = :id"),
            {"n": change(name), "e": change(email), "p": change(phone), "id": id_},
        )


def upgrade():
    from peiling.crypto import encrypt

    # The volunteer table has no dependants, so batch mode may copy it on SQLite.
    with op.batch_alter_table("volunteer", schema=None) as batch_op:
        for column, length in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.String(length=length),
                                  type_=sa.Text(), existing_nullable=column != "name")
    _rewrite(encrypt)


def downgrade():
    from peiling.crypto import decrypt

    _rewrite(decrypt)
    with op.batch_alter_table("volunteer", schema=None) as batch_op:
        for column, length in COLUMNS:
            batch_op.alter_column(column, existing_type=sa.Text(),
                                  type_=sa.String(length=length), existing_nullable=column != "name")
