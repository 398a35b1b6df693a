"""Removal on request and a guardian's permission: response.removal_hash (SHA-256 of the
code on the thank-you page, unique) and volunteer.guardian_consent.

Plain add_column and create_index, no batch mode: on SQLite a batch copy of the response
table would cascade into every answer.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23 02:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('response', sa.Column('removal_hash', sa.String(length=64), nullable=True))
    op.create_index(op.f('ix_response_removal_hash'), 'response', ['removal_hash'], unique=True)
    op.add_column('volunteer', sa.Column('guardian_consent', sa.Boolean(), nullable=True))


def downgrade():
    # Not in batch mode (see above); SQLite (3.35+) drops a plain column itself.
    op.drop_column('volunteer', 'guardian_consent')
    op.drop_index(op.f('ix_response_removal_hash'), table_name='response')
    op.drop_column('response', 'removal_hash')
