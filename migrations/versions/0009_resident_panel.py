"""The resident panel: panels, members, recruitment codes and the mail outbox.

A member's personal key opens her own data; the confirmation key of the double opt-in is
kept only as a hash. Deleting a member deletes her mails (they hold her address); a used
recruitment code stays used, without the member.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 00:58:04.711550

"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('panel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('region_code', sa.String(length=32), nullable=False),
    sa.Column('profile_fields', sa.JSON(), nullable=False),
    sa.Column('targets', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['region_code'], ['region.code'], name=op.f('fk_panel_region_code_region')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel')),
    sa.UniqueConstraint('slug', name=op.f('uq_panel_slug'))
    )
    op.create_table('panel_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('municipality_code', sa.String(length=6), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('gender', sa.String(length=16), nullable=True),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('invited', 'active', 'unsubscribed', name='member_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('confirm_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['municipality_code'], ['municipality.code'], name=op.f('fk_panel_member_municipality_code_municipality')),
    sa.ForeignKeyConstraint(['panel_id'], ['panel.id'], name=op.f('fk_panel_member_panel_id_panel'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_member')),
    sa.UniqueConstraint('confirm_hash', name=op.f('uq_panel_member_confirm_hash')),
    sa.UniqueConstraint('key', name=op.f('uq_panel_member_key')),
    sa.UniqueConstraint('panel_id', 'email', name=op.f('uq_panel_member_panel_id_email'))
    )
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_member_panel_id'), ['panel_id'], unique=False)

    op.create_table('mail',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=True),
    sa.Column('html_body', sa.Text(), nullable=True),
    sa.Column('unsubscribe_url', sa.String(length=300), nullable=True),
    sa.Column('status', sa.Enum('queued', 'sent', 'failed', name='mail_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['panel_member.id'], name=op.f('fk_mail_member_id_panel_member'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail'))
    )
    with op.batch_alter_table('mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_member_id'), ['member_id'], unique=False)

    op.create_table('recruitment_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('municipality_code', sa.String(length=6), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('batch', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['panel_member.id'], name=op.f('fk_recruitment_code_member_id_panel_member'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['municipality_code'], ['municipality.code'], name=op.f('fk_recruitment_code_municipality_code_municipality')),
    sa.ForeignKeyConstraint(['panel_id'], ['panel.id'], name=op.f('fk_recruitment_code_panel_id_panel'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recruitment_code')),
    sa.UniqueConstraint('code', name=op.f('uq_recruitment_code_code'))
    )
    with op.batch_alter_table('recruitment_code', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recruitment_code_panel_id'), ['panel_id'], unique=False)



def downgrade():
    with op.batch_alter_table('recruitment_code', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recruitment_code_panel_id'))

    op.drop_table('recruitment_code')
    with op.batch_alter_table('mail', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_member_id'))

    op.drop_table('mail')
    with op.batch_alter_table('panel_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_member_panel_id'))

    op.drop_table('panel_member')
    op.drop_table('panel')
