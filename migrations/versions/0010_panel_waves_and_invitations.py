"""Panel waves and invitations.

A wave draws members (reproducibly, with its seed); each gets an invitation with a
personal 256-bit token, the answers so far and the page reached. A mail may belong to an
invitation, and an invitation gets at most one mail of each kind.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-23 01:07:03.578254

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('panel_wave',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sample', sa.JSON(), nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('reminders', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['panel_id'], ['panel.id'], name=op.f('fk_panel_wave_panel_id_panel'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survey_id'], ['survey.id'], name=op.f('fk_panel_wave_survey_id_survey'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_wave'))
    )
    with op.batch_alter_table('panel_wave', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_wave_panel_id'), ['panel_id'], unique=False)

    op.create_table('panel_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wave_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('draft', sa.JSON(), nullable=False),
    sa.Column('page_index', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['panel_member.id'], name=op.f('fk_panel_invitation_member_id_panel_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['wave_id'], ['panel_wave.id'], name=op.f('fk_panel_invitation_wave_id_panel_wave'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_panel_invitation')),
    sa.UniqueConstraint('token', name=op.f('uq_panel_invitation_token')),
    sa.UniqueConstraint('wave_id', 'member_id', name=op.f('uq_panel_invitation_wave_id_member_id'))
    )
    with op.batch_alter_table('panel_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_panel_invitation_member_id'), ['member_id'], unique=False)

    with op.batch_alter_table('mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_id', sa.Integer(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_mail_invitation_id_kind'), ['invitation_id', 'kind'])
        batch_op.create_foreign_key(batch_op.f('fk_mail_invitation_id_panel_invitation'), 'panel_invitation', ['invitation_id'], ['id'], ondelete='CASCADE')



def downgrade():
    with op.batch_alter_table('mail', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_mail_invitation_id_panel_invitation'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_mail_invitation_id_kind'), type_='unique')
        batch_op.drop_column('invitation_id')

    with op.batch_alter_table('panel_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_invitation_member_id'))

    op.drop_table('panel_invitation')
    with op.batch_alter_table('panel_wave', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_panel_wave_panel_id'))

    op.drop_table('panel_wave')
