"""whether a user ever saved 2FA settings; what a just-rotated refresh token answers again

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-09 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('user_credentials', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('twofa_saved', sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute(
        sa.text(
            'UPDATE user_credentials SET twofa_saved = TRUE WHERE user_id IN '
            '(SELECT user_id FROM twofa_config)'
        )
    )
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rotated_at', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('successor_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('successor_enc', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_session', schema=None) as batch_op:
        batch_op.drop_column('successor_enc')
        batch_op.drop_column('successor_id')
        batch_op.drop_column('rotated_at')
    with op.batch_alter_table('user_credentials', schema=None) as batch_op:
        batch_op.drop_column('twofa_saved')
